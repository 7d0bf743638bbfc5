import { createHash, randomBytes } from 'node:crypto';
import { forbidden, notFound, unauthorized } from '../errors.js';
import { personalAccessTokenEntity } from '../entities/token.js';
import { canAdminUsers, type Actor } from '../policy.js';
import { now } from '../store/errors.js';
import { findTokenByDigest, insertToken, touchToken } from '../store/tokens.js';
import { findUser } from '../store/users.js';
import type { Ctx } from './context.js';
import type { Kysely } from 'kysely';
import type { DB } from '../store/schema.js';

export const SCOPES = ['api', 'read_api', 'read_user', 'read_repository', 'write_repository'] as const;

/**
 * Only this digest is stored: a leaked database reveals no usable token.
 * No secret is ever compared in code (so no timingSafeEqual): a token is found by the digest of
 * what the client sent, through the unique index on token_digest. The index compares SHA-256
 * digests of the client's own guess, and the time that takes could tell at most how many leading
 * characters of that digest match a stored one, which, SHA-256 being preimage-resistant, says
 * nothing about any token. Job tokens are looked up the same way.
 */
export const tokenDigest = (token: string) => createHash('sha256').update(token).digest('hex');

export const generateToken = () => `rlpat-${randomBytes(20).toString('base64url')}`;

export interface NewTokenInput {
  name: string;
  scopes: string[];
  expires_at?: string;
}

/** Creates a token for a user; the plain value is returned here once and never again. */
export async function issueToken(db: Kysely<DB>, userId: number, input: NewTokenInput, plain = generateToken()) {
  const row = await insertToken(db, {
    user_id: userId,
    name: input.name,
    token_digest: tokenDigest(plain),
    scopes: [...new Set(input.scopes)].join(' '),
    expires_at: input.expires_at ?? null,
    revoked: 0,
    last_used_at: null,
    created_at: now(),
  });
  return personalAccessTokenEntity(row, plain);
}

export async function createPersonalAccessToken(ctx: Ctx, userId: number, input: NewTokenInput) {
  if (!ctx.actor.user) throw unauthorized();
  if (!canAdminUsers(ctx.actor)) throw forbidden();
  const user = await findUser(ctx.db, userId);
  if (!user) throw notFound('User');
  return issueToken(ctx.db, user.id, input);
}

const LAST_USED_INTERVAL_MS = 60_000;

/** Resolves a personal access token to its actor; unknown, revoked and expired tokens are 401. */
export async function actorForPersonalToken(db: Kysely<DB>, token: string): Promise<Actor> {
  const found = await findTokenByDigest(db, tokenDigest(token));
  if (!found) throw unauthorized();
  const { token: pat, user } = found;
  const today = new Date().toISOString().slice(0, 10);
  if (pat.revoked === 1 || (pat.expires_at !== null && pat.expires_at <= today)) throw unauthorized();
  if (user.state !== 'active') throw unauthorized();
  // Writing on every request would turn each read into a write; once a minute is enough to audit.
  const at = now();
  if (!pat.last_used_at || Date.parse(at) - Date.parse(pat.last_used_at) > LAST_USED_INTERVAL_MS) {
    await touchToken(db, pat.id, at);
  }
  return { user, scopes: pat.scopes.split(' '), kind: 'personal' };
}
