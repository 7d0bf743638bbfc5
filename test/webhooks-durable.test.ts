import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { requestTo, ROOT_TOKEN } from './helpers/server.js';
import { createTestStore, type TestStore } from './helpers/store.js';
import { startChildServer, type ChildServer } from './helpers/child-server.js';
import { inBatches, queryStore, startInstances, stopAll, type Instance } from './helpers/cluster.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';

// Durable delivery, with the built server as a child process: an event committed with its change
// is delivered even when the process is killed (-9) before sending it, or while sending it; a
// SIGTERM hands deliveries in flight back; and two instances on one store deliver each event once.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const LOCAL = { WEBHOOK_ALLOW_LOCAL_REQUESTS: 'true', WEBHOOK_POLL_INTERVAL_MS: '50' };

let receiver: Receiver;
const stores: TestStore[] = [];
const children: ChildServer[] = [];

before(async () => {
  receiver = await startReceiver();
});
after(async () => {
  for (const c of children) await c.kill().catch(() => {});
  await receiver?.close();
  for (const s of stores) await s.drop();
});

async function store(): Promise<TestStore> {
  const s = await createTestStore();
  stores.push(s);
  return s;
}

async function child(databaseUrl: string, env: Record<string, string>): Promise<ChildServer> {
  const c = await startChildServer(databaseUrl, env);
  children.push(c);
  return c;
}

const api = (base: string, method: string, path: string, json?: unknown) => requestTo(base, method, path, { token: ROOT_TOKEN, json });

/** A project with a hook on `path` of the receiver; returns the project's id. */
async function setup(base: string, name: string, path: string): Promise<number> {
  const project = await api(base, 'POST', '/api/v4/projects', { name });
  assert.equal(project.status, 201, project.text);
  const hook = await api(base, 'POST', `/api/v4/projects/${project.body.id}/hooks`, { url: `${receiver.url}${path}`, releases_events: true, token: 'durable-hook-token-1' });
  assert.equal(hook.status, 201, hook.text);
  return project.body.id;
}

type Delivery = { state: string; attempts: number; locked_by: string | null; idempotency_key: string };
const deliveries = (s: TestStore) => queryStore<Delivery>(s, 'select state, attempts, locked_by, idempotency_key from web_hook_deliveries order by id');
const requestsTo = (path: string) => receiver.requests.filter((r) => r.url === path);

async function waitForState(s: TestStore, state: string, ms = 20_000): Promise<Delivery[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const rows = await deliveries(s);
    if (rows.length && rows.every((r) => r.state === state)) return rows;
    if (Date.now() > deadline) assert.fail(`deliveries not ${state} within ${ms} ms: ${JSON.stringify(rows)}`);
    await sleep(50);
  }
}

describe('kill -9 and SIGTERM', () => {
  test('killed between commit and delivery: after the restart the event is delivered', { timeout: 90_000 }, async () => {
    const s = await store();
    // No worker in the first life: the event is committed and nothing sends it before the kill.
    const first = await child(s.databaseUrl, { ...LOCAL, WEBHOOK_WORKERS: '0' });
    const projectId = await setup(first.url, 'killed-before', '/before');
    const release = await api(first.url, 'POST', `/api/v4/projects/${projectId}/releases`, { tag_name: 'v1', ref: 'main' });
    assert.equal(release.status, 201);
    first.child.kill('SIGKILL');
    assert.equal(await first.exited, 'SIGKILL');
    assert.deepEqual((await deliveries(s)).map((d) => d.state), ['pending']);
    assert.equal(requestsTo('/before').length, 0);

    await child(s.databaseUrl, LOCAL);
    const deadline = Date.now() + 20_000;
    while (requestsTo('/before').length === 0) {
      assert.ok(Date.now() < deadline, 'delivered after the restart');
      await sleep(20);
    }
    const [got] = requestsTo('/before');
    const body = JSON.parse(got.body.toString());
    assert.equal(body.tag, 'v1');
    assert.equal(body.action, 'create');
    assert.equal(got.headers['x-gitlab-token'], 'durable-hook-token-1');
    assert.equal(got.headers['x-request-id'], release.headers.get('x-request-id'));
    const [done] = await waitForState(s, 'delivered');
    assert.equal(done.attempts, 1);
    await sleep(300);
    assert.equal(requestsTo('/before').length, 1);
  });

  test('killed while sending: once the claim runs out the event is sent again, with the same Idempotency-Key', { timeout: 90_000 }, async () => {
    const s = await store();
    const previous = receiver.reply;
    let calls = 0;
    receiver.reply = (request, n) => (request.url === '/during' ? (++calls === 1 ? 'hang' : { status: 200 }) : previous(request, n));
    try {
      // A claim lasts twice the timeout and a second: 3 s here.
      const first = await child(s.databaseUrl, { ...LOCAL, WEBHOOK_TIMEOUT_MS: '1000' });
      const projectId = await setup(first.url, 'killed-during', '/during');
      assert.equal((await api(first.url, 'POST', `/api/v4/projects/${projectId}/releases`, { tag_name: 'v1', ref: 'main' })).status, 201);
      const deadline = Date.now() + 10_000;
      while (requestsTo('/during').length === 0) {
        assert.ok(Date.now() < deadline, 'the first attempt began');
        await sleep(20);
      }
      first.child.kill('SIGKILL');
      await first.exited;
      const claimed = await deliveries(s);
      assert.equal(claimed[0].state, 'pending');
      assert.notEqual(claimed[0].locked_by, null, 'the dead worker\'s claim is still there');

      await child(s.databaseUrl, { ...LOCAL, WEBHOOK_TIMEOUT_MS: '1000' });
      const [done] = await waitForState(s, 'delivered', 30_000);
      const sent = requestsTo('/during');
      assert.equal(sent.length, 2);
      assert.equal(sent[0].headers['idempotency-key'], sent[1].headers['idempotency-key']);
      assert.equal(sent[1].headers['idempotency-key'], done.idempotency_key);
      assert.equal(sent[0].body.toString(), sent[1].body.toString());
      assert.equal(done.attempts, 1, 'the attempt cut off by the kill is not counted');
    } finally {
      receiver.reply = previous;
      receiver.release();
    }
  });

  test('SIGTERM: the process exits 0, the delivery in flight is handed back and sent at once by the next start', { timeout: 90_000 }, async () => {
    const s = await store();
    const previous = receiver.reply;
    let calls = 0;
    receiver.reply = (request, n) => (request.url === '/term' ? (++calls === 1 ? 'hang' : { status: 200 }) : previous(request, n));
    try {
      // A long timeout, so the claim would outlast the restart by far: a quick second delivery shows it was handed back.
      const first = await child(s.databaseUrl, { ...LOCAL, WEBHOOK_TIMEOUT_MS: '60000' });
      const projectId = await setup(first.url, 'terminated', '/term');
      assert.equal((await api(first.url, 'POST', `/api/v4/projects/${projectId}/releases`, { tag_name: 'v1', ref: 'main' })).status, 201);
      while (requestsTo('/term').length === 0) await sleep(20);
      const [claimed] = await queryStore<{ locked_until: string }>(s, 'select locked_until from web_hook_deliveries');
      first.child.kill('SIGTERM');
      assert.equal(await first.exited, 0, first.output());
      assert.match(first.output(), /webhook delivery interrupted by shutdown/);
      const [handedBack] = await deliveries(s);
      assert.deepEqual({ state: handedBack.state, attempts: handedBack.attempts, locked_by: handedBack.locked_by }, { state: 'pending', attempts: 0, locked_by: null });

      await child(s.databaseUrl, { ...LOCAL, WEBHOOK_TIMEOUT_MS: '60000' });
      await waitForState(s, 'delivered', 60_000);
      assert.ok(requestsTo('/term')[1].at < Date.parse(claimed.locked_until), 'sent again before the old claim would have run out');
      assert.equal(requestsTo('/term').length, 2);
    } finally {
      receiver.reply = previous;
      receiver.release();
    }
  });
});

describe('two instances on one store', () => {
  const instances: Instance[] = [];
  after(async () => stopAll(instances));

  test('deliver each event exactly once between them (Idempotency-Keys counted)', { timeout: 120_000 }, async () => {
    const s = await store();
    const [a, b] = await startInstances(2, { databaseUrl: s.databaseUrl, env: { ...LOCAL, WEBHOOK_WORKERS: '4' } }, instances);
    const projectId = await setup(a.url, 'two-instances', '/both');
    const count = 40;
    const created = await inBatches(Array.from({ length: count }, (_, i) => i), 4, async (i) => {
      const via = i % 2 ? a : b;
      const res = await via.request('POST', `/api/v4/projects/${projectId}/releases`, { token: ROOT_TOKEN, json: { tag_name: `v${i}`, ref: 'main' } });
      assert.equal(res.status, 201, res.text);
      return res;
    });
    assert.equal(created.length, count);
    const rows = await waitForState(s, 'delivered', 60_000);
    assert.equal(rows.length, count);
    await sleep(500);
    const sent = requestsTo('/both');
    assert.equal(sent.length, count, 'no duplicates, none missing');
    assert.equal(new Set(sent.map((r) => r.headers['idempotency-key'])).size, count);
    assert.deepEqual(new Set(sent.map((r) => JSON.parse(r.body.toString()).tag)), new Set(Array.from({ length: count }, (_, i) => `v${i}`)));
    assert.ok(rows.every((r) => r.attempts === 1));
  });
});
