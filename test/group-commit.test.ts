import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import SQLite from 'better-sqlite3';
import { sql, type Kysely } from 'kysely';
import { openStore, type Store } from '../src/store/db.js';
import { afterCommit } from '../src/store/after-commit.js';
import { groupCommit } from '../src/store/group-commit.js';
import { migrate } from '../src/store/migrate.js';
import type { DB } from '../src/store/schema.js';
import { ROOT_TOKEN } from './helpers/server.js';
import { createTestStore, type TestStore } from './helpers/store.js';
import { inBatches, queryStore, startInstance, stopAll, type Instance } from './helpers/cluster.js';

// Store.write is the one door for durable writes. On SQLite it is a group commit (units of one
// event-loop turn share a transaction and its fsync, each under a savepoint); on PostgreSQL one
// transaction per unit. Either way: a unit's promise settles only after its COMMIT, a failing unit
// fails alone; on SQLite, units also apply in the order they were submitted.

const at = '2024-01-01T00:00:00.000Z';

/** A user row: the smallest table with a unique index to trip over. */
const addUser = (db: Kysely<DB>, name: string) =>
  db
    .insertInto('users')
    .values({ username: name, username_key: name, name, email: `${name}@example.com`, email_key: `${name}@example.com`, is_admin: 0, state: 'active', password_digest: null, namespace_id: null, created_at: at })
    .returning('id')
    .executeTakeFirstOrThrow();

const namesIn = async (db: Kysely<DB>, prefix: string) =>
  (await db.selectFrom('users').select('username').where('username', 'like', `${prefix}%`).orderBy('id').execute()).map((r) => r.username);

describe('Store.write on the test store', () => {
  let testStore: TestStore;
  let store: Store;
  before(async () => {
    testStore = await createTestStore();
    store = openStore({ databaseUrl: testStore.databaseUrl });
    await migrate(store);
  });
  after(async () => {
    await store.close();
    await testStore.drop();
  });

  test('a failing unit rejects alone: the units around it commit', async () => {
    const results = await Promise.allSettled([
      store.write((trx) => addUser(trx, 'iso-a')),
      store.write(async (trx) => {
        await addUser(trx, 'iso-partial');
        await addUser(trx, 'iso-a'); // unique violation after a first write of its own
      }),
      store.write((trx) => addUser(trx, 'iso-b')),
    ]);
    assert.equal(results[0].status, 'fulfilled');
    assert.equal(results[1].status, 'rejected');
    assert.match(String((results[1] as PromiseRejectedResult).reason), /unique|duplicate/i);
    assert.equal(results[2].status, 'fulfilled');
    // The failed unit's own first write is undone with it.
    assert.deepEqual(await namesIn(store.db, 'iso-'), ['iso-a', 'iso-b']);
  });

  test('a unit that throws its own error rejects with that very error', async () => {
    const mine = new Error('nope');
    const [ok, failed] = await Promise.allSettled([
      store.write((trx) => addUser(trx, 'own-a')),
      store.write(async (trx) => {
        await addUser(trx, 'own-b');
        throw mine;
      }),
    ]);
    assert.equal(ok.status, 'fulfilled');
    assert.equal((failed as PromiseRejectedResult).reason, mine);
    assert.deepEqual(await namesIn(store.db, 'own-'), ['own-a']);
  });

  test('afterCommit: a unit\'s functions run once its COMMIT has returned, and never for a unit that failed', async () => {
    const ran: string[] = [];
    // Another connection's view: what it sees when each function runs is what was committed.
    const committedWhenRun: Record<string, string[]> = {};
    const note = (name: string) => async () => {
      ran.push(name);
      committedWhenRun[name] = await namesIn(store.db, 'ac-');
    };
    const pending: Promise<void>[] = [];
    const unit = (name: string, fail: boolean) =>
      store.write(async (trx) => {
        await addUser(trx, `ac-${name}`);
        afterCommit(trx, () => pending.push(note(name)()));
        if (fail) await addUser(trx, `ac-${name}`); // a unique violation after afterCommit
      });
    const results = await Promise.allSettled([unit('a', false), unit('b', true), unit('c', false)]);
    await Promise.all(pending);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.deepEqual(ran.sort(), ['a', 'c']);
    for (const name of ['a', 'c']) assert.ok(committedWhenRun[name].includes(`ac-${name}`), `${name} ran before its row was committed`);
    // Outside a unit, there is nothing to wait for.
    let now = false;
    afterCommit(store.db, () => (now = true));
    assert.equal(now, true);
  });

  test('reads issued among many writes are answered, in between batches', async () => {
    const work = Array.from({ length: 200 }, (_, i) =>
      i % 4 === 0 ? store.db.selectFrom('users').select('id').limit(1).execute() : store.write((trx) => addUser(trx, `mix-${i}`)),
    );
    const done = await Promise.all(work);
    assert.equal(done.length, 200);
    assert.equal((await namesIn(store.db, 'mix-')).length, 150);
  });
});

describe('group commit (SQLite)', () => {
  let dir: string;
  let file: string;
  let store: Store;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relinks-group-'));
    file = path.join(dir, 'relinks.db');
    store = openStore({ databaseUrl: `sqlite:${file}` });
    await migrate(store);
  });
  after(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('writes submitted in one turn share one transaction', async () => {
    const batches: number[] = [];
    const commits = groupCommit(store.db, { onCommit: (size) => batches.push(size) });
    await Promise.all(Array.from({ length: 50 }, (_, i) => commits.write((trx) => addUser(trx, `turn-${i}`))));
    assert.deepEqual(batches, [50]);
    // A later turn is a later batch.
    await commits.write((trx) => addUser(trx, 'turn-late'));
    assert.deepEqual(batches, [50, 1]);
  });

  test('maxBatch splits a long queue into several transactions', async () => {
    const batches: number[] = [];
    const commits = groupCommit(store.db, { maxBatch: 16, onCommit: (size) => batches.push(size) });
    await Promise.all(Array.from({ length: 40 }, (_, i) => commits.write((trx) => addUser(trx, `split-${i}`))));
    assert.deepEqual(batches, [16, 16, 8]);
    assert.equal((await namesIn(store.db, 'split-')).length, 40);
  });

  test('a promise resolves only once another connection can read its row (committed)', async () => {
    const other = new SQLite(file, { readonly: true });
    try {
      const visible = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          store.write((trx) => addUser(trx, `durable-${i}`)).then(() => other.prepare('select count(*) as n from users where username = ?').get(`durable-${i}`) as { n: number }),
        ),
      );
      assert.deepEqual(visible.map((r) => r.n), Array(10).fill(1));
    } finally {
      other.close();
    }
  });

  test('a unit that breaks the whole transaction fails alone: the others are run again and commit', async () => {
    const batches: number[] = [];
    const commits = groupCommit(store.db, { onCommit: (size) => batches.push(size) });
    const results = await Promise.allSettled([
      commits.write((trx) => addUser(trx, 'wreck-a')),
      commits.write(async (trx) => {
        await addUser(trx, 'wreck-x');
        // Ends the shared transaction under everyone's feet: savepoints cannot save the batch.
        await sql`rollback`.execute(trx);
      }),
      commits.write((trx) => addUser(trx, 'wreck-b')),
    ]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.deepEqual(await namesIn(store.db, 'wreck-'), ['wreck-a', 'wreck-b']);
    // The batch failed, then each unit ran in a transaction of its own.
    assert.deepEqual(batches, [1, 1]);
  });

  test('units of a batch apply in submission order and see the units before them', async () => {
    const names = Array.from({ length: 40 }, (_, i) => `ord-${String(i).padStart(2, '0')}`);
    const seen = await Promise.all(
      names.map((name) =>
        store.write(async (trx) => {
          const before = (await namesIn(trx, 'ord-')).length;
          await addUser(trx, name);
          return before;
        }),
      ),
    );
    assert.deepEqual(seen, names.map((_, i) => i));
    assert.deepEqual(await namesIn(store.db, 'ord-'), names);
  });

  test('on synchronous=FULL in WAL mode', () => {
    assert.equal(store.sqlite!.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(store.sqlite!.pragma('synchronous', { simple: true }), 2);
  });
});

describe('no 201 before the commit is on disk', () => {
  let testStore: TestStore;
  let instance: Instance | undefined;
  before(async () => {
    testStore = await createTestStore();
  });
  after(async () => {
    await stopAll([instance]);
    await testStore.drop();
  });

  test('every link answered 201 is in the store after the server is killed mid-stream', async () => {
    instance = await startInstance({ databaseUrl: testStore.databaseUrl });
    const project = await instance.request('POST', '/api/v4/projects', { token: ROOT_TOKEN, json: { name: 'crash', path: 'crash' } });
    assert.equal(project.status, 201, project.text);
    const release = await instance.request('POST', `/api/v4/projects/${project.body.id}/releases`, { token: ROOT_TOKEN, json: { tag_name: 'v1', ref: 'main' } });
    assert.equal(release.status, 201, release.text);

    const acknowledged: number[] = [];
    const server = instance;
    let killed = false;
    // 16 writers at once; the server is killed (SIGKILL: no orderly shutdown) while they run.
    const writers = inBatches(Array.from({ length: 400 }, (_, i) => i), 16, async (i) => {
      if (i === 150) {
        killed = true;
        server.child.kill('SIGKILL');
      }
      if (killed) return;
      try {
        const res = await server.request('POST', `/api/v4/projects/${project.body.id}/releases/v1/assets/links`, {
          token: ROOT_TOKEN,
          json: { name: `asset-${i}`, url: `https://example.com/asset-${i}` },
        });
        if (res.status === 201) acknowledged.push(res.body.id);
      } catch {
        // the connection died with the server: not acknowledged
      }
    });
    await writers;
    await instance.stop('SIGKILL');
    assert.ok(acknowledged.length >= 100, `only ${acknowledged.length} links were acknowledged before the kill`);

    const rows = await queryStore<{ id: number }>(testStore, 'select id from release_links');
    const stored = new Set(rows.map((r) => Number(r.id)));
    const lost = acknowledged.filter((id) => !stored.has(id));
    assert.deepEqual(lost, [], 'links answered 201 but missing after the crash');
  });
});
