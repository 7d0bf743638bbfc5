import type { Kysely } from 'kysely';
import type { DB, User } from './schema.js';

export async function findUser(db: Kysely<DB>, ref: number | string): Promise<User | undefined> {
  const q = db.selectFrom('users').selectAll();
  if (typeof ref === 'number') return ref > 2147483647 ? undefined : q.where('id', '=', ref).executeTakeFirst();
  return q.where('username_key', '=', ref.toLowerCase()).executeTakeFirst();
}

export async function insertUser(db: Kysely<DB>, values: Omit<User, 'id'>): Promise<User> {
  return db.insertInto('users').values(values).returningAll().executeTakeFirstOrThrow();
}

export async function setUserNamespace(db: Kysely<DB>, userId: number, namespaceId: number): Promise<void> {
  await db.updateTable('users').set({ namespace_id: namespaceId }).where('id', '=', userId).execute();
}
