import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ROOT_TOKEN, startTestServer, type TestServer } from './helpers/server.js';
import { createProject } from './helpers/fixtures.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { eventually } from './helpers/eventually.js';
import { BlockedUrl, resolveTarget } from '../src/services/webhooks/url-guard.js';
import { post } from '../src/services/webhooks/http.js';

// Safe by default: with the local network not allowed (the default), hooks to this host, loopback,
// private, link-local and shared addresses are refused when saved and again at every delivery,
// against the address the name resolves to then, which the request is pinned to. And with it
// allowed, a receiver still cannot lead a delivery elsewhere (no redirect is followed), feed it
// more than 8 KiB, or hold more than one worker slot.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


let receiver: Receiver;
before(async () => {
  receiver = await startReceiver();
});
after(async () => receiver?.close());

describe('with the local network not allowed (the default)', () => {
  let server: TestServer;
  let projectId: number;
  before(async () => {
    server = await startTestServer({ WEBHOOK_POLL_INTERVAL_MS: '50', WEBHOOK_RETRY_BASE_MS: '20', WEBHOOK_RETRY_MAX_MS: '40', WEBHOOK_MAX_ATTEMPTS: '2' });
    projectId = (await createProject(server, `ssrf${process.pid}`)).id;
  });
  after(async () => server?.close());
  const root = (method: string, path: string, json?: unknown) => server.request(method, path, { token: ROOT_TOKEN, json });

  test('hooks to this host, loopback, private, link-local, shared and broadcast addresses are refused: 422 Invalid url given', async () => {
    const refused = [
      receiver.url, `http://localhost:${receiver.port}/`, 'http://127.1.2.3/', 'http://0.0.0.0/', 'http://0/', 'http://2130706433/', 'http://0x7f.1/',
      'http://10.1.2.3/', 'http://172.16.0.1/', 'http://172.31.255.254/', 'http://192.168.1.1/', 'http://169.254.169.254/latest/meta-data/',
      'http://100.64.0.1/', 'http://255.255.255.255/', 'http://[::1]/', 'http://[::]/', 'http://[::ffff:127.0.0.1]/', 'http://[::ffff:a01:203]/',
      'http://[fe80::1]/', 'http://[fd12:3456::1]/', 'http://[fec0::1]/', 'gopher://example.com/', 'file:///etc/passwd',
    ];
    for (const url of refused) {
      const res = await root('POST', `/api/v4/projects/${projectId}/hooks`, { url, releases_events: true });
      assert.equal(res.status, 422, `${url}: ${res.text}`);
      assert.equal(res.text, '{"message":"Invalid url given"}');
    }
    // Public addresses are fine; so is a name that does not resolve now (checked at every delivery).
    for (const url of ['http://93.184.216.34/hook', 'https://[2606:2800:220:1:248:1893:25c8:1946]/', 'http://relinks-hook-test.invalid/hook']) {
      const res = await root('POST', `/api/v4/projects/${projectId}/hooks`, { url });
      assert.equal(res.status, 201, `${url}: ${res.text}`);
      assert.equal((await root('DELETE', `/api/v4/projects/${projectId}/hooks/${res.body.id}`)).status, 204);
    }
    const moved = await root('POST', `/api/v4/projects/${projectId}/hooks`, { url: 'https://example.com/hook' });
    const update = await root('PUT', `/api/v4/projects/${projectId}/hooks/${moved.body.id}`, { url: 'http://192.168.0.10/' });
    assert.equal(update.status, 422);
    assert.equal(update.text, '{"message":"Invalid url given"}');
    await root('DELETE', `/api/v4/projects/${projectId}/hooks/${moved.body.id}`);
  });

  test('the check runs again at delivery time: a hook that now points inside is not sent to, and says why', async () => {
    const p = await createProject(server, `ssrf-late${process.pid}`);
    const hook = await root('POST', `/api/v4/projects/${p.id}/hooks`, { url: 'http://relinks-hook-test.invalid/hook', releases_events: true });
    assert.equal(hook.status, 201);
    const unresolved = await root('POST', `/api/v4/projects/${p.id}/hooks`, { url: 'http://relinks-hook-test.invalid/other', releases_events: true });
    // What the saved check could not see: the name leads to this host by the time of delivery.
    await server.running.store.db.updateTable('web_hooks').set({ url: `${receiver.url}/inside` }).where('id', '=', hook.body.id).execute();
    const before = receiver.requests.length;
    assert.equal((await root('POST', `/api/v4/projects/${p.id}/releases`, { tag_name: 'v1', ref: 'main' })).status, 201);
    const db = server.running.store.db;
    await eventually(async () => (await db.selectFrom('web_hook_deliveries').select('state').where('state', '=', 'pending').where('hook_id', 'in', [hook.body.id, unresolved.body.id]).execute()).length === 0, 10_000, 'both given up');
    assert.equal(receiver.requests.length, before, 'nothing reached the receiver');
    const inside = await root('GET', `/api/v4/projects/${p.id}/hooks/${hook.body.id}/events`);
    assert.equal(inside.body.length, 2, 'WEBHOOK_MAX_ATTEMPTS=2 attempts');
    assert.equal(inside.body[0].response_status, 'internal error');
    assert.equal(inside.body[0].internal_error_message, 'URL is blocked: Requests to localhost are not allowed');
    const nowhere = await root('GET', `/api/v4/projects/${p.id}/hooks/${unresolved.body.id}/events`);
    assert.equal(nowhere.body[0].internal_error_message, 'URL is blocked: Host cannot be resolved or invalid');
    const given = await db.selectFrom('web_hook_deliveries').selectAll().where('hook_id', '=', hook.body.id).executeTakeFirstOrThrow();
    assert.equal(given.state, 'failed');
    assert.equal(given.attempts, 2);
    assert.equal(given.last_error, 'URL is blocked: Requests to localhost are not allowed');
    const tested = await root('POST', `/api/v4/projects/${p.id}/hooks/${hook.body.id}/test/releases_events`);
    assert.equal(tested.status, 422);
    assert.equal(tested.text, '{"message":"URL is blocked: Requests to localhost are not allowed"}');
  });

  test('a name is resolved once per attempt and the request goes to that address: DNS rebinding cannot lead it inside', async () => {
    const answers = ['93.184.216.34', '127.0.0.1'];
    const flipping = async () => [{ address: answers.shift() ?? '127.0.0.1', family: 4 }];
    const first = await resolveTarget('http://rebind.test/hook', false, flipping);
    assert.equal(first.address, '93.184.216.34');
    await assert.rejects(resolveTarget('http://rebind.test/hook', false, flipping), (e: Error) => e instanceof BlockedUrl && e.message === 'Requests to localhost are not allowed');
    // One bad address among several is enough to refuse.
    const mixed = async () => [{ address: '93.184.216.34', family: 4 }, { address: '10.0.0.1', family: 4 }];
    await assert.rejects(resolveTarget('http://mixed.test/', false, mixed), /local network/);
    // The address checked is the one connected to: this name means nothing to the system resolver.
    const pinned = await resolveTarget(`http://pinned.test:${receiver.port}/pinned`, true, async () => [{ address: '127.0.0.1', family: 4 }]);
    const answer = await post(pinned, { 'Content-Type': 'application/json' }, Buffer.from('{}'), { timeoutMs: 2000, verifyTls: true });
    assert.equal(answer.status, 200);
    const got = receiver.requests.find((r) => r.url === '/pinned')!;
    assert.equal(got.headers.host, `pinned.test:${receiver.port}`);
  });
});

describe('DNS rebinding, end to end: the server resolves hook names through a resolver the test controls', () => {
  let server: TestServer;
  const answers = new Map<string, string>();
  const asked: string[] = [];
  before(async () => {
    server = await startTestServer(
      { WEBHOOK_POLL_INTERVAL_MS: '50', WEBHOOK_RETRY_BASE_MS: '20', WEBHOOK_RETRY_MAX_MS: '40', WEBHOOK_MAX_ATTEMPTS: '2' },
      {
        configure: (config) => {
          config.webhooks.lookup = async (host) => {
            asked.push(host);
            const address = answers.get(host);
            if (!address) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
            return [{ address, family: 4 }];
          };
        },
      },
    );
  });
  after(async () => server?.close());
  const root = (method: string, path: string, json?: unknown) => server.request(method, path, { token: ROOT_TOKEN, json });

  test('public when the hook is saved, 127.0.0.1 when it is delivered: refused at every attempt, nothing reaches the receiver', async () => {
    const p = await createProject(server, `rebind${process.pid}`);
    const P = `/api/v4/projects/${p.id}/hooks`;
    // The receiver listens on 127.0.0.1: a delivery that followed the new answer would reach it.
    const url = `http://rebind.test:${receiver.port}/rebound`;
    answers.set('rebind.test', '93.184.216.34');
    const hook = await root('POST', P, { url, releases_events: true });
    assert.equal(hook.status, 201, hook.text);
    assert.ok(asked.includes('rebind.test'), 'the name was resolved when the hook was saved');
    // The same resolver refuses a name that points inside already when it is saved.
    answers.set('inside.test', '127.0.0.1');
    assert.equal((await root('POST', P, { url: `http://inside.test:${receiver.port}/inside`, releases_events: true })).status, 422);

    answers.set('rebind.test', '127.0.0.1');
    asked.length = 0;
    assert.equal((await root('POST', `/api/v4/projects/${p.id}/releases`, { tag_name: 'v1', ref: 'main' })).status, 201);
    const db = server.running.store.db;
    await eventually(async () => (await db.selectFrom('web_hook_deliveries').select('state').where('hook_id', '=', hook.body.id).executeTakeFirstOrThrow()).state === 'failed', 10_000, 'given up');
    const given = await db.selectFrom('web_hook_deliveries').selectAll().where('hook_id', '=', hook.body.id).executeTakeFirstOrThrow();
    assert.equal(given.attempts, 2);
    assert.equal(given.last_error, 'URL is blocked: Requests to localhost are not allowed');
    const events = (await root('GET', `${P}/${hook.body.id}/events`)).body as Array<{ response_status: string; internal_error_message: string }>;
    assert.deepEqual(events.map((e) => [e.response_status, e.internal_error_message]), [
      ['internal error', 'URL is blocked: Requests to localhost are not allowed'],
      ['internal error', 'URL is blocked: Requests to localhost are not allowed'],
    ]);
    assert.equal(asked.filter((h) => h === 'rebind.test').length, 2, 'resolved again before each attempt');
    // The test call is checked the same way.
    const tested = await root('POST', `${P}/${hook.body.id}/test/releases_events`);
    assert.equal(tested.status, 422);
    assert.equal(tested.text, '{"message":"URL is blocked: Requests to localhost are not allowed"}');
    await sleep(100);
    assert.equal(receiver.requests.filter((r) => r.url === '/rebound' || r.url === '/inside').length, 0, 'nothing reached the receiver');
  });
});

describe('with the local network allowed: what a receiver cannot do', () => {
  let server: TestServer;
  let other: Receiver;
  before(async () => {
    server = await startTestServer({ WEBHOOK_ALLOW_LOCAL_REQUESTS: 'true', WEBHOOK_POLL_INTERVAL_MS: '50', WEBHOOK_WORKERS: '3', WEBHOOK_TIMEOUT_MS: '4000' });
    other = await startReceiver();
  });
  after(async () => {
    await other?.close();
    await server?.close();
  });
  const root = (method: string, path: string, json?: unknown) => server.request(method, path, { token: ROOT_TOKEN, json });

  test('a redirect is not followed: the 3xx is the answer (a success, as GitLab counts it)', async () => {
    const p = await createProject(server, `redirect${process.pid}`);
    const hook = await root('POST', `/api/v4/projects/${p.id}/hooks`, { url: `${receiver.url}/moved`, releases_events: true });
    const previous = receiver.reply;
    receiver.reply = (request, n) => (request.url === '/moved' ? { status: 302, headers: { location: `${other.url}/elsewhere` } } : previous(request, n));
    try {
      await root('POST', `/api/v4/projects/${p.id}/releases`, { tag_name: 'v1', ref: 'main' });
      await eventually(async () => (await root('GET', `/api/v4/projects/${p.id}/hooks/${hook.body.id}/events`)).body.length === 1);
    } finally {
      receiver.reply = previous;
    }
    await sleep(200);
    assert.equal(other.requests.length, 0, 'the Location was not followed');
    const [event] = (await root('GET', `/api/v4/projects/${p.id}/hooks/${hook.body.id}/events`)).body;
    assert.equal(event.response_status, '302');
    assert.equal(event.response_headers.Location, `${other.url}/elsewhere`);
    const delivery = await server.running.store.db.selectFrom('web_hook_deliveries').selectAll().where('hook_id', '=', hook.body.id).executeTakeFirstOrThrow();
    assert.equal(delivery.state, 'delivered');
  });

  test('an answer that never ends is cut off after 8 KiB, long before the timeout', async () => {
    const p = await createProject(server, `endless${process.pid}`);
    const hook = await root('POST', `/api/v4/projects/${p.id}/hooks`, { url: `${receiver.url}/endless`, releases_events: true });
    const previous = receiver.reply;
    receiver.reply = (request, n) => (request.url === '/endless' ? { status: 200, endless: true } : previous(request, n));
    try {
      await root('POST', `/api/v4/projects/${p.id}/releases`, { tag_name: 'v1', ref: 'main' });
      await eventually(async () => (await root('GET', `/api/v4/projects/${p.id}/hooks/${hook.body.id}/events`)).body.length === 1, 3000, 'recorded well within the 4 s timeout');
    } finally {
      receiver.reply = previous;
    }
    const [event] = (await root('GET', `/api/v4/projects/${p.id}/hooks/${hook.body.id}/events`)).body;
    assert.equal(event.response_status, '200');
    assert.equal(event.response_body.length, 8192);
    assert.ok(event.execution_duration < 2, `${event.execution_duration} s`);
  });

  test('a receiver that never answers holds one worker slot at most; other receivers and the API go on', async () => {
    const p = await createProject(server, `slow${process.pid}`);
    // Two hooks on the hanging receiver (same host and port), one elsewhere.
    for (const path of ['/hang-1', '/hang-2']) await root('POST', `/api/v4/projects/${p.id}/hooks`, { url: `${receiver.url}${path}`, releases_events: true });
    await root('POST', `/api/v4/projects/${p.id}/hooks`, { url: `${other.url}/fine`, releases_events: true });
    const previous = receiver.reply;
    receiver.reply = (request, n) => (request.url.startsWith('/hang-') ? 'hang' : previous(request, n));
    const hangingBefore = receiver.maxInFlight();
    try {
      for (const tag of ['v1', 'v2', 'v3', 'v4']) assert.equal((await root('POST', `/api/v4/projects/${p.id}/releases`, { tag_name: tag, ref: 'main' })).status, 201);
      await other.waitFor(4, 5000);
      const started = Date.now();
      const list = await root('GET', `/api/v4/projects/${p.id}/releases`);
      assert.equal(list.status, 200);
      assert.ok(Date.now() - started < 1000, 'the API answers at once');
      await sleep(500);
      assert.equal(receiver.inFlight(), 1, 'one request at a time to the slow receiver');
      assert.ok(receiver.maxInFlight() <= Math.max(1, hangingBefore));
    } finally {
      receiver.reply = previous;
      receiver.release(200);
    }
  });
});

describe('secrets at rest, and the timeout', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      WEBHOOK_ALLOW_LOCAL_REQUESTS: 'true', WEBHOOK_POLL_INTERVAL_MS: '50', WEBHOOK_TIMEOUT_MS: '500',
      WEBHOOK_RETRY_BASE_MS: '60000', WEBHOOK_SECRET_KEY: 'webhook-secret-key-for-tests-0123456789',
    });
  });
  after(async () => server?.close());
  const root = (method: string, path: string, json?: unknown) => server.request(method, path, { token: ROOT_TOKEN, json });

  test('with WEBHOOK_SECRET_KEY the token and custom header values are stored encrypted and sent as given', async () => {
    const p = await createProject(server, `sealed${process.pid}`);
    const hook = await root('POST', `/api/v4/projects/${p.id}/hooks`, {
      url: `${receiver.url}/sealed`, releases_events: true, token: 'sealed-hook-token-31337', custom_headers: [{ key: 'Authorization', value: 'Bearer sealed-header-value-42' }],
    });
    assert.equal(hook.status, 201, hook.text);
    const row = await server.running.store.db.selectFrom('web_hooks').selectAll().where('id', '=', hook.body.id).executeTakeFirstOrThrow();
    assert.match(row.token!, /^enc:v1:/);
    assert.doesNotMatch(JSON.stringify(row), /sealed-hook-token-31337|sealed-header-value-42/);
    await root('POST', `/api/v4/projects/${p.id}/releases`, { tag_name: 'v1', ref: 'main' });
    await eventually(async () => receiver.requests.some((r) => r.url === '/sealed'));
    const got = receiver.requests.find((r) => r.url === '/sealed')!;
    assert.equal(got.headers['x-gitlab-token'], 'sealed-hook-token-31337');
    assert.equal(got.headers.authorization, 'Bearer sealed-header-value-42');
  });

  test('an attempt is cut off at WEBHOOK_TIMEOUT_MS, logged as such, and retried later', async () => {
    const p = await createProject(server, `timeout${process.pid}`);
    const hook = await root('POST', `/api/v4/projects/${p.id}/hooks`, { url: `${receiver.url}/timeout`, releases_events: true });
    const previous = receiver.reply;
    receiver.reply = (request, n) => (request.url === '/timeout' ? 'hang' : previous(request, n));
    try {
      await root('POST', `/api/v4/projects/${p.id}/releases`, { tag_name: 'v1', ref: 'main' });
      await eventually(async () => (await root('GET', `/api/v4/projects/${p.id}/hooks/${hook.body.id}/events`)).body.length === 1, 5000, 'the attempt is recorded');
    } finally {
      receiver.reply = previous;
      receiver.release();
    }
    const [event] = (await root('GET', `/api/v4/projects/${p.id}/hooks/${hook.body.id}/events`)).body;
    assert.equal(event.response_status, 'internal error');
    assert.equal(event.internal_error_message, 'Request timed out after 500 ms');
    assert.ok(event.execution_duration >= 0.45 && event.execution_duration < 2, String(event.execution_duration));
    const delivery = await server.running.store.db.selectFrom('web_hook_deliveries').selectAll().where('hook_id', '=', hook.body.id).executeTakeFirstOrThrow();
    assert.equal(delivery.state, 'pending');
    assert.equal(delivery.attempts, 1);
    assert.ok(Date.parse(delivery.next_attempt_at) - Date.now() > 20_000, 'the next attempt waits (base 60 s, jittered)');
  });
});
