import { sql, type Kysely } from 'kysely';
import type { DB, Namespace, Project } from './schema.js';
import type { Page } from './page.js';

export const PROJECT_ORDERS = ['id', 'name', 'path', 'created_at', 'updated_at', 'last_activity_at'] as const;
export type ProjectOrder = (typeof PROJECT_ORDERS)[number];

export interface ProjectFilter {
  /** Who asks: null is anonymous. Admins see every project. */
  userId: number | null;
  admin: boolean;
  visibility?: number;
  /** Only projects the user is a member of, directly or through a group. */
  membership?: boolean;
  /** Only projects in the user's own namespace or in groups they own. */
  owned?: boolean;
  search?: string;
  /** Only projects of this group; with `subgroups`, of its descendants too. */
  group?: Namespace;
  subgroups?: boolean;
  orderBy?: ProjectOrder;
  sort?: 'asc' | 'desc';
}

export interface ListedProject {
  project: Project;
  namespace: Namespace;
  /** The user's own membership of the project, and the highest of its groups'. */
  ownAccess: number | null;
  groupAccess: number | null;
}

const COLUMN: Record<ProjectOrder, 'p.id' | 'p.name' | 'p.path' | 'p.created_at' | 'p.updated_at'> = {
  id: 'p.id', name: 'p.name', path: 'p.path', created_at: 'p.created_at', updated_at: 'p.updated_at', last_activity_at: 'p.updated_at',
};

/** `%` and `_` in a search are literal, as GitLab's. */
const likeLiteral = (term: string) => `%${term.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

function filtered(db: Kysely<DB>, f: ProjectFilter) {
  const uid = f.userId ?? 0;
  const own = sql<number | null>`(select max(m.access_level) from members m where m.user_id = ${uid} and m.source_type = 'Project' and m.source_id = p.id)`;
  const inherited = sql<number | null>`(select max(m.access_level) from members m where m.user_id = ${uid} and m.source_type = 'Namespace' and ('/' || n.traversal_ids) like ('%/' || m.source_id || '/%'))`;
  let q = db.selectFrom('projects as p').innerJoin('namespaces as n', 'n.id', 'p.namespace_id');
  if (!f.admin) {
    // The visibility rule of policy.canReadProject, as a condition: public, internal when signed in, or a member.
    q = q.where((e) => e.or([
      e('p.visibility', '=', 20),
      ...(f.userId !== null ? [e('p.visibility', '=', 10), e(sql<number | null>`coalesce(${own}, ${inherited}, 0)`, '>=', 10)] : []),
    ]));
  }
  if (f.visibility !== undefined) q = q.where('p.visibility', '=', f.visibility);
  if (f.membership) q = f.userId === null ? q.where(sql<boolean>`1 = 0`) : q.where(sql<number | null>`coalesce(${own}, ${inherited}, 0)`, '>=', 10);
  // GitLab's owned projects: those of the user's own namespace and of the groups they own.
  if (f.owned) q = f.userId === null ? q.where(sql<boolean>`1 = 0`) : q.where(sql<boolean>`((n.kind = 'user' and n.owner_id = ${f.userId}) or coalesce(${inherited}, 0) >= 50)`);
  if (f.search) {
    const term = likeLiteral(f.search);
    q = q.where(sql<boolean>`(lower(p.name) like ${term} escape '\\' or lower(p.path) like ${term} escape '\\')`);
  }
  if (f.group) {
    const g = f.group;
    q = f.subgroups ? q.where('n.traversal_ids', 'like', `${g.traversal_ids}%`) : q.where('p.namespace_id', '=', g.id);
  }
  return { q, own, inherited };
}

export async function listProjects(db: Kysely<DB>, f: ProjectFilter, page: Page): Promise<{ rows: ListedProject[]; total: number }> {
  const { q, own, inherited } = filtered(db, f);
  const direction = f.sort ?? 'desc';
  const [rows, count] = await Promise.all([
    q
      .selectAll('p')
      .select([
        'n.id as ns_id', 'n.name as ns_name', 'n.path as ns_path', 'n.full_path as ns_full_path', 'n.full_path_key as ns_full_path_key',
        'n.kind as ns_kind', 'n.parent_id as ns_parent_id', 'n.owner_id as ns_owner_id', 'n.visibility as ns_visibility',
        'n.description as ns_description', 'n.traversal_ids as ns_traversal_ids', 'n.created_at as ns_created_at',
        own.as('own_access'), inherited.as('group_access'),
      ])
      .orderBy(COLUMN[f.orderBy ?? 'created_at'], direction)
      .orderBy('p.id', direction)
      .limit(page.perPage)
      .offset(page.offset)
      .execute(),
    q.select(sql<string>`count(*)`.as('n')).executeTakeFirstOrThrow(),
  ]);
  return {
    rows: rows.map((r) => ({
      project: {
        id: r.id, namespace_id: r.namespace_id, name: r.name, path: r.path, full_path: r.full_path, full_path_key: r.full_path_key,
        description: r.description, visibility: r.visibility, creator_id: r.creator_id, created_at: r.created_at, updated_at: r.updated_at,
      },
      namespace: {
        id: r.ns_id, name: r.ns_name, path: r.ns_path, full_path: r.ns_full_path, full_path_key: r.ns_full_path_key, kind: r.ns_kind,
        parent_id: r.ns_parent_id, owner_id: r.ns_owner_id, visibility: r.ns_visibility, description: r.ns_description,
        traversal_ids: r.ns_traversal_ids, created_at: r.ns_created_at,
      },
      ownAccess: r.own_access === null ? null : Number(r.own_access),
      groupAccess: r.group_access === null ? null : Number(r.group_access),
    })),
    total: Number(count.n),
  };
}

/** The ids of the projects the filter lets through (a group's releases read them all). */
export async function projectIds(db: Kysely<DB>, f: ProjectFilter): Promise<number[]> {
  const { q } = filtered(db, f);
  return (await q.select('p.id').execute()).map((r) => r.id);
}

export async function projectPaths(db: Kysely<DB>, ids: number[]): Promise<Array<{ id: number; full_path: string }>> {
  if (ids.length === 0) return [];
  return db.selectFrom('projects').select(['id', 'full_path']).where('id', 'in', ids).execute();
}
