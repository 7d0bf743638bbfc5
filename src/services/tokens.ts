import { createHash, randomBytes } from 'node:crypto';
import { forbidden, notFound, unauthorized } from '../errors.js';
import { personalAccessTokenEntity } from '../entities/token.js';
import { canAdminUsers, type Actor } from '../policy.js';
import { now } from '../store/errors.js';
import { authGeneration } from '../store/auth-changes.js';
import { findTokenByDigest, insertToken, touchToken, type TokenWithUser } from '../store/tokens.js';
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

/**
 * Token lookups are cached briefly by digest: a CI burst sends the same token many times a second.
 * An entry lives at most TOKEN_CACHE_MS from the moment its lookup started, so a token revoked (or a
 * user blocked) by another instance stops working within that time; on this instance any write to
 * users or tokens (store/auth-changes.ts) drops every entry at once. Unknown tokens are not cached.
 */
export const TOKEN_CACHE_MS = 1000;
const TOKEN_CACHE_MAX = 10_000;

interface CachedToken {
  found: TokenWithUser;
  actor: Actor;
  fetchedAt: number;
  generation: number;
}

interface TokenCache {
  entries: Map<string, CachedToken>;
  /** Lookups under way: a burst of requests with one token makes one query (and one touch). */
  inFlight: Map<string, { generation: number; lookup: Promise<CachedToken | undefined> }>;
}

const tokenCaches = new WeakMap<Kysely<DB>, TokenCache>();

function lookUp(db: Kysely<DB>, digest: string): Promise<CachedToken | undefined> {
  let cache = tokenCaches.get(db);
  if (!cache) tokenCaches.set(db, (cache = { entries: new Map(), inFlight: new Map() }));
  const hit = cache.entries.get(digest);
  if (hit && hit.generation === authGeneration() && Date.now() - hit.fetchedAt < TOKEN_CACHE_MS) return Promise.resolve(hit);
  // Join a lookup under way only if nothing changed since it started.
  const pending = cache.inFlight.get(digest);
  if (pending && pending.generation === authGeneration()) return pending.lookup;
  const { entries, inFlight } = cache;
  const mine = { generation: authGeneration(), lookup: fetchToken(db, entries, digest) };
  inFlight.set(digest, mine);
  void mine.lookup.finally(() => {
    if (inFlight.get(digest) === mine) inFlight.delete(digest);
  }).catch(() => {});
  return mine.lookup;
}

async function fetchToken(db: Kysely<DB>, cache: Map<string, CachedToken>, digest: string): Promise<CachedToken | undefined> {
  const started = Date.now();
  const generation = authGeneration();
  const found = await findTokenByDigest(db, digest);
  if (!found) {
    cache.delete(digest);
    return undefined;
  }
  const entry: CachedToken = {
    found,
    actor: { user: found.user, scopes: found.token.scopes.split(' '), kind: 'personal' },
    fetchedAt: started,
    generation,
  };
  // A write that landed while we read may have been missed by the read: then do not keep it.
  if (generation === authGeneration()) {
    if (cache.size >= TOKEN_CACHE_MAX) {
      for (const [key, value] of cache) if (started - value.fetchedAt >= TOKEN_CACHE_MS) cache.delete(key);
      if (cache.size >= TOKEN_CACHE_MAX) cache.delete(cache.keys().next().value!);
    }
    cache.set(digest, entry);
  }
  return entry;
}

const DAY_MS = 86_400_000;
let today = { day: '', until: 0 };

/** The UTC date (YYYY-MM-DD) at `ms`, formatted once a day rather than on every request. */
function utcDay(ms: number): string {
  if (ms >= today.until || ms < today.until - DAY_MS) {
    today = { day: new Date(ms).toISOString().slice(0, 10), until: (Math.floor(ms / DAY_MS) + 1) * DAY_MS };
  }
  return today.day;
}

/** Resolves a personal access token to its actor; unknown, revoked and expired tokens are 401. */
export async function actorForPersonalToken(db: Kysely<DB>, token: string): Promise<Actor> {
  const entry = await lookUp(db, tokenDigest(token));
  if (!entry) throw unauthorized();
  const { token: pat, user } = entry.found;
  const nowMs = Date.now();
  // Expiry is judged on every use, cached or not: a token expires at midnight, not a second later.
  if (pat.revoked === 1 || (pat.expires_at !== null && pat.expires_at <= utcDay(nowMs))) throw unauthorized();
  if (user.state !== 'active') throw unauthorized();
  // Writing on every request would turn each read into a write; once a minute is enough to audit.
  if (!pat.last_used_at || nowMs - Date.parse(pat.last_used_at) > LAST_USED_INTERVAL_MS) {
    const at = new Date(nowMs).toISOString();
    // Set first, so the requests that arrive while this write runs do not repeat it.
    pat.last_used_at = at;
    await touchToken(db, pat.id, at);
  }
  return entry.actor;
}
