import type { Kysely } from 'kysely';
import { qualified, USER_COLUMNS } from './columns.js';
import { prepared } from './prepared.js';
import type { DB, PersonalAccessToken, User } from './schema.js';

export interface TokenWithUser {
  token: PersonalAccessToken;
  user: User;
}

const tokenByDigest = prepared((db, digest: string) =>
  db
    .selectFrom('personal_access_tokens as t')
    .innerJoin('users as u', 'u.id', 't.user_id')
    .select(qualified('u', USER_COLUMNS))
    .select([
      't.id as t_id',
      't.name as t_name',
      't.token_digest as t_token_digest',
      't.scopes as t_scopes',
      't.expires_at as t_expires_at',
      't.revoked as t_revoked',
      't.last_used_at as t_last_used_at',
      't.created_at as t_created_at',
    ])
    .where('t.token_digest', '=', digest),
);

export async function findTokenByDigest(db: Kysely<DB>, digest: string): Promise<TokenWithUser | undefined> {
  const [row] = await tokenByDigest(db, digest);
  if (!row) return undefined;
  const { t_id, t_name, t_token_digest, t_scopes, t_expires_at, t_revoked, t_last_used_at, t_created_at, ...user } = row;
  return {
    user,
    token: {
      id: t_id,
      user_id: user.id,
      name: t_name,
      token_digest: t_token_digest,
      scopes: t_scopes,
      expires_at: t_expires_at,
      revoked: t_revoked,
      last_used_at: t_last_used_at,
      created_at: t_created_at,
    },
  };
}

export async function insertToken(db: Kysely<DB>, values: Omit<PersonalAccessToken, 'id'>): Promise<PersonalAccessToken> {
  return db.insertInto('personal_access_tokens').values(values).returningAll().executeTakeFirstOrThrow();
}

export async function touchToken(db: Kysely<DB>, id: number, at: string): Promise<void> {
  await db.updateTable('personal_access_tokens').set({ last_used_at: at }).where('id', '=', id).execute();
}
