import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { buildApp } from '../src/app.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { startServer } from '../src/server.js';
import { openStore } from '../src/store/db.js';
import { startTestServer, ROOT_TOKEN, type Response, type TestServer } from './helpers/server.js';
import { addMember, createProject, createRelease, createUser } from './helpers/fixtures.js';
import { createTestStore } from './helpers/store.js';

// Rate limits in GitLab's manner: per user when authenticated, per IP when not, and release and
// link writes per project; off until switched on; 429 {"message":"Retry later"} with Retry-After
// and RateLimit-* headers; counters in Redis shared by several instances when REDIS_URL is set.

const REDIS_URL = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379';

/** Sends `n` requests, `concurrency` at a time, and returns the responses in order. */
async function burst(n: number, send: (i: number) => Promise<Response>, concurrency = 25): Promise<Response[]> {
  const out: Response[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await send(i);
      }
    }),
  );
  return out;
}

const tally = (responses: Response[]) => {
  const counts: Record<number, number> = {};
  for (const r of responses) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return counts;
};

/** Checks one 429 the way a client sees it, and returns its Retry-After. */
function assertThrottled(res: Response, name: string, perMinute: number, periodSeconds: number): number {
  assert.equal(res.status, 429, res.text);
  assert.deepEqual(res.body, { message: 'Retry later' });
  assert.equal(res.headers.get('content-type'), 'application/json');
  const retryAfter = Number(res.headers.get('retry-after'));
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= periodSeconds, `Retry-After ${retryAfter}`);
  assert.equal(res.headers.get('ratelimit-name'), name);
  assert.equal(res.headers.get('ratelimit-limit'), String(perMinute));
  assert.equal(res.headers.get('ratelimit-remaining'), '0');
  const reset = Number(res.headers.get('ratelimit-reset'));
  const now = Date.now() / 1000;
  assert.ok(reset >= now - 1 && reset <= now + periodSeconds + 1, `RateLimit-Reset ${reset} is a Unix time within the period`);
  assert.equal(res.headers.get('ratelimit-resettime'), new Date(reset * 1000).toUTCString());
  return retryAfter;
}

/** The figures a reader of the test output wants: requests sent, how many passed and were refused. */
const report = (line: string) => console.log(`rate-limit figures: ${line}`);

test('configuration: off unless switched on; RATE_LIMITS=on gives GitLab.com\'s figures; each is overridable and checked', () => {
  const base = { DATABASE_URL: 'sqlite:/tmp/x.db' };
  assert.deepEqual(loadConfig(base).rateLimits, { authenticated: 0, unauthenticated: 0, releaseWrites: 0, periodSeconds: 60 });
  assert.deepEqual(loadConfig({ ...base, RATE_LIMITS: 'on' }).rateLimits, { authenticated: 2000, unauthenticated: 500, releaseWrites: 300, periodSeconds: 60 });
  assert.deepEqual(
    loadConfig({ ...base, RATE_LIMITS: 'on', RATE_LIMIT_AUTHENTICATED_PER_MINUTE: '50', RATE_LIMIT_RELEASE_WRITES_PER_MINUTE: '0' }).rateLimits,
    { authenticated: 50, unauthenticated: 500, releaseWrites: 0, periodSeconds: 60 },
  );
  // A single figure switches on that limit alone; RATE_LIMITS=off wins over figures.
  assert.deepEqual(loadConfig({ ...base, RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE: '7' }).rateLimits, { authenticated: 0, unauthenticated: 7, releaseWrites: 0, periodSeconds: 60 });
  assert.deepEqual(loadConfig({ ...base, RATE_LIMITS: 'off', RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE: '7' }).rateLimits.unauthenticated, 0);
  for (const bad of [
    { RATE_LIMITS: 'yes' },
    { RATE_LIMIT_AUTHENTICATED_PER_MINUTE: '-1' },
    { RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE: 'many' },
    { RATE_LIMIT_RELEASE_WRITES_PER_MINUTE: '1.5' },
    { RATE_LIMIT_PERIOD_SECONDS: '0' },
    { REDIS_URL: 'localhost:6379' },
  ]) {
    assert.throws(() => loadConfig({ ...base, ...bad }), ConfigError, JSON.stringify(bad));
  }
  assert.equal(loadConfig({ ...base, REDIS_URL: 'redis://127.0.0.1:6379/2' }).redisUrl, 'redis://127.0.0.1:6379/2');
});

test('with no configuration nothing is limited', async () => {
  const server = await startTestServer();
  try {
    const responses = await burst(600, () => server.request('GET', '/api/v4/projects/1'));
    assert.deepEqual(Object.keys(tally(responses)), ['404']);
  } finally {
    await server.close();
  }
});

test('RATE_LIMITS=on: GitLab.com\'s figures, 2,000 per user and 500 per IP a minute', async () => {
  const server = await startTestServer({ RATE_LIMITS: 'on' });
  try {
    const user = await createUser(server);
    const authed = await burst(2100, () => server.request('GET', '/api/v4/user', { token: user.token }));
    const a = tally(authed);
    assert.equal(a[200], 2000, JSON.stringify(a));
    assert.equal(a[429], 100);
    const retryAfters = authed.filter((r) => r.status === 429).map((r) => assertThrottled(r, 'throttle_authenticated_api', 2000, 60));
    report(`authenticated, RATE_LIMITS=on: sent 2100 → 200: ${a[200]}, 429: ${a[429]}, Retry-After ${Math.min(...retryAfters)}–${Math.max(...retryAfters)} s`);

    const anon = await burst(550, () => server.request('GET', '/api/v4/projects/1'));
    const u = tally(anon);
    // The project does not exist: 404 is the answer until the IP is over.
    assert.equal(u[404], 500, JSON.stringify(u));
    assert.equal(u[429], 50);
    const anonRetry = anon.filter((r) => r.status === 429).map((r) => assertThrottled(r, 'throttle_unauthenticated_api', 500, 60));
    report(`unauthenticated, RATE_LIMITS=on: sent 550 → 404 (not throttled): ${u[404]}, 429: ${u[429]}, Retry-After ${Math.min(...anonRetry)}–${Math.max(...anonRetry)} s`);
    // The user's own budget is spent, but health probes are never limited.
    assert.equal((await server.request('GET', '/api/v4/user', { token: user.token })).status, 429);
    const other = await createUser(server).catch(() => null);
    // root is over nothing: creating another user works, and that user has a budget of their own.
    assert.ok(other);
    assert.equal((await server.request('GET', '/api/v4/user', { token: other.token })).status, 200);
  } finally {
    await server.close();
  }
});

test('unauthenticated requests are limited per IP, before anything else; users and other IPs are not affected', async () => {
  const server = await startTestServer({ RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE: '10' });
  try {
    const project = await createProject(server, 'open', { visibility: 'public' });
    const path = `/api/v4/projects/${project.id}/releases`;
    const responses = await burst(15, () => server.request('GET', path), 1);
    assert.deepEqual(responses.map((r) => r.status), [...Array(10).fill(200), ...Array(5).fill(429)]);
    const retry = assertThrottled(responses[14], 'throttle_unauthenticated_api', 10, 60);
    report(`unauthenticated, limit 10: sent 15 → 200: 10, 429: 5, Retry-After ${retry} s`);
    // Counted before the body is read or validated: a malformed request is throttled too.
    const malformed = await fetch(server.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    assert.equal(malformed.status, 429);
    // Signed-in users from the same IP have their own (here unlimited) budget.
    assert.equal((await server.request('GET', path, { token: ROOT_TOKEN })).status, 200);
    // Another IP (as a trusted proxy reports it) has its own budget.
    assert.equal((await server.request('GET', path, { headers: { 'x-forwarded-for': '203.0.113.7' } })).status, 200);
  } finally {
    await server.close();
  }
});

test('TRUSTED_PROXIES: loopback by default, none, or addresses and CIDR blocks; anything else refused at start', () => {
  const base = { DATABASE_URL: 'sqlite:/tmp/x.db' };
  assert.deepEqual(loadConfig(base).trustedProxies, ['loopback']);
  assert.deepEqual(loadConfig({ ...base, TRUSTED_PROXIES: 'none' }).trustedProxies, []);
  assert.deepEqual(loadConfig({ ...base, TRUSTED_PROXIES: '10.0.0.0/8, 192.0.2.1,fd00::/8,uniquelocal' }).trustedProxies, ['10.0.0.0/8', '192.0.2.1', 'fd00::/8', 'uniquelocal']);
  for (const bad of ['*', 'true', '10.0.0.0/33', '10.0.0.1/8/1', 'proxy.example', 'fd00::/129']) {
    assert.throws(() => loadConfig({ ...base, TRUSTED_PROXIES: bad }), ConfigError, bad);
  }
});

test('a client that is not a trusted proxy cannot dodge the per-IP limit with X-Forwarded-For', async () => {
  const server = await startTestServer({ RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE: '3', TRUSTED_PROXIES: '192.0.2.1' });
  try {
    const statuses = [];
    for (let i = 0; i < 5; i++) {
      statuses.push((await server.request('GET', '/api/v4/projects/1', { headers: { 'x-forwarded-for': `203.0.113.${i}` } })).status);
    }
    assert.deepEqual(statuses, [404, 404, 404, 429, 429]);
  } finally {
    await server.close();
  }
});

test('failed credentials count against the IP: their 401s become 429s once it is over', async () => {
  const server = await startTestServer({ RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE: '5' });
  try {
    const responses = await burst(8, (i) => server.request('GET', '/api/v4/user', { token: `wrong-token-${i}` }), 1);
    assert.deepEqual(responses.map((r) => r.status), [401, 401, 401, 401, 401, 429, 429, 429]);
    assertThrottled(responses[7], 'throttle_unauthenticated_api', 5, 60);
    const malformed = await server.request('GET', '/api/v4/user', { headers: { authorization: 'Basic abc' } });
    assert.equal(malformed.status, 429);
    // A valid token from that IP still works.
    assert.equal((await server.request('GET', '/api/v4/user', { token: ROOT_TOKEN })).status, 200);
  } finally {
    await server.close();
  }
});

test('authenticated requests are limited per user, across all of that user\'s tokens', async () => {
  const server = await startTestServer({ RATE_LIMIT_AUTHENTICATED_PER_MINUTE: '20' });
  try {
    const user = await createUser(server);
    const second = await server.request('POST', `/api/v4/users/${user.id}/personal_access_tokens`, { token: ROOT_TOKEN, json: { name: 'two', scopes: ['api'] } });
    assert.equal(second.status, 201);
    const responses = await burst(25, (i) => server.request('GET', '/api/v4/user', { token: i % 2 ? second.body.token : user.token }), 1);
    assert.deepEqual(tally(responses), { 200: 20, 429: 5 });
    assert.ok(responses.slice(0, 20).every((r) => r.status === 200));
    const retry = assertThrottled(responses[24], 'throttle_authenticated_api', 20, 60);
    report(`authenticated, limit 20, two tokens of one user: sent 25 → 200: 20, 429: 5, Retry-After ${retry} s`);
    // Another user is not affected; nor is an anonymous caller (no IP limit configured).
    const other = await createUser(server);
    assert.equal((await server.request('GET', '/api/v4/user', { token: other.token })).status, 200);
  } finally {
    await server.close();
  }
});

test('release and link writes are limited per project, for those who may write there', async () => {
  const server = await startTestServer({ RATE_LIMIT_RELEASE_WRITES_PER_MINUTE: '6' });
  try {
    const dev = await createUser(server);
    const reporter = await createUser(server);
    const outsider = await createUser(server);
    const project = await createProject(server, 'busy');
    const quiet = await createProject(server, 'quiet');
    for (const p of [project.id, quiet.id]) await addMember(server, p, dev.id, 30);
    await addMember(server, project.id, reporter.id, 20);
    await createRelease(server, project.id, 'v1');
    await createRelease(server, quiet.id, 'v1');
    const links = (id: number | string) => `/api/v4/projects/${id}/releases/v1/assets/links`;

    // A reporter's refused writes do not use up the project's budget.
    for (let i = 0; i < 6; i++) {
      assert.equal((await server.request('POST', links(project.id), { token: reporter.token, json: { name: `r${i}`, url: `https://example.com/r${i}` } })).status, 403);
    }
    // The project counts, however it is named (id or path) and whichever route writes: creating
    // v1 above was the first write, these are the next six.
    const writes = [
      () => server.request('POST', links(project.id), { token: dev.token, json: { name: 'a', url: 'https://example.com/a' } }),
      () => server.request('POST', links(encodeURIComponent(project.path_with_namespace)), { token: dev.token, json: { name: 'b', url: 'https://example.com/b' } }),
      () => server.request('PUT', `/api/v4/projects/${project.id}/releases/v1`, { token: dev.token, json: { description: 'x' } }),
      () => server.request('POST', `/api/v4/projects/${project.id}/releases`, { token: ROOT_TOKEN, json: { tag_name: 'v2', ref: 'main' } }),
      () => server.request('DELETE', `/api/v4/projects/${project.id}/releases/v2`, { token: dev.token }),
      () => server.request('POST', links(project.id), { token: dev.token, json: { name: 'c', url: 'https://example.com/c' } }),
    ];
    const statuses = [];
    for (const w of writes) statuses.push(await w());
    assert.deepEqual(statuses.map((r) => r.status), [201, 201, 200, 201, 200, 429]);
    const retry = assertThrottled(statuses[5], 'throttle_release_writes', 6, 60);
    report(`release and link writes, limit 6 per project: sent 7 → 2xx: 6, 429: 1, Retry-After ${retry} s`);
    assert.equal((await server.request('GET', links(project.id), { token: dev.token })).body.length, 2);
    // Reads of the project, and writes to another project, go on.
    assert.equal((await server.request('GET', links(project.id), { token: dev.token })).status, 200);
    assert.equal((await server.request('POST', links(quiet.id), { token: dev.token, json: { name: 'q', url: 'https://example.com/q' } })).status, 201);
    // Someone who cannot see the project still gets its 404, never a 429 that would reveal it.
    const hidden = await server.request('POST', links(project.id), { token: outsider.token, json: { name: 'o', url: 'https://example.com/o' } });
    assert.equal(hidden.status, 404);
    assert.deepEqual(hidden.body, { message: '404 Project Not Found' });
  } finally {
    await server.close();
  }
});

test('the count starts over when the period has passed', async () => {
  // A period of six seconds: four requests in a row must fit in one period on a machine busy
  // with both stores' suites (two seconds was seen to be too short there).
  const server = await startTestServer({ RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE: '3', RATE_LIMIT_PERIOD_SECONDS: '6' });
  try {
    const first = await burst(4, () => server.request('GET', '/api/v4/projects/1'), 1);
    assert.deepEqual(first.map((r) => r.status), [404, 404, 404, 429]);
    // Three per six seconds is 30 a minute, as GitLab states a limit whatever its period.
    const retry = assertThrottled(first[3], 'throttle_unauthenticated_api', 30, 6);
    await new Promise((resolve) => setTimeout(resolve, retry * 1000 + 100));
    assert.equal((await server.request('GET', '/api/v4/projects/1')).status, 404);
  } finally {
    await server.close();
  }
});

async function redisKeys(redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

test('with REDIS_URL, two instances share the counters and together enforce one limit', async () => {
  const prefix = `relinks-test:${process.pid}:${randomBytes(4).toString('hex')}:`;
  const redis = new Redis(REDIS_URL);
  const env = {
    REDIS_URL,
    RATE_LIMIT_REDIS_PREFIX: prefix,
    RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE: '10',
    RATE_LIMIT_AUTHENTICATED_PER_MINUTE: '30',
  };
  const a: TestServer = await startTestServer(env);
  // The second instance: same database, same Redis, its own port.
  const b = await startServer({ ...a.config }, { logger: false });
  try {
    const servers = [a.url, b.url];
    const get = (i: number, headers: Record<string, string> = {}) =>
      fetch(`${servers[i % 2]}/api/v4/projects/1`, { headers }).then(async (res) => ({ status: res.status, headers: res.headers, body: await res.json(), text: '' }));

    const anon = await burst(16, (i) => get(i), 1);
    assert.deepEqual(anon.map((r) => r.status), [...Array(10).fill(404), ...Array(6).fill(429)]);
    // Both instances refused, each knowing the other's count.
    assert.ok(anon.slice(10).some((_, i) => (10 + i) % 2 === 0) && anon.slice(10).some((_, i) => (10 + i) % 2 === 1));
    const retry = assertThrottled(anon[15] as Response, 'throttle_unauthenticated_api', 10, 60);

    const authed = await burst(40, (i) => get(i, { 'private-token': ROOT_TOKEN }), 4);
    const t = tally(authed as Response[]);
    assert.deepEqual(t, { 404: 30, 429: 10 });
    report(
      `two instances sharing Redis: unauthenticated limit 10, sent 16 alternately → 404 (not throttled): 10, 429: 6, Retry-After ${retry} s; ` +
        `authenticated limit 30, sent 40 → not throttled: ${t[404]}, 429: ${t[429]}`,
    );
    // The counters are in Redis under the configured prefix.
    const keys = await redisKeys(redis, prefix);
    assert.ok(keys.some((k) => k.endsWith('ip:127.0.0.1')), keys.join(', '));
    assert.ok(keys.some((k) => /user:\d+$/.test(k)), keys.join(', '));
    assert.equal(Number(await redis.get(keys.find((k) => k.endsWith('ip:127.0.0.1'))!)), 16);
  } finally {
    await b.close();
    await a.close();
    const keys = await redisKeys(redis, prefix);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  }
});

test('an unreachable REDIS_URL stops the server from starting, with a clear error', async () => {
  const store = await createTestStore();
  const opened = openStore({ databaseUrl: store.databaseUrl });
  try {
    const config = loadConfig({ DATABASE_URL: store.databaseUrl, REDIS_URL: 'redis://127.0.0.1:1', RATE_LIMITS: 'on', LOG_LEVEL: 'silent' });
    await assert.rejects(buildApp({ config, store: opened, logger: false }), /REDIS_URL: cannot reach Redis/);
  } finally {
    await opened.close();
    await store.drop();
  }
});
