import { sql, type Kysely } from 'kysely';
import { LINK_COLUMNS, PROJECT_COLUMNS, qualified, RELEASE_COLUMNS } from './columns.js';
import { prepared } from './prepared.js';
import { accessLevelOf, type ProjectKey, type ProjectRow } from './projects.js';
import type { DB, Release, ReleaseLink } from './schema.js';

// Every release and link request starts with the same lookups: the project with the caller's access
// level, the release by tag, and often one link by id. Asked one after another they cost a round
// trip each (three on PostgreSQL, three statements on SQLite); this asks them in one query, left
// joins leaving release or link empty when they do not exist. The checks that decide between
// 404 Project, 403 and 404 stay in the services, in GitLab's order.

// Joined columns come back as __r_<column> and __l_<column>, apart from the project's own.
const keyOf = (table: 'r' | 'l', column: string) => `__${table}_${column}`;
const aliased = (table: 'r' | 'l', columns: readonly string[]) => columns.map((c) => sql.ref(`${table}.${c}`).as(keyOf(table, c)));

const query = (key: ProjectKey, withUser: boolean, withLink: boolean) =>
  prepared((db, ref: number | string, userId: number, tagName: string, linkId: number) => {
    const base = db
      .selectFrom('projects as p')
      .innerJoin('namespaces as n', 'n.id', 'p.namespace_id')
      .leftJoin('releases as r', (join) => join.onRef('r.project_id', '=', 'p.id').on('r.tag_name', '=', tagName));
    const withLinkJoin = withLink
      ? base.leftJoin('release_links as l', (join) => join.onRef('l.release_id', '=', 'r.id').on('l.id', '=', linkId))
      : base;
    return withLinkJoin
      .select(qualified('p', PROJECT_COLUMNS))
      .select(accessLevelOf(withUser ? userId : null).as('access_level'))
      // Most projects protect no tag: a write can then skip reading the rules.
      .select(sql<number | string>`(select count(*) from protected_tags pt where pt.project_id = p.id)`.as('__protected_tags'))
      .select(aliased('r', RELEASE_COLUMNS))
      .$if(withLink, (q) => q.select(aliased('l', LINK_COLUMNS)))
      .where(key, '=', ref as never);
  });

const queries = new Map<string, ReturnType<typeof query>>();
const queryFor = (key: ProjectKey, withUser: boolean, withLink: boolean) => {
  const name = `${key}/${withUser}/${withLink}`;
  let q = queries.get(name);
  if (!q) queries.set(name, (q = query(key, withUser, withLink)));
  return q;
};

export interface ProjectReleaseRow {
  project: ProjectRow;
  release: Release | undefined;
  /** Only when a link id was asked for. */
  link: ReleaseLink | undefined;
  /** How many protected tag rules the project has. */
  protectedTags: number;
}

const MAX_ID = 2147483647;

/** The row keys of a joined table's columns, made once: `__r_id`, `__r_name`... */
const keysOf = (table: 'r' | 'l', columns: readonly string[]) => columns.map((c) => [c, keyOf(table, c)] as const);
const RELEASE_KEYS = keysOf('r', RELEASE_COLUMNS);
const LINK_KEYS = keysOf('l', LINK_COLUMNS);

function pick<T>(row: Record<string, unknown>, keys: readonly (readonly [string, string])[]): T | undefined {
  if (row[keys[0][1]] === null || row[keys[0][1]] === undefined) return undefined;
  const out: Record<string, unknown> = {};
  for (const [column, key] of keys) out[column] = row[key];
  return out as T;
}

/**
 * The project (by id or full path) with the user's access level, its release `tagName`, and when
 * `linkId` is given that release's link; undefined when the project does not exist.
 */
export async function findProjectRelease(
  db: Kysely<DB>,
  ref: string,
  userId: number | null,
  tagName: string,
  linkId?: number,
): Promise<ProjectReleaseRow | undefined> {
  const byId = /^\d+$/.test(ref);
  if (byId && Number(ref) > MAX_ID) return undefined;
  // An id outside 1..2^31-1 names no link (and PostgreSQL would refuse to compare it with one).
  const withLink = linkId !== undefined && linkId >= 1 && linkId <= MAX_ID;
  const run = queryFor(byId ? 'p.id' : 'p.full_path_key', userId !== null, withLink);
  const [row] = (await run(db, byId ? Number(ref) : ref.toLowerCase(), userId ?? 0, tagName, withLink ? linkId! : 0)) as Record<string, unknown>[];
  if (!row) return undefined;
  const project: Record<string, unknown> = {};
  for (const c of PROJECT_COLUMNS) project[c] = row[c];
  project.access_level = row.access_level;
  return {
    project: project as unknown as ProjectRow,
    release: pick<Release>(row, RELEASE_KEYS),
    link: withLink ? pick<ReleaseLink>(row, LINK_KEYS) : undefined,
    protectedTags: Number(row.__protected_tags),
  };
}
