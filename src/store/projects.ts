import { sql, type Kysely } from 'kysely';
import type { DB, Project } from './schema.js';

export interface ProjectRow extends Project {
  access_level: number | null;
}

/**
 * Finds a project by id or full path (case-insensitive) together with the user's effective access
 * level (own membership or any ancestor group's), in one query.
 */
export async function findProjectWithAccess(db: Kysely<DB>, ref: string, userId: number | null): Promise<ProjectRow | undefined> {
  let query = db
    .selectFrom('projects as p')
    .innerJoin('namespaces as n', 'n.id', 'p.namespace_id')
    .selectAll('p')
    .select((eb) =>
      (userId === null
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
    );
  if (/^\d+$/.test(ref)) {
    if (Number(ref) > 2147483647) return undefined;
    query = query.where('p.id', '=', Number(ref));
  } else {
    query = query.where('p.full_path_key', '=', ref.toLowerCase());
  }
  return (await query.executeTakeFirst()) as ProjectRow | undefined;
}

export async function insertProject(db: Kysely<DB>, values: Omit<Project, 'id'>): Promise<Project> {
  return db.insertInto('projects').values(values).returningAll().executeTakeFirstOrThrow();
}

export async function deleteProject(db: Kysely<DB>, id: number): Promise<void> {
  await db.deleteFrom('projects').where('id', '=', id).execute();
}
