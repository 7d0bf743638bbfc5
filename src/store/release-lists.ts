import { sql, type Kysely } from 'kysely';
import type { DB, Release } from './schema.js';
import type { Page } from './page.js';

export interface ReleaseOrder {
  /** `semver` is relinks' own: see services/semver-order.ts. */
  orderBy?: 'released_at' | 'created_at' | 'semver';
  sort?: 'asc' | 'desc';
  /** ISO 8601 times, compared as GitLab's ReleasesFinder does: strictly before, strictly after. */
  updatedBefore?: string;
  updatedAfter?: string;
}

function filteredReleases(db: Kysely<DB>, projectIds: number[], order: ReleaseOrder) {
  let query = db.selectFrom('releases').where('project_id', 'in', projectIds);
  if (order.updatedBefore) query = query.where('updated_at', '<', order.updatedBefore);
  if (order.updatedAfter) query = query.where('updated_at', '>', order.updatedAfter);
  return query;
}

/** Every matching release's id and tag, for an order the database cannot compute (semver). */
export async function releaseTags(db: Kysely<DB>, projectIds: number[], order: ReleaseOrder = {}): Promise<Array<{ id: number; tag_name: string }>> {
  if (projectIds.length === 0) return [];
  return filteredReleases(db, projectIds, order).select(['id', 'tag_name']).execute();
}

export async function releasesByIds(db: Kysely<DB>, ids: number[]): Promise<Release[]> {
  if (ids.length === 0) return [];
  const rows = await db.selectFrom('releases').selectAll().where('id', 'in', ids).execute();
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id) => byId.get(id)).filter((r): r is Release => r !== undefined);
}

/** One page of the releases of some projects (one project's list, or a group's), in GitLab's order. */
export async function listOrderedReleases(db: Kysely<DB>, projectIds: number[], page: Page, order: ReleaseOrder = {}): Promise<{ rows: Release[]; total: number }> {
  if (projectIds.length === 0) return { rows: [], total: 0 };
  const query = filteredReleases(db, projectIds, order);
  const direction = order.sort ?? 'desc';
  const [rows, count] = await Promise.all([
    query
      .selectAll()
      .orderBy(order.orderBy === 'created_at' ? 'created_at' : 'released_at', direction)
      // The id settles ties, so pages never overlap or skip.
      .orderBy('id', direction)
      .limit(page.perPage)
      .offset(page.offset)
      .execute(),
    query.select(sql<string>`count(*)`.as('n')).executeTakeFirstOrThrow(),
  ]);
  return { rows, total: Number(count.n) };
}
