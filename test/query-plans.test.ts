import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CompiledQuery, Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import { tokenDigest } from '../src/services/tokens.js';
import type { Store } from '../src/store/db.js';
import * as links from '../src/store/links.js';
import { findEffectiveMember } from '../src/store/members.js';
import { findNamespace, namespaceAccess } from '../src/store/namespaces.js';
import { findProjectWithAccess } from '../src/store/projects.js';
import { statementName } from '../src/store/pg-statements.js';
import { findProjectRelease } from '../src/store/release-access.js';
import { listAllProtectedTags } from '../src/store/protected-tags.js';
import { listOrderedReleases } from '../src/store/release-lists.js';
import { findRelease, latestRelease } from '../src/store/releases.js';
import type { DB } from '../src/store/schema.js';
import { findTag } from '../src/store/tags.js';
import { findTokenByDigest } from '../src/store/tokens.js';
import { addMember, createGroup, createProject, createRelease, createUser, type TestUser } from './helpers/fixtures.js';
import { ROOT_TOKEN, startTestServer, type TestServer } from './helpers/server.js';

// The shape of performance that holds without a stopwatch: every query on the request path is
// answered through an index — no full scan of a table, whatever its size.
//
// SQLite: EXPLAIN QUERY PLAN must show SEARCH (an index with a constraint), never SCAN (a whole
// table, or a whole index walked end to end), and list queries must read in index order (no
// temporary B-tree to sort). The test store is fresh, never ANALYZEd: the planner then assumes
// large tables, which is the case that matters.
//
// PostgreSQL: a planner with a handful of rows rightly prefers a sequential scan, so the plans are
// taken with `enable_seqscan = off` and `enable_sort = off`. Those settings do not forbid a
// sequential scan or a sort, they only price them out: one that still shows up means no index
// can answer the query (or give its order). Every index scan must also have an Index Cond (an
// index walked end to end is a full scan too).

let server: TestServer;
let user: TestUser;
let projectId: number;
let projectPath: string;
let releaseId: number;
let linkId: number;
let groupTraversal: string;
let captureDb: Kysely<DB>;
const captured: CompiledQuery[] = [];

before(async () => {
  server = await startTestServer();
  user = await createUser(server);
  const group = await createGroup(server, 'plans');
  const project = await createProject(server, 'tool', { namespaceId: group.id });
  projectId = project.id;
  projectPath = project.path_with_namespace;
  await addMember(server, projectId, user.id, 30);
  const release = await createRelease(server, projectId, 'v1.0', [
    { name: 'a', url: 'https://example.com/a', direct_asset_path: '/bin/a' },
    { name: 'b', url: 'https://example.com/b' },
  ]);
  const protectedTag = await server.request('POST', `/api/v4/projects/${projectId}/protected_tags`, {
    token: ROOT_TOKEN,
    json: { name: 'v*', create_access_level: 40 },
  });
  assert.equal(protectedTag.status, 201, protectedTag.text);
  const store = server.running.store;
  releaseId = (await findRelease(store.db, projectId, 'v1.0'))!.id;
  linkId = release.assets.links[0].id;
  groupTraversal = (await findNamespace(store.db, group.id))!.traversal_ids;
  // A release as full as real ones get, so that a walk through all its links would cost something
  // the planner can see: PostgreSQL plans by row counts (autovacuum's ANALYZE keeps them current).
  await store.db
    .insertInto('release_links')
    .values(Array.from({ length: 300 }, (_, i) => ({ release_id: releaseId, name: `bulk-${i}`, url: `https://example.com/bulk-${i}`, filepath: `/bin/bulk-${i}`, link_type: 'other', created_at: '2024-01-01T00:00:00.000Z', updated_at: '2024-01-01T00:00:00.000Z' })))
    .execute();
  // And other releases' links, many more, as in any real table: a release's links are a small part of it.
  const others = await createRelease(server, projectId, 'v0.9');
  const othersId = (await findRelease(store.db, projectId, others.tag_name))!.id;
  await store.db
    .insertInto('release_links')
    .values(Array.from({ length: 2000 }, (_, i) => ({ release_id: othersId, name: `other-${i}`, url: `https://example.com/other-${i}`, filepath: null, link_type: 'other', created_at: '2024-01-01T00:00:00.000Z', updated_at: '2024-01-01T00:00:00.000Z' })))
    .execute();
  if (store.dialect === 'postgres') await sql`analyze release_links`.execute(store.db);
  captureDb = capturing(store);
});

after(async () => server.close());

/** A second Kysely on the store's own connection(s) that records every query it runs. */
function capturing(store: Store): Kysely<DB> {
  const dialect = store.dialect === 'sqlite' ? new SqliteDialect({ database: store.sqlite! }) : new PostgresDialect({ pool: store.pool! });
  return new Kysely<DB>({
    dialect,
    log: (event) => {
      if (event.level === 'query') captured.push(event.query);
    },
  });
}

/** Runs `call` and returns the queries it sent. */
async function queriesOf(call: (db: Kysely<DB>) => Promise<unknown>): Promise<CompiledQuery[]> {
  captured.length = 0;
  await call(captureDb);
  assert.ok(captured.length > 0, 'the call sent no query');
  return captured.splice(0);
}

interface Verdict {
  plan: string;
  problems: string[];
}

interface PlanOptions {
  /** A list: must read in index order, not sort. */
  ordered?: boolean;
  /** Index lookups on this table must each use one of these columns, not merely walk a wider range. */
  probes?: { table: string; columns: string[] };
}

function sqlitePlan(query: CompiledQuery, { ordered = false, probes }: PlanOptions): Verdict {
  const rows = server.running.store.sqlite!.prepare(`explain query plan ${query.sql}`).all(...(query.parameters as unknown[])) as { detail: string }[];
  const problems: string[] = [];
  for (const { detail } of rows) {
    if (/^SCAN /.test(detail) && detail !== 'SCAN CONSTANT ROW') problems.push(`full scan: ${detail}`);
    if (ordered && /TEMP B-TREE FOR ORDER BY/.test(detail)) problems.push(`sorts instead of reading in index order: ${detail}`);
    if (probes && detail.startsWith(`SEARCH ${probes.table} `) && !probes.columns.some((c) => detail.includes(`${c}=?`))) {
      problems.push(`walks a range instead of probing ${probes.columns.join('/')}: ${detail}`);
    }
  }
  return { plan: rows.map((r) => r.detail).join('\n'), problems };
}

interface PgNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Index Cond'?: string;
  Plans?: PgNode[];
}

type PgClient = Awaited<ReturnType<NonNullable<Store['pool']>['connect']>>;

async function postgresPlan(query: CompiledQuery, options: PlanOptions): Promise<Verdict> {
  const custom = await postgresPlanOf(options, (client) => client.query(`explain (format json) ${query.sql}`, query.parameters as unknown[]));
  if (statementName(query.sql) === undefined) return custom;
  // A named statement (src/store/pg-statements.ts) may run on PostgreSQL's generic plan, made once
  // without the values, instead of a plan for each run's values: that plan must be indexed too.
  // (PostgreSQL 15 has no EXPLAIN (GENERIC_PLAN); a generic plan does not depend on the values,
  // so NULLs stand for them.)
  const values = query.parameters.length ? `(${query.parameters.map(() => 'null').join(', ')})` : '';
  const generic = await postgresPlanOf(
    options,
    async (client) => {
      await client.query('set local plan_cache_mode = force_generic_plan');
      await client.query(`prepare plan_probe as ${query.sql}`);
      return client.query(`explain (format json) execute plan_probe${values}`);
    },
    // A prepared statement outlives the transaction, and this connection goes back to the server's pool.
    (client) => client.query('deallocate plan_probe').catch(() => {}),
  );
  return {
    plan: `custom plan:\n${custom.plan}\ngeneric plan:\n${generic.plan}`,
    problems: [...custom.problems, ...generic.problems.map((p) => `generic plan: ${p}`)],
  };
}

async function postgresPlanOf(
  { ordered = false, probes }: PlanOptions,
  explain: (client: PgClient) => Promise<{ rows: Record<string, unknown>[] }>,
  cleanUp?: (client: PgClient) => Promise<unknown>,
): Promise<Verdict> {
  const client = await server.running.store.pool!.connect();
  try {
    await client.query('begin');
    await client.query('set local enable_seqscan = off');
    if (ordered) await client.query('set local enable_sort = off');
    const { rows } = await explain(client);
    await client.query('rollback');
    const root = (rows[0]['QUERY PLAN'] as { Plan: PgNode }[])[0].Plan;
    const problems: string[] = [];
    const walk = (node: PgNode) => {
      const type = node['Node Type'];
      if (type === 'Seq Scan') problems.push(`full scan: Seq Scan on ${node['Relation Name']}`);
      if (/Index( Only)? Scan$/.test(type) && !node['Index Cond']) problems.push(`index walked end to end: ${type} using ${node['Index Name']}`);
      if (ordered && type === 'Sort') problems.push('sorts instead of reading in index order');
      const cond = node['Index Cond'] ?? '';
      if (probes && node['Index Name']?.startsWith(`${probes.table}_`) && !probes.columns.some((c) => cond.includes(`(${c} =`))) {
        problems.push(`walks a range instead of probing ${probes.columns.join('/')}: ${type} using ${node['Index Name']} (${cond})`);
      }
      for (const child of node.Plans ?? []) walk(child);
    };
    walk(root);
    return { plan: JSON.stringify(root, null, 1), problems };
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  } finally {
    await cleanUp?.(client);
    client.release();
  }
}

async function assertIndexed(name: string, call: (db: Kysely<DB>) => Promise<unknown>, options: PlanOptions = {}) {
  await assertPlans(name, await queriesOf(call), options);
}

async function assertPlans(name: string, queries: CompiledQuery[], options: PlanOptions = {}) {
  for (const query of queries) {
    const verdict = server.store.kind === 'sqlite' ? sqlitePlan(query, options) : await postgresPlan(query, options);
    if (process.env.SHOW_PLANS) console.log(`--- ${name}\n${query.sql}\n${verdict.plan}`);
    assert.deepEqual(verdict.problems, [], `${name}\n${query.sql}\n${verdict.plan}`);
  }
}

const page = { page: 2, perPage: 20, offset: 20 };

test('project by id, with the access level of a member (own and inherited memberships)', () =>
  assertIndexed('project by id', (db) => findProjectWithAccess(db, String(projectId), user.id)));

test('project by full path, with the access level of a member', () =>
  assertIndexed('project by path', (db) => findProjectWithAccess(db, projectPath.toUpperCase(), user.id)));

test('project by id and by path, anonymous', async () => {
  await assertIndexed('project by id, anonymous', (db) => findProjectWithAccess(db, String(projectId), null));
  await assertIndexed('project by path, anonymous', (db) => findProjectWithAccess(db, projectPath, null));
});

test('project, access level, release and link together: the first query of every release and link request', async () => {
  await assertIndexed('project + release by id', (db) => findProjectRelease(db, String(projectId), user.id, 'v1.0'));
  await assertIndexed('project + release + link by id', (db) => findProjectRelease(db, String(projectId), user.id, 'v1.0', linkId));
  await assertIndexed('project + release + link by path', (db) => findProjectRelease(db, projectPath, user.id, 'v1.0', linkId));
  await assertIndexed('project + release + link, anonymous', (db) => findProjectRelease(db, projectPath, null, 'v1.0', linkId));
});

test('personal access token by digest, with its user', () =>
  assertIndexed('token by digest', (db) => findTokenByDigest(db, tokenDigest(user.token))));

test('release by project and tag', () => assertIndexed('release by tag', (db) => findRelease(db, projectId, 'v1.0')));

test('link by id within its release, as the link requests look it up (with its project and release)', () =>
  assertIndexed('link by id', async (db) => {
    const found = await findProjectRelease(db, String(projectId), user.id, 'v1.0', linkId);
    assert.equal(found?.link?.id, linkId);
    assert.equal(found?.link?.release_id, releaseId);
  }));

test('a page of links, newest first, and their count (past the last page too)', async () => {
  await assertIndexed('link page', (db) => links.listLinks(db, releaseId, page), { ordered: true });
  await assertIndexed('link page past the end', (db) => links.listLinks(db, releaseId, { page: 100, perPage: 20, offset: 1980 }), { ordered: true });
});

test('a page of links in the order given (link_order=given), and the links of a page of releases in that order', async () => {
  await assertIndexed('link page, given order', (db) => links.listLinks(db, releaseId, page, 'given'), { ordered: true });
  await assertIndexed('link page past the end, given order', (db) => links.listLinks(db, releaseId, { page: 100, perPage: 20, offset: 1980 }, 'given'), { ordered: true });
  await assertIndexed('links of releases, given order', (db) => links.linksOfReleases(db, [releaseId, releaseId + 1], 'given'));
});

test('replacing a release\'s links: its links locked, the old ones deleted by id', async () => {
  await assertIndexed('links of a release, locked', (db) => links.lockedLinksOf(db, releaseId));
  await assertIndexed('links deleted', (db) => links.deleteLinks(db, [987654, 987655]));
});

test('the uniqueness check of a new or changed link probes the unique indexes, not the whole release', async () => {
  // A release may hold 1000 links: walking them all on every create would grow with the release.
  const probes = { table: 'release_links', columns: ['name', 'url', 'filepath'] };
  await assertIndexed('link clashes', (db) => links.findClashes(db, releaseId, { name: 'x', url: 'https://example.com/x', filepath: '/bin/x' }), { probes });
  await assertIndexed('link clashes on update', (db) => links.findClashes(db, releaseId, { name: 'x' }, linkId), { probes });
});

test('a page of releases, newest first, their count, and the latest release', async () => {
  await assertIndexed('release page', (db) => listOrderedReleases(db, [projectId], page), { ordered: true });
  await assertIndexed('latest release', (db) => latestRelease(db, projectId), { ordered: true });
});

test('the links of a page of releases', () => assertIndexed('links of releases', (db) => links.linksOfReleases(db, [releaseId, releaseId + 1])));

test('protected tag rules of a project, and a tag by name', async () => {
  await assertIndexed('protected tags', (db) => listAllProtectedTags(db, projectId));
  await assertIndexed('tag by name', (db) => findTag(db, projectId, 'v1.0'));
});

test('membership lookups: inherited access in a namespace, and the effective member of a project', async () => {
  const namespace = { ...(await findNamespace(server.running.store.db, projectPath.split('/')[0]))!, traversal_ids: groupTraversal };
  await assertIndexed('namespace access', (db) => namespaceAccess(db, namespace, user.id));
  await assertIndexed('effective member', (db) => findEffectiveMember(db, projectId, groupTraversal, user.id));
});

test('every foreign key column has an index: deleting what it points at never scans the referencing table', async () => {
  const db = server.running.store.db;
  const foreignKeys =
    server.store.kind === 'sqlite'
      ? (
          await sql<{ table_name: string; column_name: string }>`
            select m.name as table_name, f."from" as column_name
            from sqlite_master m, pragma_foreign_key_list(m.name) f
            where m.type = 'table'`.execute(db)
        ).rows
      : (
          await sql<{ table_name: string; column_name: string }>`
            select k.table_name, k.column_name
            from information_schema.table_constraints c
            join information_schema.key_column_usage k on k.constraint_name = c.constraint_name and k.table_schema = c.table_schema
            where c.constraint_type = 'FOREIGN KEY' and c.table_schema = current_schema()`.execute(db)
        ).rows;
  assert.ok(foreignKeys.length >= 10, `found only ${foreignKeys.length} foreign keys`);
  for (const { table_name, column_name } of foreignKeys) {
    const placeholder = server.store.kind === 'sqlite' ? '?' : '$1';
    await assertPlans(`${table_name}.${column_name}`, [CompiledQuery.raw(`select 1 from ${table_name} where ${column_name} = ${placeholder}`, [1])]);
  }
});
