import type { Kysely } from 'kysely';
import type { DB, Namespace } from './schema.js';

export async function findNamespace(db: Kysely<DB>, ref: string | number): Promise<Namespace | undefined> {
  const q = db.selectFrom('namespaces').selectAll();
  if (typeof ref === 'number' || /^\d+$/.test(ref)) {
    const id = Number(ref);
    if (id > 2147483647) return undefined;
    return q.where('id', '=', id).executeTakeFirst();
  }
  return q.where('full_path_key', '=', ref.toLowerCase()).executeTakeFirst();
}

export async function insertNamespace(db: Kysely<DB>, values: Omit<Namespace, 'id' | 'traversal_ids'>, parentTraversal: string): Promise<Namespace> {
  const row = await db
    .insertInto('namespaces')
    .values({ ...values, traversal_ids: parentTraversal })
    .returningAll()
    .executeTakeFirstOrThrow();
  const traversal_ids = `${parentTraversal}${row.id}/`;
  await db.updateTable('namespaces').set({ traversal_ids }).where('id', '=', row.id).execute();
  return { ...row, traversal_ids };
}

/** Highest access level the user holds on the namespace or any of its ancestors. */
export async function namespaceAccess(db: Kysely<DB>, ns: Namespace, userId: number): Promise<number> {
  const ids = ns.traversal_ids.split('/').filter(Boolean).map(Number);
  const row = await db
    .selectFrom('members')
    .select((e) => e.fn.max<number>('access_level').as('a'))
    .where('user_id', '=', userId)
    .where('source_type', '=', 'Namespace')
    .where('source_id', 'in', ids)
    .executeTakeFirst();
  return row?.a ?? 0;
}
