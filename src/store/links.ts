import { sql, type Kysely } from 'kysely';
import type { DB, NewReleaseLink, ReleaseLink, ReleaseLinkUpdate } from './schema.js';
import type { Page } from '../http/pagination.js';

export async function listLinks(db: Kysely<DB>, releaseId: number, page: Page): Promise<{ rows: ReleaseLink[]; total: number }> {
  const [rows, count] = await Promise.all([
    db
      .selectFrom('release_links')
      .selectAll()
      .where('release_id', '=', releaseId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(page.perPage)
      .offset(page.offset)
      .execute(),
    db.selectFrom('release_links').select(sql<string>`count(*)`.as('n')).where('release_id', '=', releaseId).executeTakeFirstOrThrow(),
  ]);
  return { rows, total: Number(count.n) };
}

/** Links of many releases at once, newest first, for release lists. */
export async function linksOfReleases(db: Kysely<DB>, releaseIds: number[]): Promise<ReleaseLink[]> {
  if (releaseIds.length === 0) return [];
  return db
    .selectFrom('release_links')
    .selectAll()
    .where('release_id', 'in', releaseIds)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
}

export async function findLink(db: Kysely<DB>, releaseId: number, linkId: number): Promise<ReleaseLink | undefined> {
  if (linkId > 2147483647) return undefined;
  return db.selectFrom('release_links').selectAll().where('release_id', '=', releaseId).where('id', '=', linkId).executeTakeFirst();
}

export async function findLinkByFilepath(db: Kysely<DB>, releaseId: number, filepath: string): Promise<ReleaseLink | undefined> {
  return db.selectFrom('release_links').selectAll().where('release_id', '=', releaseId).where('filepath', '=', filepath).executeTakeFirst();
}

/** Other links of the release that already use this name, url or filepath. */
export async function findClashes(
  db: Kysely<DB>,
  releaseId: number,
  values: { name?: string; url?: string; filepath?: string | null },
  exceptId?: number,
): Promise<Pick<ReleaseLink, 'name' | 'url' | 'filepath'>[]> {
  return db
    .selectFrom('release_links')
    .select(['name', 'url', 'filepath'])
    .where('release_id', '=', releaseId)
    .where((e) => {
      const any = [];
      if (values.name !== undefined) any.push(e('name', '=', values.name));
      if (values.url !== undefined) any.push(e('url', '=', values.url));
      if (values.filepath != null) any.push(e('filepath', '=', values.filepath));
      return any.length ? e.or(any) : e.val(false);
    })
    .$if(exceptId !== undefined, (q) => q.where('id', '!=', exceptId!))
    .execute();
}

export async function insertLink(db: Kysely<DB>, values: NewReleaseLink): Promise<ReleaseLink> {
  return db.insertInto('release_links').values(values).returningAll().executeTakeFirstOrThrow();
}

export async function updateLink(db: Kysely<DB>, id: number, values: ReleaseLinkUpdate): Promise<ReleaseLink> {
  return db.updateTable('release_links').set(values).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

export async function deleteLink(db: Kysely<DB>, id: number): Promise<void> {
  await db.deleteFrom('release_links').where('id', '=', id).execute();
}
