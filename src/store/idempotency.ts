import type { Kysely } from 'kysely';
import type { DB, IdempotencyKey } from './schema.js';

export interface KeyScope {
  userId: number;
  scope: string;
  key: string;
}

/** The live (unexpired) record of a key, if any. */
export async function findKey(db: Kysely<DB>, k: KeyScope, now: string): Promise<IdempotencyKey | undefined> {
  return db
    .selectFrom('idempotency_keys')
    .selectAll()
    .where('user_id', '=', k.userId)
    .where('scope', '=', k.scope)
    .where('key', '=', k.key)
    .where('expires_at', '>', now)
    .executeTakeFirst();
}

export interface NewKey extends KeyScope {
  fingerprint: string;
  status: number;
  response: string;
  createdAt: string;
  expiresAt: string;
}

/**
 * Records a key's response. An expired record of the same key is removed first, so the key can be
 * used again; a live one makes the insert fail on the unique index.
 */
export async function insertKey(db: Kysely<DB>, k: NewKey): Promise<void> {
  await db
    .deleteFrom('idempotency_keys')
    .where('user_id', '=', k.userId)
    .where('scope', '=', k.scope)
    .where('key', '=', k.key)
    .where('expires_at', '<=', k.createdAt)
    .execute();
  await db
    .insertInto('idempotency_keys')
    .values({
      user_id: k.userId,
      scope: k.scope,
      key: k.key,
      fingerprint: k.fingerprint,
      status: k.status,
      response: k.response,
      created_at: k.createdAt,
      expires_at: k.expiresAt,
    })
    .execute();
}

/** Deletes expired records; returns how many. */
export async function deleteExpiredKeys(db: Kysely<DB>, now: string): Promise<number> {
  const result = await db.deleteFrom('idempotency_keys').where('expires_at', '<=', now).executeTakeFirst();
  return Number(result.numDeletedRows);
}
