import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { forbidden, insufficientScope, unauthorized } from '../errors.js';
import { anonymous, type Actor } from '../policy.js';
import { actorForPersonalToken } from '../services/tokens.js';
import type { DB } from '../store/schema.js';
import type { Credentials, TokenResolver } from './credentials.js';
import { factsOf } from './route-facts.js';
import { sessionCookieOf } from './sessions.js';

const param = (source: unknown, name: string): string | undefined => {
  if (source && typeof source === 'object') {
    const value = (source as Record<string, unknown>)[name];
    if (typeof value === 'string') return value;
  }
  return undefined;
};

/** HTTP Basic `user:token`, which GitLab takes only where packages are served (curl --user). */
function basicCredentials(value: string): Credentials | null {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(value);
  if (!match) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { kind: 'basic', username: decoded.slice(0, colon), token: decoded.slice(colon + 1) };
}

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
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (bearer) return { kind: 'bearer', token: bearer[1] };
    const basic = factsOf(request).auth.includes('basic') ? basicCredentials(authorization) : null;
    if (!basic) throw unauthorized();
    return basic;
  }
  // Only where the route takes it (sessionCookieOf reads the route's facts), and after any token.
  const session = sessionCookieOf(request);
  if (session !== undefined) return { kind: 'session', token: session };
  return null;
}

/** Who the request acts as, by the credentials its route declares it takes (route-facts.ts). */
export async function authenticate(db: Kysely<DB>, request: FastifyRequest, resolvers: TokenResolver[]): Promise<Actor> {
  const credentials = credentialsOf(request);
  if (!credentials) return anonymous;
  let actor: Actor | null = null;
  for (const resolve of resolvers) {
    actor = await resolve(db, credentials, request);
    if (actor) break;
  }
  if (!actor) throw unauthorized();
  // A session opened with a token has that token's scopes; a password's session has `api`.
  if (actor.kind === 'personal' || actor.kind === 'session') checkScopes(request, actor.scopes);
  return actor;
}

function checkScopes(request: FastifyRequest, scopes: readonly string[]): void {
  const needed = factsOf(request).scopes ?? ['api'];
  if (needed.some((scope) => scopes.includes(scope))) return;
  throw insufficientScope(needed.join(' '));
}

/** Personal access tokens, sent as PRIVATE-TOKEN, private_token, a Bearer token or Basic's password. */
export const personalTokens: TokenResolver = async (db, credentials, request) => {
  if (credentials.kind === 'job' || credentials.kind === 'session') return null;
  let actor: Actor | null;
  if (credentials.kind === 'bearer' || credentials.kind === 'basic') {
    try {
      actor = await actorForPersonalToken(db, credentials.token);
      // Basic names the user too; a token of someone else's is no match.
      if (credentials.kind === 'basic' && actor.user?.username !== credentials.username) return null;
    } catch {
      return null;
    }
  } else {
    actor = await actorForPersonalToken(db, credentials.token);
  }
  // A valid token on a route that takes only the browser's session (a form) is refused, as job
  // tokens are where they are not declared. A path no route serves stays a plain 404.
  if (!request.is404 && !factsOf(request).auth.includes('personal')) throw forbidden();
  return actor;
};
