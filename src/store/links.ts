import { sql, type Kysely } from 'kysely';
import type { DB, NewReleaseLink, ReleaseLink, ReleaseLinkUpdate } from './schema.js';
import type { Page } from './page.js';
import { LINK_COLUMNS } from './columns.js';
import { prepared } from './prepared.js';

// The page carries the release's link count in every row (an uncorrelated subquery, computed
// once), so a page is one query; only a page past the end, which has no row, asks for the count.
/** What a link's JSON is made of: a page reads only these (fewer columns, less to convert per row). */
export type LinkRow = Pick<ReleaseLink, 'id' | 'name' | 'url' | 'filepath' | 'link_type'>;

/**
 * `newest_first` is GitLab's order of a release's links (its `sorted` scope: newest created first);
 * `given`, relinks' own, is the order they were given in: a release's inline links in their array's
 * order, then each link added since, which is the order of their ids.
 */
export type LinkOrder = 'newest_first' | 'given';

const linkPage = prepared((db, releaseId: number, limit: number, offset: number) =>
  db
    .selectFrom('release_links')
    .select(['id', 'name', 'url', 'filepath', 'link_type'])
    .select((eb) => eb.selectFrom('release_links as c').select(sql<string>`count(*)`.as('n')).where('c.release_id', '=', releaseId).as('__total'))
    .where('release_id', '=', releaseId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .offset(offset),
);

// Unnamed on PostgreSQL: the primary key also gives the order by id, and a generic plan, which
// knows only a release's average share of the table, may walk it end to end filtering by release
// (a small release's links at the end of a large table) instead of probing (release_id, id).
const linkPageGiven = prepared(
  (db, releaseId: number, limit: number, offset: number) =>
    db
      .selectFrom('release_links')
      .select(['id', 'name', 'url', 'filepath', 'link_type'])
      .select((eb) => eb.selectFrom('release_links as c').select(sql<string>`count(*)`.as('n')).where('c.release_id', '=', releaseId).as('__total'))
      .where('release_id', '=', releaseId)
      .orderBy('id', 'asc')
      .limit(limit)
      .offset(offset),
  { namedOnPostgres: false },
);

const linkCount = prepared((db, releaseId: number) =>
  db.selectFrom('release_links').select(sql<string>`count(*)`.as('n')).where('release_id', '=', releaseId),
);

/** How many links a release has. */
export async function countLinks(db: Kysely<DB>, releaseId: number): Promise<number> {
  const [count] = await linkCount(db, releaseId);
  return Number(count.n);
}

export async function listLinks(db: Kysely<DB>, releaseId: number, page: Page, order: LinkOrder = 'newest_first'): Promise<{ rows: LinkRow[]; total: number }> {
  const found = await (order === 'given' ? linkPageGiven : linkPage)(db, releaseId, page.perPage, page.offset);
  if (found.length === 0) return { rows: [], total: await countLinks(db, releaseId) };
  return { rows: found.map(({ __total, ...link }) => link), total: Number(found[0].__total) };
}

/** Links of many releases at once, for release lists: each release's links in `order`. */
export async function linksOfReleases(db: Kysely<DB>, releaseIds: number[], order: LinkOrder = 'newest_first'): Promise<ReleaseLink[]> {
  if (releaseIds.length === 0) return [];
  const query = db.selectFrom('release_links').selectAll().where('release_id', 'in', releaseIds);
  // By release, then id: each release's links are read in order from the (release_id, id) index,
  // where id alone would walk the whole primary key.
  const ordered = order === 'given' ? query.orderBy('release_id').orderBy('id') : query.orderBy('created_at', 'desc').orderBy('id', 'desc');
  return ordered.execute();
}

export async function findLinkByFilepath(db: Kysely<DB>, releaseId: number, filepath: string): Promise<ReleaseLink | undefined> {
  return db.selectFrom('release_links').selectAll().where('release_id', '=', releaseId).where('filepath', '=', filepath).executeTakeFirst();
}

// One shape for every combination: a field not given is compared with NULL, which matches nothing.
// Each branch repeats release_id so that each is one probe of its unique index (release_id, field),
// instead of a walk through all the release's links.
const clashes = prepared((db, releaseId: number, name: string | null, url: string | null, filepath: string | null, exceptId: number) =>
  db
    .selectFrom('release_links')
    .select(['name', 'url', 'filepath'])
    .where((e) =>
      e.or([
        e.and([e('release_id', '=', releaseId), e('name', '=', name)]),
        e.and([e('release_id', '=', releaseId), e('url', '=', url)]),
        e.and([e('release_id', '=', releaseId), e('filepath', '=', filepath)]),
      ]),
    )
    .where('id', '!=', exceptId),
);

/** Other links of the release that already use this name, url or filepath. */
export async function findClashes(
  db: Kysely<DB>,
  releaseId: number,
  values: { name?: string; url?: string; filepath?: string | null },
  exceptId?: number,
): Promise<Pick<ReleaseLink, 'name' | 'url' | 'filepath'>[]> {
  if (values.name === undefined && values.url === undefined && values.filepath == null) return [];
  // Ids start at 1, so 0 excludes nothing.
  return clashes(db, releaseId, values.name ?? null, values.url ?? null, values.filepath ?? null, exceptId ?? 0);
}

const insertLinkRow = prepared(
  (db, release_id: number, name: string, url: string, filepath: string | null, link_type: string, created_at: string, updated_at: string) =>
    db.insertInto('release_links').values({ release_id, name, url, filepath, link_type, created_at, updated_at }).returning(LINK_COLUMNS),
);

export async function insertLink(db: Kysely<DB>, v: NewReleaseLink): Promise<ReleaseLink> {
  const [row] = await insertLinkRow(db, v.release_id, v.name, v.url, v.filepath ?? null, v.link_type, v.created_at, v.updated_at);
  return row;
}

export async function updateLink(db: Kysely<DB>, id: number, values: ReleaseLinkUpdate): Promise<ReleaseLink> {
  return db.updateTable('release_links').set(values).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

// The row as it is now, locked until the transaction ends (a no-op UPDATE takes the row lock on
// PostgreSQL, where SELECT … FOR UPDATE has no SQLite form): a concurrent change waits for us, so the
// "before" value we record is exactly the one our change replaces.

export async function lockedLink(trx: Kysely<DB>, id: number): Promise<ReleaseLink | undefined> {
  return trx.updateTable('release_links').set((eb) => ({ updated_at: eb.ref('updated_at') })).where('id', '=', id).returningAll().executeTakeFirst();
}

/** All links of a release, locked until the transaction ends (see lockedLink), in the order they were given. */
export async function lockedLinksOf(trx: Kysely<DB>, releaseId: number): Promise<ReleaseLink[]> {
  const rows = await trx
    .updateTable('release_links')
    .set((eb) => ({ updated_at: eb.ref('updated_at') }))
    .where('release_id', '=', releaseId)
    .returningAll()
    .execute();
  return rows.sort((a, b) => a.id - b.id);
}

export async function deleteLinks(db: Kysely<DB>, ids: number[]): Promise<void> {
  if (ids.length) await db.deleteFrom('release_links').where('id', 'in', ids).execute();
}

const deleteLinkRow = prepared((db, id: number) => db.deleteFrom('release_links').where('id', '=', id));

export async function deleteLink(db: Kysely<DB>, id: number): Promise<void> {
  await deleteLinkRow(db, id);
}
