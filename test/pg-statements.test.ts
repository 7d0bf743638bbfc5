import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { openStore, type Store } from '../src/store/db.js';
import { isStalePlan } from '../src/store/errors.js';
import { deleteLink, insertLink } from '../src/store/links.js';
import { migrate } from '../src/store/migrate.js';
import { statementName } from '../src/store/pg-statements.js';
import { prepared } from '../src/store/prepared.js';
import { findProjectWithAccess } from '../src/store/projects.js';
import { listAllProtectedTags } from '../src/store/protected-tags.js';
import { findProjectRelease } from '../src/store/release-access.js';
import { findRelease } from '../src/store/releases.js';
import { findSessionByDigest } from '../src/store/sessions.js';
import { findTokenByDigest } from '../src/store/tokens.js';
import type { DB } from '../src/store/schema.js';
import { createTestStore, type TestStore } from './helpers/store.js';

// The hot queries run as named statements on PostgreSQL (src/store/pg-statements.ts). Named
// statements are PostgreSQL's alone, so this runs on PostgreSQL in both runs of the suite.

let testStore: TestStore;
let store: Store;

before(async () => {
  testStore = await createTestStore('postgres');
  // One connection: every query here, pg_prepared_statements included, is on the same one.
  store = openStore({ databaseUrl: testStore.databaseUrl, poolMax: 1 });
  await migrate(store);
});

after(async () => {
  await store?.close();
  await testStore?.drop();
});

interface PreparedRow {
  name: string;
  statement: string;
  runs: number;
}

/** The statements prepared on the connection `db` runs this on, and how often each was run. */
async function preparedOn(db: Kysely<DB>): Promise<PreparedRow[]> {
  const { rows } = await sql<PreparedRow>`
    select name, statement, (generic_plans + custom_plans)::int as runs from pg_prepared_statements`.execute(db);
  return rows;
}

const releaseLookup = (rows: PreparedRow[]) => rows.filter((r) => /^select "id", .* from "releases" where "project_id" = \$1 and "tag_name" = \$2$/.test(r.statement));

test('a hot query is prepared once on a connection, under its name, and then run by that name', async () => {
  for (let i = 0; i < 3; i++) assert.equal(await findRelease(store.db, 1, 'v1'), undefined);
  const found = releaseLookup(await preparedOn(store.db));
  assert.equal(found.length, 1, JSON.stringify(found));
  assert.equal(found[0].name, statementName(found[0].statement));
  assert.equal(found[0].runs, 3);
});

test('a pool connection that has not run it yet prepares it on first use', async () => {
  const two = openStore({ databaseUrl: testStore.databaseUrl, poolMax: 2 });
  try {
    await findRelease(two.db, 1, 'v1');
    // pg's pool hands out the connection released last: the one that just prepared the lookup.
    const held = await two.pool!.connect();
    try {
      const { rows } = await held.query<PreparedRow>('select name, statement, (generic_plans + custom_plans)::int as runs from pg_prepared_statements');
      assert.equal(releaseLookup(rows).length, 1, 'the held connection is the one that prepared it');
      // The pool's other connection runs it now, and the statements listed are that connection's.
      assert.equal(await findRelease(two.db, 1, 'v2'), undefined);
      const other = releaseLookup(await preparedOn(two.db));
      assert.deepEqual(other.map((r) => r.runs), [1]);
    } finally {
      held.release();
    }
  } finally {
    await two.close();
  }
});

const at = '2024-01-01T00:00:00.000Z';

/** A user with a token and a session, and a project with a protected tag and a release with a link. */
async function seed(db: Kysely<DB>) {
  const user = await db
    .insertInto('users')
    .values({ username: 'u', username_key: 'u', name: 'U', email: 'u@x.test', email_key: 'u@x.test', is_admin: 0, state: 'active', password_digest: null, namespace_id: null, created_at: at })
    .returning('id')
    .executeTakeFirstOrThrow();
  const ns = await db
    .insertInto('namespaces')
    .values({ name: 'g', path: 'g', full_path: 'g', full_path_key: 'g', kind: 'group', parent_id: null, owner_id: null, visibility: 20, description: '', traversal_ids: '', created_at: at })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db.updateTable('namespaces').set({ traversal_ids: `${ns.id}/` }).where('id', '=', ns.id).execute();
  const project = await db
    .insertInto('projects')
    .values({ namespace_id: ns.id, name: 'p', path: 'p', full_path: 'g/p', full_path_key: 'g/p', description: '', visibility: 20, creator_id: user.id, created_at: at, updated_at: at })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db.insertInto('members').values({ source_type: 'Project', source_id: project.id, user_id: user.id, access_level: 40, expires_at: null, created_at: at }).execute();
  await db.insertInto('protected_tags').values({ project_id: project.id, name: 'v*', create_access_level: 40, created_at: at }).execute();
  const release = await db
    .insertInto('releases')
    .values({ project_id: project.id, tag_name: 'v1', name: 'One', description: '', author_id: user.id, released_at: at, created_at: at, updated_at: at })
    .returning('id')
    .executeTakeFirstOrThrow();
  const link = await db
    .insertInto('release_links')
    .values({ release_id: release.id, name: 'bin', url: 'https://x.test/bin', filepath: null, link_type: 'other', created_at: at, updated_at: at })
    .returning('id')
    .executeTakeFirstOrThrow();
  const token = await db
    .insertInto('personal_access_tokens')
    .values({ user_id: user.id, name: 't', token_digest: 'token-digest', scopes: 'api', expires_at: null, revoked: 0, last_used_at: null, created_at: at })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db
    .insertInto('web_sessions')
    .values({ session_digest: 'session-digest', user_id: user.id, token_id: token.id, scopes: 'api', csrf_token: 'c', created_at: at, last_seen_at: at, expires_at: at })
    .execute();
  return { userId: user.id, projectId: project.id, releaseId: release.id, linkId: link.id };
}

type Seeded = Awaited<ReturnType<typeof seed>>;

/** Every table the named statements read, and each named statement once (the link insert included: it returns the row). */
const TABLES = ['users', 'projects', 'protected_tags', 'releases', 'release_links', 'personal_access_tokens', 'web_sessions'];

async function hotQueries(db: Kysely<DB>, s: Seeded) {
  const inserted = await insertLink(db, { release_id: s.releaseId, name: 'tmp', url: 'https://x.test/tmp', filepath: null, link_type: 'other', created_at: at, updated_at: at });
  await deleteLink(db, inserted.id);
  const { id: _id, ...insertedLink } = inserted;
  return {
    release: await findRelease(db, s.projectId, 'v1'),
    project: await findProjectWithAccess(db, String(s.projectId), s.userId),
    projectRelease: await findProjectRelease(db, 'g/p', s.userId, 'v1', s.linkId),
    token: await findTokenByDigest(db, 'token-digest'),
    session: await findSessionByDigest(db, 'session-digest'),
    protectedTags: await listAllProtectedTags(db, s.projectId),
    insertedLink,
  };
}

const named = (rows: PreparedRow[]) => rows.filter((r) => r.name.startsWith('relinks_'));

test('a column added by a migration leaves the named statements working, in a transaction too: they name their columns, so PostgreSQL only plans them again', async () => {
  const s = await seed(store.db);
  const before = await hotQueries(store.db, s);
  assert.equal(before.release?.tag_name, 'v1');
  assert.equal(before.projectRelease?.link?.id, s.linkId);
  assert.equal(before.token?.user.id, s.userId);
  assert.equal(before.session?.user.id, s.userId);
  assert.equal(before.protectedTags.length, 1);
  const prepared = named(await preparedOn(store.db));
  assert.ok(prepared.length >= 7, JSON.stringify(prepared));
  for (const r of prepared) assert.doesNotMatch(r.statement, /(select|returning|,)\s+("[^"]+"\.)?\*/, 'a named statement lists its columns');

  try {
    // A default gives every existing row a value: were it read, the rows would differ.
    for (const t of TABLES) await sql`alter table ${sql.table(t)} add column added_a text not null default 'a'`.execute(store.db);
    // Inside a transaction first: there a refused statement would have aborted it, nothing to retry.
    assert.deepEqual(await store.db.transaction().execute((trx) => hotQueries(trx, s)), before);
    assert.deepEqual(await hotQueries(store.db, s), before);

    for (const t of TABLES) await sql`alter table ${sql.table(t)} add column added_b text not null default 'b'`.execute(store.db);
    assert.deepEqual(await hotQueries(store.db, s), before);
    assert.deepEqual(await store.db.transaction().execute((trx) => hotQueries(trx, s)), before);

    // Still the same statements under the same names (none was refused and renamed), each run four times more.
    const after = named(await preparedOn(store.db));
    for (const r of prepared) {
      assert.equal(statementName(r.statement), r.name, r.statement);
      assert.equal(after.find((a) => a.name === r.name)?.runs, r.runs + 4, r.statement);
    }
  } finally {
    for (const t of TABLES) await sql`alter table ${sql.table(t)} drop column if exists added_a, drop column if exists added_b`.execute(store.db);
  }
});

test('a named statement may not select or return *', async () => {
  const starred = prepared((db, id: number) => db.selectFrom('releases').selectAll().where('id', '=', id));
  await assert.rejects(starred(store.db, 1), /must name its columns/);
  const returningStar = prepared((db, id: number) => db.updateTable('releases').set({ name: 'x' }).where('id', '=', id).returningAll());
  await assert.rejects(returningStar(store.db, 1), /must name its columns/);
  // Unnamed, it may: PostgreSQL plans an unnamed statement for each run.
  const unnamed = prepared((db, id: number) => db.selectFrom('releases').selectAll().where('id', '=', id), { namedOnPostgres: false });
  assert.deepEqual(await unnamed(store.db, 0), []);
});

test('a migration that changes the type of a column a named statement returns: renamed and run again outside a transaction, failed once inside one', async () => {
  const { id: projectId } = await store.db.selectFrom('projects').select('id').where('full_path_key', '=', 'g/p').executeTakeFirstOrThrow();
  await findRelease(store.db, projectId, 'v1');
  const [{ statement: text, name: first }] = releaseLookup(await preparedOn(store.db));
  try {
    // The result type changed: PostgreSQL refuses the prepared statement, which is then given a
    // new name and run once more, which prepares it with the new type.
    await sql`alter table releases alter column description type varchar(10000)`.execute(store.db);
    assert.equal((await findRelease(store.db, projectId, 'v1'))?.tag_name, 'v1');
    const second = statementName(text);
    assert.notEqual(second, first);

    // In a transaction the refusal has aborted the transaction, so nothing is run again there;
    // the next use, in a transaction or not, prepares it under yet another name and succeeds.
    await sql`alter table releases alter column description type text`.execute(store.db);
    await assert.rejects(
      store.db.transaction().execute((trx) => findRelease(trx, projectId, 'v1')),
      (error) => isStalePlan(error),
    );
    assert.notEqual(statementName(text), second);
    assert.equal((await store.db.transaction().execute((trx) => findRelease(trx, projectId, 'v1')))?.tag_name, 'v1');
    assert.equal((await findRelease(store.db, projectId, 'v1'))?.tag_name, 'v1');
    assert.ok(
      releaseLookup(await preparedOn(store.db)).some((r) => r.name === statementName(text)),
      'the current name is prepared on the connection',
    );
  } finally {
    await sql`alter table releases alter column description type text`.execute(store.db);
  }
});
