import { forbidden, unauthorized } from '../errors.js';
import { actorForJobToken } from '../services/job-tokens.js';
import type { TokenResolver } from './credentials.js';
import { factsOf } from './route-facts.js';

/** GitLab's user name for a job token sent as HTTP Basic (`gitlab-ci-token:$CI_JOB_TOKEN`). */
const JOB_TOKEN_USER = 'gitlab-ci-token';

/**
 * CI/CD job tokens, sent as JOB-TOKEN, job_token, a Bearer token or Basic's password. A valid one
 * acts as its user, but only on routes that declare they take job tokens: elsewhere it is 403.
 */
export const jobTokens: TokenResolver = async (db, credentials, request) => {
  if (credentials.kind === 'personal' || credentials.kind === 'session') return null;
  if (credentials.kind === 'basic' && credentials.username !== JOB_TOKEN_USER) return null;
  const actor = await actorForJobToken(db, credentials.token);
  if (!actor) {
    if (credentials.kind === 'job') throw unauthorized();
    return null;
  }
  // A path no route serves stays a plain 404.
  if (!request.is404 && !factsOf(request).auth.includes('job')) throw forbidden();
  return actor;
};
