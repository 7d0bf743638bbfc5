import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { ROOT_TOKEN, startTestServer, type TestServer } from './helpers/server.js';
import { createProject } from './helpers/fixtures.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { postgresBaseUrl, storeKind } from './helpers/store.js';
import { startDeliveryWorker, type DeliveryWorker } from '../src/services/webhooks/worker.js';

// How a worker keeps off a delivery someone else holds, each store by its own mechanism, while it
// goes on delivering the rest of the queue:
// - PostgreSQL: another transaction holds the delivery's row lock (as another instance's claim does
//   while it commits). The worker's claim takes rows FOR UPDATE SKIP LOCKED, so it neither waits
//   for that lock nor takes the row; once the lock is gone, the delivery is sent.
// - SQLite (one process writes at a time, so no row is ever locked while a claim runs): another
//   worker's live claim (locked_until ahead, locked_by another worker), which the claim's UPDATE
//   checks again. Once that claim is handed back, the delivery is sent.
// The held delivery is the oldest of the queue, to the same hook and receiver as the others: the
// one the worker would take first.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let server: TestServer;
let receiver: Receiver;
const workers: DeliveryWorker[] = [];

before(async () => {
  receiver = await startReceiver();
  // No worker of its own: the test starts one once the queue is there and one delivery is held.
  server = await startTestServer({ WEBHOOK_ALLOW_LOCAL_REQUESTS: 'true', WEBHOOK_WORKERS: '0', WEBHOOK_POLL_INTERVAL_MS: '50' });
});
after(async () => {
  for (const w of workers) await w.stop();
  await receiver?.close();
  await server?.close();
});

const root = (method: string, path: string, json?: unknown) => server.request(method, path, { token: ROOT_TOKEN, json });
const db = () => server.running.store.db;

interface Hold {
  /** What holds it, for the messages. */
  how: string;
  release(): Promise<void>;
}

/** PostgreSQL: the row locked by a transaction on a connection of its own, until release. */
async function lockRow(id: number): Promise<Hold> {
  const schema = new URL(server.store.databaseUrl).searchParams.get('schema');
  const client = new pg.Client({ connectionString: postgresBaseUrl(), options: schema ? `-c search_path=${schema}` : undefined });
  await client.connect();
  await client.query('begin');
  const { rows } = await client.query('select id, locked_by from web_hook_deliveries where id = $1 for update', [id]);
  assert.deepEqual(rows, [{ id, locked_by: null }], 'locked, and claimed by no worker');
  return {
    how: 'a row lock (SELECT … FOR UPDATE in another transaction)',
    async release() {
      await client.query('rollback');
      await client.end();
    },
  };
}

/** SQLite: claimed by another worker for a minute, until that worker hands it back (as it does on shutdown). */
async function claimElsewhere(id: number): Promise<Hold> {
  await db().updateTable('web_hook_deliveries').set({ locked_until: new Date(Date.now() + 60_000).toISOString(), locked_by: 'another-process' }).where('id', '=', id).execute();
  return {
    how: 'another worker\'s live claim',
    async release() {
      await db().updateTable('web_hook_deliveries').set({ locked_until: null, locked_by: null }).where('id', '=', id).where('locked_by', '=', 'another-process').execute();
    },
  };
}

describe('a delivery held elsewhere', () => {
  test(`is left alone while the worker delivers the rest of the queue, and sent once it is free (${storeKind()})`, async () => {
    const p = await createProject(server, `claims${process.pid}`);
    const hook = await root('POST', `/api/v4/projects/${p.id}/hooks`, { url: `${receiver.url}/claims`, releases_events: true });
    assert.equal(hook.status, 201, hook.text);
    const tags = ['v1', 'v2', 'v3', 'v4', 'v5'];
    for (const tag of tags) assert.equal((await root('POST', `/api/v4/projects/${p.id}/releases`, { tag_name: tag, ref: 'main' })).status, 201);
    const queued = await db().selectFrom('web_hook_deliveries').select(['id', 'state']).orderBy('id').execute();
    assert.deepEqual(queued.map((d) => d.state), tags.map(() => 'pending'), 'nothing sent yet: no worker runs');
    const held = queued[0].id;

    const hold = server.store.kind === 'postgres' ? await lockRow(held) : await claimElsewhere(held);
    let released = false;
    try {
      const worker = startDeliveryWorker(server.running.store, { ...server.config, webhooks: { ...server.config.webhooks, workers: 2 } }, server.running.app.log.child({ component: 'webhooks' }));
      workers.push(worker);
      const got = () => receiver.requests.filter((r) => r.url === '/claims').map((r) => JSON.parse(r.body.toString()).tag as string);
      const deadline = Date.now() + 10_000;
      while (got().length < tags.length - 1) {
        assert.ok(Date.now() < deadline, `held by ${hold.how}, v1 keeps the rest waiting: got ${JSON.stringify(got())}`);
        await sleep(20);
      }
      // A moment more: the held one stays where it is, untouched.
      await sleep(300);
      assert.deepEqual(got().sort(), ['v2', 'v3', 'v4', 'v5']);
      const still = await db().selectFrom('web_hook_deliveries').selectAll().where('id', '=', held).executeTakeFirstOrThrow();
      assert.equal(still.state, 'pending');
      assert.equal(still.attempts, 0);
      assert.ok(still.locked_by === null || still.locked_by === 'another-process', `not claimed by the worker: ${still.locked_by}`);

      await hold.release();
      released = true;
      const again = Date.now() + 10_000;
      while (!got().includes('v1')) {
        assert.ok(Date.now() < again, 'v1 sent once it is free');
        await sleep(20);
      }
      await sleep(300);
      assert.deepEqual(got().sort(), tags, 'each event once');
      const done = await db().selectFrom('web_hook_deliveries').select(['state', 'attempts']).orderBy('id').execute();
      assert.deepEqual(done, tags.map(() => ({ state: 'delivered', attempts: 1 })));
    } finally {
      if (!released) await hold.release();
    }
  });
});
