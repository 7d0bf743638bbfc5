import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { ApiError, badParams, forbidden, unauthorized } from '../errors.js';
import { jobTokenEntity } from '../entities/job-token.js';
import { canCreateJobToken, canEndJobToken, type Actor } from '../policy.js';
import { now } from '../store/errors.js';
import { endJobToken as endJobTokenRow, findJobToken, findJobTokenByDigest, insertJobToken } from '../store/job-tokens.js';
import { findProjectWithAccess } from '../store/projects.js';
import type { DB, Project, User } from '../store/schema.js';
import { findUser } from '../store/users.js';
import type { Ctx } from './context.js';
import { visibleProject } from './projects.js';
import { tokenDigest } from './tokens.js';

export const DEFAULT_EXPIRES_IN = 3600;
export const MAX_EXPIRES_IN = 86_400;

const generateJobToken = () => `rljob-${randomBytes(24).toString('base64url')}`;

export interface NewJobTokenInput {
  /** Seconds until the token stops working. */
  expires_in?: number;
  /** The commit (or branch) the job runs for, e.g. $CI_COMMIT_SHA. */
  ref?: string;
}

function checkInput(input: NewJobTokenInput): { expiresIn: number; ref: string | null } {
  const expiresIn = input.expires_in ?? DEFAULT_EXPIRES_IN;
  if (!Number.isInteger(expiresIn) || expiresIn < 1 || expiresIn > MAX_EXPIRES_IN) throw badParams('expires_in does not have a valid value');
  const ref = input.ref?.trim() || null;
  if (ref !== null && ref.length > 255) throw badParams('ref is invalid');
  return { expiresIn, ref };
}

/** Issues a token for `user` on `project`; the plain value is returned here once and never again. */
export async function issueJobToken(db: Kysely<DB>, project: Project, user: User, input: NewJobTokenInput) {
  const { expiresIn, ref } = checkInput(input);
  const plain = generateJobToken();
  const created = new Date();
  const row = await insertJobToken(db, {
    project_id: project.id,
    user_id: user.id,
    token_digest: tokenDigest(plain),
    ref,
    expires_at: new Date(created.getTime() + expiresIn * 1000).toISOString(),
    ended_at: null,
    created_at: created.toISOString(),
  });
  return jobTokenEntity(row, plain);
}

/** `POST /projects/:id/ci/job_tokens`: a token acting as the caller, for this project's pipeline. */
export async function createJobToken(ctx: Ctx, projectRef: string, input: NewJobTokenInput) {
  checkInput(input);
  const user = ctx.actor.user;
  if (!user) throw unauthorized();
  const view = await visibleProject(ctx, projectRef);
  if (!canCreateJobToken(ctx.actor, view)) throw forbidden();
  return ctx.write((trx) => issueJobToken(trx, view.project, user, input));
}

/** `DELETE /projects/:id/ci/job_tokens/:token_id`: the job is over; the token stops working now. */
export async function endJobToken(ctx: Ctx, projectRef: string, tokenId: number): Promise<void> {
  if (!ctx.actor.user) throw unauthorized();
  const view = await visibleProject(ctx, projectRef);
  if (!canCreateJobToken(ctx.actor, view)) throw forbidden();
  const token = await findJobToken(ctx.db, view.project.id, tokenId);
  if (!token) throw new ApiError(404, { message: '404 Job Token Not Found' });
  if (!canEndJobToken(ctx.actor, view, token.user_id)) throw forbidden();
  await ctx.write((trx) => endJobTokenRow(trx, token.id, now()));
}

/**
 * The actor a job token stands for, or null when no job token has this value. A known token that
 * expired or was ended, or whose user was blocked, is 401 like GitLab's finished jobs.
 */
export async function actorForJobToken(db: Kysely<DB>, token: string): Promise<Actor | null> {
  const found = await findJobTokenByDigest(db, tokenDigest(token));
  if (!found) return null;
  const { token: row, user } = found;
  if (row.ended_at !== null || row.expires_at <= now() || user.state !== 'active') throw unauthorized();
  return { user, scopes: ['api'], kind: 'job', jobProjectId: row.project_id, jobRef: row.ref ?? undefined };
}

/**
 * The ref a release of an unknown tag is created from when the request names none: the job's own
 * commit, for a release in the job's own project. relinks keeps no repository, so it cannot see
 * the tag a CI job just pushed (semantic-release sends no `ref`); the job token's ref stands in.
 */
export function jobRefFor(actor: Actor, projectId: number): string | undefined {
  return actor.kind === 'job' && actor.jobProjectId === projectId ? actor.jobRef : undefined;
}

export class JobTokenCliError extends Error {}

/** For `relinks job-token create`: the same rules as the API, with the user named on the command line. */
export async function issueJobTokenFor(db: Kysely<DB>, projectRef: string, username: string, input: NewJobTokenInput) {
  const user = await findUser(db, username);
  if (!user) throw new JobTokenCliError(`no user "${username}"`);
  const row = await findProjectWithAccess(db, projectRef, user.id);
  if (!row) throw new JobTokenCliError(`no project "${projectRef}"`);
  const { access_level, ...project } = row;
  const actor: Actor = { user, scopes: ['api'], kind: 'personal' };
  if (user.state !== 'active' || !canCreateJobToken(actor, { project, access: access_level ?? 0 })) {
    throw new JobTokenCliError(`user "${user.username}" is not a Developer (or above) of ${project.full_path}`);
  }
  try {
    return await issueJobToken(db, project, user, input);
  } catch (error) {
    if (error instanceof ApiError) throw new JobTokenCliError(String(error.body.error ?? error.message));
    throw error;
  }
}
