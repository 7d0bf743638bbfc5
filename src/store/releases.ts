import { sql, type Kysely } from 'kysely';
import { RELEASE_COLUMNS } from './columns.js';
import { lockedLinksOf } from './links.js';
import { prepared } from './prepared.js';
import type { DB, Release, ReleasesTable } from './schema.js';
import type { Insertable, Updateable } from 'kysely';

const releaseByTag = prepared((db, projectId: number, tagName: string) =>
  db.selectFrom('releases').select(RELEASE_COLUMNS).where('project_id', '=', projectId).where('tag_name', '=', tagName),
);

export async function findRelease(db: Kysely<DB>, projectId: number, tagName: string): Promise<Release | undefined> {
  return (await releaseByTag(db, projectId, tagName))[0];
}

export async function latestRelease(db: Kysely<DB>, projectId: number): Promise<Release | undefined> {
  return db
    .selectFrom('releases')
    .selectAll()
    .where('project_id', '=', projectId)
    .orderBy('released_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

export async function insertRelease(db: Kysely<DB>, values: Insertable<ReleasesTable>): Promise<Release> {
  return db.insertInto('releases').values(values).returningAll().executeTakeFirstOrThrow();
}

export async function updateRelease(db: Kysely<DB>, id: number, values: Updateable<ReleasesTable>): Promise<Release> {
  return db.updateTable('releases').set(values).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

/** The release row, locked until the transaction ends: see lockedLink in store/links.ts. */
export async function lockedRelease(trx: Kysely<DB>, id: number): Promise<Release | undefined> {
  return trx.updateTable('releases').set((eb) => ({ updated_at: eb.ref('updated_at') })).where('id', '=', id).returningAll().executeTakeFirst();
}

/**
 * The release row and all its links, locked until the transaction ends: what a delete answers for
 * and records. A link update or delete takes only its link's lock, so it is waited for here, and a
 * link deleted meanwhile is not answered for twice nor one renamed shown by its old name.
 */
export async function lockedReleaseAndLinks(trx: Kysely<DB>, id: number): Promise<Release | undefined> {
  const release = await lockedRelease(trx, id);
  if (release) await lockedLinksOf(trx, id);
  return release;
}

export async function deleteRelease(db: Kysely<DB>, id: number): Promise<void> {
  await db.deleteFrom('releases').where('id', '=', id).execute();
}

/** How many releases a project has, and links over all of them. */
export async function countReleasesAndLinks(db: Kysely<DB>, projectId: number): Promise<{ releases: number; links: number }> {
  const row = await db
    .selectFrom('releases as r')
    .leftJoin('release_links as l', 'l.release_id', 'r.id')
    .select([sql<string>`count(distinct r.id)`.as('releases'), sql<string>`count(l.id)`.as('links')])
    .where('r.project_id', '=', projectId)
    .executeTakeFirstOrThrow();
  return { releases: Number(row.releases), links: Number(row.links) };
}
