import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Actor } from '../policy.js';
import { now } from '../store/errors.js';
import type { DB, User } from '../store/schema.js';
import { deleteExpiredSessions, deleteSessionByDigest, findSessionByDigest, findUserByLogin, insertSession, setPasswordDigest, touchSession } from '../store/sessions.js';
import type { WebSession } from '../store/session-schema.js';
import type { Ctx } from './context.js';
import { needsRehash, hashPassword, verifyPassword } from './passwords.js';
import { assertNotLocked, countFailedSignIn, forgetFailures, SignInError, type SignInKeys } from './sign-in-limits.js';
import { actorForPersonalToken, tokenDigest } from './tokens.js';
import { findTokenByDigest } from '../store/tokens.js';

export { SignInError };

// Browser sessions: signing in with a password (or a personal access token as the password),
// the actor a session cookie stands for, and signing out. The cookie holds a random value; the
// database holds its SHA-256 digest, found through a unique index as tokens are.

/** GitLab's session_expire_delay: a week; each use moves the end on. */
export const SESSION_LIFETIME_MS = 7 * 86_400_000;
/** How stale last_seen_at may be before a request writes it again: reads stay reads. */
const TOUCH_INTERVAL_MS = 5 * 60_000;

/** The session's scopes when signed in with a password: everything a browser can do. */
const PASSWORD_SCOPES = 'api';
/** A token may open a session when it can at least read through the API. */
const SESSION_TOKEN_SCOPES = ['api', 'read_api'];

export const sessionDigest = (value: string) => createHash('sha256').update(`session:${value}`).digest('hex');

export interface NewSession {
  /** The cookie's value: shown here once, stored only as its digest. */
  value: string;
  session: WebSession;
  user: User;
}

/** The user `password` opens: their password, or one of their personal access tokens. */
async function userFor(ctx: Ctx, user: User | undefined, password: string): Promise<{ user: User; tokenId: number | null; scopes: string } | null> {
  const db = ctx.db;
  // A token: found by its digest (no comparison in code), and only for the user named.
  const token = password.length >= 20 ? await findTokenByDigest(db, tokenDigest(password)) : undefined;
  if (user && token && token.user.id === user.id) {
    try {
      await actorForPersonalToken(db, password);
    } catch {
      return null;
    }
    const scopes = token.token.scopes.split(' ');
    if (!SESSION_TOKEN_SCOPES.some((s) => scopes.includes(s))) return null;
    return { user, tokenId: token.token.id, scopes: token.token.scopes };
  }
  // Unknown users cost a hash too, so the time taken does not tell who exists.
  const ok = await verifyPassword(password, user?.password_digest ?? null);
  if (!ok || !user) return null;
  if (user.password_digest && needsRehash(user.password_digest)) {
    const digest = await hashPassword(password);
    await ctx.write((trx) => setPasswordDigest(trx, user.id, digest));
  }
  return { user, tokenId: null, scopes: PASSWORD_SCOPES };
}

/**
 * Signs in by username or email with a password (or a personal access token as the password).
 * Failures are counted per account (or login name) and per client address; over the limits the
 * answer is "locked" whatever the password (see sign-in-limits.ts).
 */
export async function signIn(ctx: Ctx, login: string, password: string, ip: string): Promise<NewSession> {
  const known = await findUserByLogin(ctx.db, login);
  const keys: SignInKeys = { account: known ? `user:${known.id}` : `login:${login.toLowerCase()}`, address: `ip:${ip}` };
  await assertNotLocked(ctx, keys);
  const found = password !== '' ? await userFor(ctx, known, password) : null;
  if (!found || found.user.state !== 'active') {
    await countFailedSignIn(ctx, keys);
    throw new SignInError('invalid');
  }
  await forgetFailures(ctx, keys.account);
  const value = randomBytes(32).toString('base64url');
  const at = now();
  const session: Omit<WebSession, 'id'> = {
    session_digest: sessionDigest(value),
    user_id: found.user.id,
    token_id: found.tokenId,
    scopes: found.scopes,
    csrf_token: randomBytes(32).toString('base64url'),
    created_at: at,
    last_seen_at: at,
    expires_at: new Date(Date.parse(at) + SESSION_LIFETIME_MS).toISOString(),
  };
  await ctx.write(async (trx) => {
    await deleteExpiredSessions(trx, at);
    await insertSession(trx, session);
  });
  const stored = await findSessionByDigest(ctx.db, session.session_digest);
  return { value, session: stored!.session, user: found.user };
}

export interface SessionActor {
  actor: Actor;
  session: WebSession;
}

/** The actor a session cookie stands for, or null when it names no live session (signed out, expired, blocked). */
export async function actorForSession(db: Kysely<DB>, value: string): Promise<SessionActor | null> {
  const found = await findSessionByDigest(db, sessionDigest(value));
  if (!found) return null;
  const { session, user, token } = found;
  const nowMs = Date.now();
  if (Date.parse(session.expires_at) <= nowMs || user.state !== 'active') return null;
  if (token && (token.revoked === 1 || (token.expires_at !== null && token.expires_at <= new Date(nowMs).toISOString().slice(0, 10)))) return null;
  if (nowMs - Date.parse(session.last_seen_at) > TOUCH_INTERVAL_MS) {
    const at = new Date(nowMs).toISOString();
    await touchSession(db, session.id, at, new Date(nowMs + SESSION_LIFETIME_MS).toISOString());
  }
  return { actor: { user, scopes: session.scopes.split(' '), kind: 'session' }, session };
}

/** Ends the session on every instance at once: the row is what they all read. */
export async function signOut(ctx: Ctx, value: string): Promise<void> {
  await ctx.write((trx) => deleteSessionByDigest(trx, sessionDigest(value)));
}
