import { sql, type Kysely } from 'kysely';
import { PROJECT_COLUMNS, qualified } from './columns.js';
import { prepared } from './prepared.js';
import type { DB, Project } from './schema.js';

export interface ProjectRow extends Project {
  access_level: number | null;
}

export type ProjectKey = 'p.id' | 'p.full_path_key';

/**
 * The user's effective access level on project `p` (namespace `n`): the highest of their own
 * membership and any ancestor group's. One correlated subquery on members(user_id, ...).
 */
export const accessLevelOf = (userId: number | null) =>
  userId === null
    ? sql<number | null>`null`
    : sql<number | null>`(select max(m.access_level) from members m where m.user_id = ${userId} and ((m.source_type = 'Project' and m.source_id = p.id) or (m.source_type = 'Namespace' and ('/' || n.traversal_ids) like ('%/' || m.source_id || '/%'))))`;

/** The project row and the user's access level; `userId` null (anonymous) has none. */
const projectQuery = (key: ProjectKey, withUser: boolean) =>
  prepared((db, ref: number | string, userId: number) =>
    db
      .selectFrom('projects as p')
      .innerJoin('namespaces as n', 'n.id', 'p.namespace_id')
      .select(qualified('p', PROJECT_COLUMNS))
      .select(accessLevelOf(withUser ? userId : null).as('access_level'))
      .where(key, '=', ref as never),
  );

const projectQueries = {
  byIdForUser: projectQuery('p.id', true),
  byIdAnonymous: projectQuery('p.id', false),
  byPathForUser: projectQuery('p.full_path_key', true),
  byPathAnonymous: projectQuery('p.full_path_key', false),
};

/**
 * Finds a project by id or full path (case-insensitive) together with the user's effective access
 * level (own membership or any ancestor group's), in one query.
 */
export async function findProjectWithAccess(db: Kysely<DB>, ref: string, userId: number | null): Promise<ProjectRow | undefined> {
  const byId = /^\d+$/.test(ref);
  if (byId && Number(ref) > 2147483647) return undefined;
  const query = byId
    ? userId === null ? projectQueries.byIdAnonymous : projectQueries.byIdForUser
    : userId === null ? projectQueries.byPathAnonymous : projectQueries.byPathForUser;
  const rows = await query(db, byId ? Number(ref) : ref.toLowerCase(), userId ?? 0);
  return rows[0] as ProjectRow | undefined;
}

export async function insertProject(db: Kysely<DB>, values: Omit<Project, 'id'>): Promise<Project> {
  return db.insertInto('projects').values(values).returningAll().executeTakeFirstOrThrow();
}

export async function deleteProject(db: Kysely<DB>, id: number): Promise<void> {
  await db.deleteFrom('projects').where('id', '=', id).execute();
}
