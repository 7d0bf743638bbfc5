import { sql, type Kysely } from 'kysely';
import { prepared } from './prepared.js';
import type { DB, Project } from './schema.js';

export interface ProjectRow extends Project {
  access_level: number | null;
}

type ProjectKey = 'p.id' | 'p.full_path_key';

/** The project row and the user's access level; `userId` null (anonymous) has none. */
const projectQuery = (key: ProjectKey, withUser: boolean) =>
  prepared((db, ref: number | string, userId: number) =>
    db
      .selectFrom('projects as p')
      .innerJoin('namespaces as n', 'n.id', 'p.namespace_id')
      .selectAll('p')
      .select((eb) =>
        (!withUser
          ? sql<number | null>`null`
          : eb
              .selectFrom('members as m')
              .select((e) => e.fn.max<number>('m.access_level').as('a'))
              .where('m.user_id', '=', userId)
              .where((e) =>
                e.or([
                  e.and([e('m.source_type', '=', 'Project'), e('m.source_id', '=', e.ref('p.id'))]),
                  e.and([
                    e('m.source_type', '=', 'Namespace'),
                    sql<boolean>`('/' || n.traversal_ids) like ('%/' || m.source_id || '/%')`,
                  ]),
                ]),
              )
        ).as('access_level'),
      )
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
