import { sql, type Kysely } from 'kysely';
import { now } from './errors.js';
import type { Upload } from './file-schema.js';
import { rowsAndTotal, type Page } from './page.js';
import type { DB } from './schema.js';
import { MAX_ID } from './packages.js';

export async function insertUpload(trx: Kysely<DB>, u: { project_id: number; secret: string; filename: string; size: number; sha256: string; uploaded_by: number | null }): Promise<Upload> {
  return trx.insertInto('uploads').values({ ...u, created_at: now() }).returningAll().executeTakeFirstOrThrow();
}

export async function findUploadBySecret(db: Kysely<DB>, projectId: number, secret: string, filename: string): Promise<Upload | undefined> {
  return db.selectFrom('uploads').selectAll().where('project_id', '=', projectId).where('secret', '=', secret).where('filename', '=', filename).executeTakeFirst();
}

export async function findUpload(db: Kysely<DB>, projectId: number, id: number): Promise<Upload | undefined> {
  if (id > MAX_ID) return undefined;
  return db.selectFrom('uploads').selectAll().where('project_id', '=', projectId).where('id', '=', id).executeTakeFirst();
}

export async function listUploads(db: Kysely<DB>, projectId: number, page: Page, sort: 'asc' | 'desc'): Promise<{ rows: Upload[]; total: number }> {
  const q = db.selectFrom('uploads').where('project_id', '=', projectId);
  return rowsAndTotal(
    q.selectAll().orderBy('created_at', sort).orderBy('id', sort).limit(page.perPage).offset(page.offset).execute(),
    q.select(sql<string>`count(*)`.as('n')).executeTakeFirstOrThrow(),
  );
}

export async function deleteUploadRow(trx: Kysely<DB>, id: number): Promise<void> {
  await trx.deleteFrom('uploads').where('id', '=', id).execute();
}
