import { sql, type Kysely } from 'kysely';
import type { DB, Tag } from './schema.js';
import { rowsAndTotal, type Page } from './page.js';

export async function findTag(db: Kysely<DB>, projectId: number, name: string): Promise<Tag | undefined> {
  return db.selectFrom('tags').selectAll().where('project_id', '=', projectId).where('name', '=', name).executeTakeFirst();
}

/**
 * The tag, its row locked until the transaction ends (a no-op UPDATE: row-locking on PostgreSQL,
 * and SQLite's writes are one at a time anyway). A release is created or its tag deleted only
 * under this lock, so neither can leave a release whose tag is gone.
 */
export async function lockedTag(trx: Kysely<DB>, projectId: number, name: string): Promise<Tag | undefined> {
  return trx
    .updateTable('tags')
    .set((eb) => ({ message: eb.ref('message') }))
    .where('project_id', '=', projectId)
    .where('name', '=', name)
    .returningAll()
    .executeTakeFirst();
}

export async function insertTag(db: Kysely<DB>, values: Omit<Tag, 'id'>): Promise<Tag> {
  return db.insertInto('tags').values(values).returningAll().executeTakeFirstOrThrow();
}

export async function listTags(db: Kysely<DB>, projectId: number, page: Page): Promise<{ rows: Tag[]; total: number }> {
  return rowsAndTotal(
    db
      .selectFrom('tags')
      .selectAll()
      .where('project_id', '=', projectId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(page.perPage)
      .offset(page.offset)
      .execute(),
    db.selectFrom('tags').select(sql<string>`count(*)`.as('n')).where('project_id', '=', projectId).executeTakeFirstOrThrow(),
  );
}
