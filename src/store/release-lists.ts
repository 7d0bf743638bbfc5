import { sql, type Kysely } from 'kysely';
import type { DB, Release } from './schema.js';
import type { Page } from '../http/pagination.js';

export interface ReleaseOrder {
  orderBy?: 'released_at' | 'created_at';
  sort?: 'asc' | 'desc';
  /** ISO 8601 times, compared as GitLab's ReleasesFinder does: strictly before, strictly after. */
  updatedBefore?: string;
  updatedAfter?: string;
}

/** One page of the releases of some projects (one project's list, or a group's), in GitLab's order. */
export async function listOrderedReleases(db: Kysely<DB>, projectIds: number[], page: Page, order: ReleaseOrder = {}): Promise<{ rows: Release[]; total: number }> {
  if (projectIds.length === 0) return { rows: [], total: 0 };
  let query = db.selectFrom('releases').where('project_id', 'in', projectIds);
  if (order.updatedBefore) query = query.where('updated_at', '<', order.updatedBefore);
  if (order.updatedAfter) query = query.where('updated_at', '>', order.updatedAfter);
  const direction = order.sort ?? 'desc';
  const [rows, count] = await Promise.all([
    query
      .selectAll()
      .orderBy(order.orderBy ?? 'released_at', direction)
      // The id settles ties, so pages never overlap or skip.
      .orderBy('id', direction)
      .limit(page.perPage)
      .offset(page.offset)
      .execute(),
    query.select(sql<string>`count(*)`.as('n')).executeTakeFirstOrThrow(),
  ]);
  return { rows, total: Number(count.n) };
}
