import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { insufficientScope, unauthorized } from '../errors.js';
import { anonymous, type Actor } from '../policy.js';
import { actorForPersonalToken } from '../services/tokens.js';
import type { DB } from '../store/schema.js';

export interface Credentials {
  kind: 'personal' | 'job' | 'bearer';
  token: string;
}

const param = (source: unknown, name: string): string | undefined => {
  if (source && typeof source === 'object') {
    const value = (source as Record<string, unknown>)[name];
    if (typeof value === 'string') return value;
  }
  return undefined;
};

/** Every way GitLab accepts a token: headers first, then `private_token` / `job_token` parameters. */
export function credentialsOf(request: FastifyRequest): Credentials | null {
  const h = request.headers;
  const header = (name: string) => {
    const v = h[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const privateToken = header('private-token') ?? param(request.query, 'private_token') ?? param(request.body, 'private_token');
  if (privateToken !== undefined) return { kind: 'personal', token: privateToken };
  const jobToken = header('job-token') ?? param(request.query, 'job_token') ?? param(request.body, 'job_token');
  if (jobToken !== undefined) return { kind: 'job', token: jobToken };
  const authorization = header('authorization');
  if (authorization !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) throw unauthorized();
    return { kind: 'bearer', token: match[1] };
  }
  return null;
}

/** Extra token kinds (job tokens) plug in here without touching the hook. */
export type TokenResolver = (db: Kysely<DB>, credentials: Credentials, request: FastifyRequest) => Promise<Actor | null>;

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export async function authenticate(db: Kysely<DB>, request: FastifyRequest, resolvers: TokenResolver[]): Promise<Actor> {
  const credentials = credentialsOf(request);
  if (!credentials) return anonymous;
  let actor: Actor | null = null;
  for (const resolve of resolvers) {
    actor = await resolve(db, credentials, request);
    if (actor) break;
  }
  if (!actor) throw unauthorized();
  if (actor.kind === 'personal') checkScopes(request, actor.scopes);
  return actor;
}

// Reads need `api` or `read_api` (asset downloads too: a `read_user` token must not fetch a
// private project's assets); the user endpoints also take `read_user`.
const USER_ROUTES = new Set(['/api/v4/user', '/api/v4/users/:id']);

function checkScopes(request: FastifyRequest, scopes: readonly string[]): void {
  if (scopes.includes('api')) return;
  if (WRITE_METHODS.has(request.method)) throw insufficientScope();
  if (scopes.includes('read_api')) return;
  const user = USER_ROUTES.has(request.routeOptions.url ?? '');
  if (user && scopes.includes('read_user')) return;
  throw insufficientScope(user ? 'api read_api read_user' : 'api read_api');
}

/** Personal access tokens, sent as PRIVATE-TOKEN, private_token or a Bearer token. */
export const personalTokens: TokenResolver = async (db, credentials) => {
  if (credentials.kind === 'job') return null;
  if (credentials.kind === 'bearer') {
    try {
      return await actorForPersonalToken(db, credentials.token);
    } catch {
      return null;
    }
  }
  return actorForPersonalToken(db, credentials.token);
};
