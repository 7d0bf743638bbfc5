import { sql, type Kysely } from 'kysely';
import { qualified, USER_COLUMNS } from './columns.js';
import { prepared } from './prepared.js';
import type { DB, PersonalAccessToken, User } from './schema.js';
import type { WebSession } from './session-schema.js';

export interface SessionWithUser {
  session: WebSession;
  user: User;
  /** The token the session was opened with, when it was. */
  token: Pick<PersonalAccessToken, 'revoked' | 'expires_at'> | null;
}

const sessionByDigest = prepared((db, digest: string) =>
  db
    .selectFrom('web_sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .leftJoin('personal_access_tokens as t', 't.id', 's.token_id')
    .select(qualified('u', USER_COLUMNS))
    .select([
      's.id as s_id',
      's.session_digest as s_session_digest',
      's.token_id as s_token_id',
      's.scopes as s_scopes',
      's.csrf_token as s_csrf_token',
      's.created_at as s_created_at',
      's.last_seen_at as s_last_seen_at',
      's.expires_at as s_expires_at',
      't.revoked as t_revoked',
      't.expires_at as t_expires_at',
    ])
    .where('s.session_digest', '=', digest),
);

/** The session with this digest and its user, in one query. */
export async function findSessionByDigest(db: Kysely<DB>, digest: string): Promise<SessionWithUser | undefined> {
  const [row] = await sessionByDigest(db, digest);
  if (!row) return undefined;
  const { s_id, s_session_digest, s_token_id, s_scopes, s_csrf_token, s_created_at, s_last_seen_at, s_expires_at, t_revoked, t_expires_at, ...user } = row;
  return {
    user,
    session: {
      id: s_id,
      session_digest: s_session_digest,
      user_id: user.id,
      token_id: s_token_id,
      scopes: s_scopes,
      csrf_token: s_csrf_token,
      created_at: s_created_at,
      last_seen_at: s_last_seen_at,
      expires_at: s_expires_at,
    },
    token: s_token_id === null ? null : { revoked: t_revoked ?? 1, expires_at: t_expires_at ?? null },
  };
}

export async function insertSession(db: Kysely<DB>, values: Omit<WebSession, 'id'>): Promise<void> {
  await db.insertInto('web_sessions').values(values).execute();
}

export async function touchSession(db: Kysely<DB>, id: number, lastSeenAt: string, expiresAt: string): Promise<void> {
  await db.updateTable('web_sessions').set({ last_seen_at: lastSeenAt, expires_at: expiresAt }).where('id', '=', id).execute();
}

export async function deleteSessionByDigest(db: Kysely<DB>, digest: string): Promise<void> {
  await db.deleteFrom('web_sessions').where('session_digest', '=', digest).execute();
}

/** Sessions past their end: removed now and then by sign-ins, so the table does not grow forever. */
export async function deleteExpiredSessions(db: Kysely<DB>, now: string): Promise<void> {
  await db.deleteFrom('web_sessions').where('expires_at', '<=', now).execute();
}

export async function setPasswordDigest(db: Kysely<DB>, userId: number, digest: string): Promise<void> {
  await db.updateTable('users').set({ password_digest: digest }).where('id', '=', userId).execute();
}

/** A user by username or email, either without regard to case. */
export async function findUserByLogin(db: Kysely<DB>, login: string): Promise<User | undefined> {
  const key = login.toLowerCase();
  return db
    .selectFrom('users')
    .selectAll()
    .where((e) => e.or([e('username_key', '=', key), e('email_key', '=', key)]))
    .orderBy(sql`case when username_key = ${key} then 0 else 1 end`)
    .executeTakeFirst();
}
