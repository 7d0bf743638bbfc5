import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../db.js';
import { now } from '../errors.js';
import type { DB } from '../schema.js';

// The `blobs` table: one row per distinct content. Files and uploads name their content by
// SHA-256; the row says where the backend keeps it. An identical file is stored once.

export interface BlobRow {
  sha256: string;
  size: number;
  location: string;
}

/**
 * Records content just written at `location`, or finds the row that already holds the same bytes.
 * Returns the location to keep: when it is not `location`, the new copy is a duplicate to remove.
 * The upsert locks the row until the transaction ends, so the sweeper cannot take it away from
 * a file being recorded against it.
 */
export async function keepBlob(trx: Kysely<DB>, blob: { sha256: string; size: number }, location: string): Promise<string> {
  const row = await trx
    .insertInto('blobs')
    .values({ sha256: blob.sha256, size: blob.size, location, created_at: now() })
    .onConflict((oc) => oc.column('sha256').doUpdateSet({ sha256: sql`excluded.sha256` }))
    .returning('location')
    .executeTakeFirstOrThrow();
  return row.location;
}

export async function findBlob(db: Kysely<DB>, sha256: string): Promise<BlobRow | undefined> {
  const row = await db.selectFrom('blobs').select(['sha256', 'size', 'location']).where('sha256', '=', sha256).executeTakeFirst();
  return row && { ...row, size: Number(row.size) };
}

/** Content no package file or upload names any more, oldest first. */
export async function unreferencedBlobs(db: Kysely<DB>, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('blobs as b')
    .select('b.sha256')
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('package_files as f').select('f.id').whereRef('f.file_sha256', '=', 'b.sha256'))),
    )
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom('uploads as u').select('u.id').whereRef('u.sha256', '=', 'b.sha256'))))
    .orderBy('b.created_at')
    .limit(limit)
    .execute();
  return rows.map((r) => r.sha256);
}

/**
 * Deletes the blob row if still nothing names it, and returns its location for the caller to
 * remove after the commit. On PostgreSQL the row is locked first and the references read after,
 * so a file recorded concurrently (which holds that lock: keepBlob) is always seen.
 */
export async function dropBlobIfUnused(trx: Kysely<DB>, dialect: Dialect, sha256: string): Promise<string | null> {
  let query = trx.selectFrom('blobs').select('location').where('sha256', '=', sha256);
  if (dialect === 'postgres') query = query.forUpdate();
  const row = await query.executeTakeFirst();
  if (!row) return null;
  const used =
    (await trx.selectFrom('package_files').select('id').where('file_sha256', '=', sha256).limit(1).executeTakeFirst()) ??
    (await trx.selectFrom('uploads').select('id').where('sha256', '=', sha256).limit(1).executeTakeFirst());
  if (used) return null;
  await trx.deleteFrom('blobs').where('sha256', '=', sha256).execute();
  return row.location;
}

export async function isKnownLocation(db: Kysely<DB>, location: string): Promise<boolean> {
  return !!(await db.selectFrom('blobs').select('sha256').where('location', '=', location).executeTakeFirst());
}
