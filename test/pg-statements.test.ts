import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { openStore, type Store } from '../src/store/db.js';
import { isStalePlan } from '../src/store/errors.js';
import { migrate } from '../src/store/migrate.js';
import { statementName } from '../src/store/pg-statements.js';
import { findRelease } from '../src/store/releases.js';
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

const releaseLookup = (rows: PreparedRow[]) => rows.filter((r) => /^select \* from "releases" where "project_id" = \$1 and "tag_name" = \$2$/.test(r.statement));

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

test('a named statement made stale by a migration (a column added) is prepared anew: run again outside a transaction, failed once inside one', async () => {
  await findRelease(store.db, 1, 'v1');
  const [{ statement: text, name: first }] = releaseLookup(await preparedOn(store.db));
  try {
    // PostgreSQL refuses to run a prepared `select *` whose columns changed: the lookup is then
    // given a new name and run once more, which prepares it with the new columns.
    await sql`alter table releases add column stale_a text`.execute(store.db);
    assert.equal(await findRelease(store.db, 1, 'v1'), undefined);
    const second = statementName(text);
    assert.notEqual(second, first);

    // In a transaction the refusal has aborted the transaction, so nothing is run again there;
    // the next use, in a transaction or not, prepares it under yet another name and succeeds.
    await sql`alter table releases add column stale_b text`.execute(store.db);
    await assert.rejects(
      store.db.transaction().execute((trx) => findRelease(trx, 1, 'v1')),
      (error) => isStalePlan(error),
    );
    assert.notEqual(statementName(text), second);
    assert.equal(await store.db.transaction().execute((trx) => findRelease(trx, 1, 'v1')), undefined);
    assert.equal(await findRelease(store.db, 1, 'v1'), undefined);
    assert.ok(
      releaseLookup(await preparedOn(store.db)).some((r) => r.name === statementName(text)),
      'the current name is prepared on the connection',
    );
  } finally {
    await sql`alter table releases drop column if exists stale_a, drop column if exists stale_b`.execute(store.db);
  }
});
