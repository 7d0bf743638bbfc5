import { sql, type Kysely } from 'kysely';
import type { CountedSubject } from './file-schema.js';
import type { DB } from './schema.js';

export interface CountBatchRow {
  subject: CountedSubject;
  subject_id: number;
  downloads: number;
  last_downloaded_at: string;
}

/** Adds a batch of counted downloads in one statement per 500 subjects. */
export async function addDownloadCounts(trx: Kysely<DB>, rows: CountBatchRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) {
    await trx
      .insertInto('download_counts')
      .values(rows.slice(i, i + 500))
      .onConflict((oc) =>
        oc.columns(['subject', 'subject_id']).doUpdateSet({
          downloads: sql`download_counts.downloads + excluded.downloads`,
          last_downloaded_at: sql`excluded.last_downloaded_at`,
        }),
      )
      .execute();
  }
}

export async function downloadCounts(db: Kysely<DB>, subject: CountedSubject, ids: number[]): Promise<Map<number, { downloads: number; last_downloaded_at: string }>> {
  const out = new Map<number, { downloads: number; last_downloaded_at: string }>();
  if (!ids.length) return out;
  const rows = await db
    .selectFrom('download_counts')
    .select(['subject_id', 'downloads', 'last_downloaded_at'])
    .where('subject', '=', subject)
    .where('subject_id', 'in', ids)
    .execute();
  for (const r of rows) out.set(r.subject_id, { downloads: Number(r.downloads), last_downloaded_at: r.last_downloaded_at });
  return out;
}
