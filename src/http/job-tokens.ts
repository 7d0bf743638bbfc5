import { forbidden, unauthorized } from '../errors.js';
import { jobTokenMayCall } from '../policy.js';
import { actorForJobToken } from '../services/job-tokens.js';
import type { TokenResolver } from './auth.js';

/**
 * CI/CD job tokens, sent as JOB-TOKEN, job_token or a Bearer token. A valid one acts as its user,
 * but only on the endpoints policy.jobTokenMayCall names: elsewhere it is 403.
 */
export const jobTokens: TokenResolver = async (db, credentials, request) => {
  if (credentials.kind === 'personal') return null;
  const actor = await actorForJobToken(db, credentials.token);
  if (!actor) {
    if (credentials.kind === 'job') throw unauthorized();
    return null;
  }
  // A path no route serves stays a plain 404.
  if (!request.is404 && !jobTokenMayCall(request.method, request.routeOptions.url)) throw forbidden();
  return actor;
};
