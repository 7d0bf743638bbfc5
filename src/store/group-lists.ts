import { sql, type Kysely } from 'kysely';
import type { DB, Namespace } from './schema.js';
import type { Page } from './page.js';

export const GROUP_ORDERS = ['name', 'path', 'id'] as const;

export interface GroupFilter {
  userId: number | null;
  admin: boolean;
  /** Every group the caller may see; otherwise only the groups they belong to (directly or by an ancestor). */
  allAvailable: boolean;
  owned?: boolean;
  search?: string;
  visibility?: number;
  topLevelOnly?: boolean;
  orderBy?: (typeof GROUP_ORDERS)[number];
  sort?: 'asc' | 'desc';
}

const likeLiteral = (term: string) => `%${term.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export async function listGroups(db: Kysely<DB>, f: GroupFilter, page: Page): Promise<{ rows: Namespace[]; total: number }> {
  const uid = f.userId ?? 0;
  const access = sql<number | null>`(select max(m.access_level) from members m where m.user_id = ${uid} and m.source_type = 'Namespace' and ('/' || n.traversal_ids) like ('%/' || m.source_id || '/%'))`;
  let q = db.selectFrom('namespaces as n').where('n.kind', '=', 'group');
  if (!f.admin || !f.allAvailable) {
    q = q.where((e) => {
      const member = e(sql<number>`coalesce(${access}, 0)`, '>=', 10);
      if (f.userId === null) return e('n.visibility', '=', 20);
      if (!f.allAvailable) return member;
      return e.or([e('n.visibility', '>=', 10), member]);
    });
  }
  if (f.owned) q = f.userId === null ? q.where(sql<boolean>`1 = 0`) : q.where(sql<number>`coalesce(${access}, 0)`, '>=', 50);
  if (f.visibility !== undefined) q = q.where('n.visibility', '=', f.visibility);
  if (f.topLevelOnly) q = q.where('n.parent_id', 'is', null);
  if (f.search) {
    const term = likeLiteral(f.search);
    q = q.where(sql<boolean>`(lower(n.name) like ${term} escape '\\' or lower(n.path) like ${term} escape '\\')`);
  }
  const direction = f.sort ?? 'asc';
  const column = f.orderBy === 'path' ? 'n.path' : f.orderBy === 'id' ? 'n.id' : 'n.name';
  const [rows, count] = await Promise.all([
    q.selectAll('n').orderBy(column, direction).orderBy('n.id', direction).limit(page.perPage).offset(page.offset).execute(),
    q.select(sql<string>`count(*)`.as('n')).executeTakeFirstOrThrow(),
  ]);
  return { rows, total: Number(count.n) };
}
