import { sql, type Kysely } from 'kysely';
import { PROTECTED_TAG_COLUMNS } from './columns.js';
import { prepared } from './prepared.js';
import type { DB, ProtectedTag } from './schema.js';
import { rowsAndTotal, type Page } from './page.js';

const protectedTagsOf = prepared((db, projectId: number) => db.selectFrom('protected_tags').select(PROTECTED_TAG_COLUMNS).where('project_id', '=', projectId));

export async function listAllProtectedTags(db: Kysely<DB>, projectId: number): Promise<ProtectedTag[]> {
  return protectedTagsOf(db, projectId);
}

export async function listProtectedTags(db: Kysely<DB>, projectId: number, page: Page): Promise<{ rows: ProtectedTag[]; total: number }> {
  return rowsAndTotal(
    db
      .selectFrom('protected_tags')
      .selectAll()
      .where('project_id', '=', projectId)
      .orderBy('id', 'asc')
      .limit(page.perPage)
      .offset(page.offset)
      .execute(),
    db.selectFrom('protected_tags').select(sql<string>`count(*)`.as('n')).where('project_id', '=', projectId).executeTakeFirstOrThrow(),
  );
}

export async function findProtectedTag(db: Kysely<DB>, projectId: number, name: string): Promise<ProtectedTag | undefined> {
  return db.selectFrom('protected_tags').selectAll().where('project_id', '=', projectId).where('name', '=', name).executeTakeFirst();
}

export async function insertProtectedTag(db: Kysely<DB>, values: Omit<ProtectedTag, 'id'>): Promise<ProtectedTag> {
  return db.insertInto('protected_tags').values(values).returningAll().executeTakeFirstOrThrow();
}

export async function deleteProtectedTag(db: Kysely<DB>, id: number): Promise<void> {
  await db.deleteFrom('protected_tags').where('id', '=', id).execute();
}
