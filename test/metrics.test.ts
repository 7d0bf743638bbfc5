import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';
import { Histogram, Registry } from 'prom-client';
import { FastHistogram } from '../src/histogram.js';
import { setStoredBytesProbe, setWebhookQueueProbe } from '../src/metrics.js';
import { startTestServer, ROOT_TOKEN, type TestServer } from './helpers/server.js';
import { createProject, createRelease } from './helpers/fixtures.js';

// Prometheus metrics at /-/metrics (docs/metrics.md): GitLab's monitoring allowlist, request
// durations by route template, database and group-commit figures, rate-limit rejections and
// downloads. The registry is the process's, shared by every server this file starts, so checks
// compare a scrape before and after rather than absolute counts.

type Samples = Map<string, number>;

/** `name{a="x",b="y"}` → value, labels in the order Prometheus' text format gives them. */
function parse(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

const key = (name: string, labels: Record<string, string> = {}) => {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return pairs.length ? `${name}{${pairs.join(',')}}` : name;
};

async function scrape(server: TestServer): Promise<Samples> {
  const res = await server.request('GET', '/-/metrics');
  assert.equal(res.status, 200, res.text);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parse(res.text);
}

const value = (samples: Samples, name: string, labels?: Record<string, string>) => samples.get(key(name, labels)) ?? 0;

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => server.close());

describe('settings', () => {
  test('on by default, for loopback only; both settings are checked', () => {
    const base = { DATABASE_URL: 'sqlite:/tmp/x.db' };
    assert.equal(loadConfig(base).metricsEnabled, true);
    assert.deepEqual(loadConfig(base).metricsAllowedIps, ['127.0.0.0/8', '::1/128']);
    assert.equal(loadConfig({ ...base, METRICS_ENABLED: 'false' }).metricsEnabled, false);
    assert.deepEqual(loadConfig({ ...base, METRICS_ALLOWED_IPS: '10.0.0.0/8, 192.0.2.1,fd00::/8' }).metricsAllowedIps, ['10.0.0.0/8', '192.0.2.1', 'fd00::/8']);
    for (const bad of [{ METRICS_ENABLED: 'no' }, { METRICS_ALLOWED_IPS: 'localhost' }, { METRICS_ALLOWED_IPS: '10.0.0.0/33' }, { METRICS_ALLOWED_IPS: 'loopback' }]) {
      assert.throws(() => loadConfig({ ...base, ...bad }), ConfigError, JSON.stringify(bad));
    }
  });
});

describe('FastHistogram', () => {
  test("the same text as prom-client's Histogram for the same observations", async () => {
    const buckets = [0.001, 0.01, 0.1, 1];
    const theirs = new Registry();
    const ours = new Registry();
    const reference = new Histogram({ name: 'h', help: 'a histogram', labelNames: ['method', 'route', 'status'], buckets, registers: [theirs] });
    const fast = new FastHistogram('h', 'a histogram', ['method', 'route', 'status'], buckets, ours);
    const observations: Array<[number, string, string, number]> = [
      [0.0004, 'GET', '/a/:id', 200], [0.001, 'GET', '/a/:id', 200], [0.05, 'GET', '/a/:id', 404],
      [3, 'POST', '/a', 201], [0.2, 'GET', '/a/:id', 200], [0, 'POST', '/a', 201],
    ];
    for (const [value, method, route, status] of observations) {
      reference.observe({ method, route, status }, value);
      fast.observe(value, method, route, status);
    }
    assert.equal(await ours.metrics(), await theirs.metrics());

    const plainTheirs = new Registry();
    const plainOurs = new Registry();
    const plain = new Histogram({ name: 'p', help: 'no labels', buckets, registers: [plainTheirs] });
    const plainFast = new FastHistogram('p', 'no labels', [], buckets, plainOurs);
    for (const value of [0.5, 0.0001, 7]) {
      plain.observe(value);
      plainFast.observe(value);
    }
    assert.equal(await plainOurs.metrics(), await plainTheirs.metrics());
    assert.throws(() => fast.observe(1, 'GET'), /takes 3 label values/);
  });
});

describe('GET /-/metrics', () => {
  test('Prometheus text from loopback without a token, even with a bad one; Node process metrics included', async () => {
    const samples = await scrape(server);
    assert.ok(samples.has('process_cpu_user_seconds_total'), 'process metrics');
    assert.ok([...samples.keys()].some((k) => k.startsWith('nodejs_eventloop_lag')), 'event-loop lag');
    const withBadToken = await server.request('GET', '/-/metrics', { token: 'not-a-token' });
    assert.equal(withBadToken.status, 200);
  });

  test('other addresses get the 404 of an unknown path, including a client a trusted proxy names', async () => {
    const unknown = await server.request('GET', '/-/no-such-thing');
    const forwarded = await server.request('GET', '/-/metrics', { headers: { 'x-forwarded-for': '203.0.113.9' } });
    assert.equal(forwarded.status, 404);
    assert.equal(forwarded.text, unknown.text);
    assert.equal(forwarded.headers.get('content-type'), 'application/json');

    const elsewhere = await startTestServer({ METRICS_ALLOWED_IPS: '10.0.0.0/8,203.0.113.0/24' });
    try {
      const direct = await elsewhere.request('GET', '/-/metrics');
      assert.equal(direct.status, 404);
      assert.deepEqual(direct.body, { error: '404 Not Found' });
      const allowed = await elsewhere.request('GET', '/-/metrics', { headers: { 'x-forwarded-for': '203.0.113.9' } });
      assert.equal(allowed.status, 200);
      assert.match(allowed.text, /^# HELP /m);
    } finally {
      await elsewhere.close();
    }
  });

  test('never rate-limited', async () => {
    const limited = await startTestServer({ RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE: '2' });
    try {
      for (let i = 0; i < 5; i++) assert.equal((await limited.request('GET', '/-/metrics')).status, 200);
    } finally {
      await limited.close();
    }
  });

  test('METRICS_ENABLED=false: no route (404) and nothing recorded', async () => {
    const off = await startTestServer({ METRICS_ENABLED: 'false' });
    try {
      const before = await scrape(server);
      assert.equal((await off.request('GET', '/-/metrics')).status, 404);
      assert.equal(off.running.app.routeList.some((r) => r.url === '/-/metrics'), false);
      await off.request('GET', '/api/v4/user', { token: ROOT_TOKEN });
      const afterwards = await scrape(server);
      const count = { method: 'GET', route: '/api/v4/user', status: '200' };
      assert.equal(value(afterwards, 'http_request_duration_seconds_count', count), value(before, 'http_request_duration_seconds_count', count));
    } finally {
      await off.close();
    }
  });
});

describe('what is measured', () => {
  test('request durations by method, route template (never the raw path) and status; unmatched paths share one label', async () => {
    const before = await scrape(server);
    for (const id of [987654, 987655, 987656]) assert.equal((await server.request('GET', `/api/v4/projects/${id}`, { token: ROOT_TOKEN })).status, 404);
    assert.equal((await server.request('GET', '/api/v4/user', { token: ROOT_TOKEN })).status, 200);
    // Under /api: elsewhere any path may name a project's page (the web wildcard's 404).
    assert.equal((await server.request('GET', '/api/v4/no/such/path/4242')).status, 404);
    const samples = await scrape(server);
    const delta = (labels: Record<string, string>) =>
      value(samples, 'http_request_duration_seconds_count', labels) - value(before, 'http_request_duration_seconds_count', labels);
    assert.equal(delta({ method: 'GET', route: '/api/v4/projects/:id', status: '404' }), 3);
    assert.equal(delta({ method: 'GET', route: '/api/v4/user', status: '200' }), 1);
    assert.equal(delta({ method: 'GET', route: 'unmatched', status: '404' }), 1);
    const inf = value(samples, 'http_request_duration_seconds_bucket', { le: '+Inf', method: 'GET', route: '/api/v4/user', status: '200' });
    assert.equal(inf, value(samples, 'http_request_duration_seconds_count', { method: 'GET', route: '/api/v4/user', status: '200' }));
    assert.ok(value(samples, 'http_request_duration_seconds_sum', { method: 'GET', route: '/api/v4/user', status: '200' }) > 0);
    const raw = [...samples.keys()].filter((k) => /987654|4242/.test(k));
    assert.deepEqual(raw, []);
  });

  test('database: query durations by kind, connection waits, group-commit batches (SQLite) and pool gauges (PostgreSQL)', async () => {
    const before = await scrape(server);
    const project = await createProject(server, `metrics-db-${process.pid}`);
    // Writes in flight together: on SQLite they share group-commit batches.
    await Promise.all(Array.from({ length: 8 }, (_, i) => createRelease(server, project.id, `v${i}`)));
    const samples = await scrape(server);
    const moved = (name: string, labels?: Record<string, string>) => value(samples, name, labels) - value(before, name, labels);
    assert.ok(moved('relinks_db_query_duration_seconds_count', { operation: 'select' }) > 0);
    assert.ok(moved('relinks_db_query_duration_seconds_count', { operation: 'insert' }) >= 9);
    assert.ok(moved('relinks_db_query_duration_seconds_sum', { operation: 'select' }) > 0);
    assert.ok(moved('relinks_db_connection_acquire_seconds_count') > 0);
    if (server.store.kind === 'sqlite') {
      // On PostgreSQL, BEGIN and COMMIT go past Kysely's log (reconnect.ts runs them on the pooled connection).
      assert.ok(moved('relinks_db_query_duration_seconds_count', { operation: 'commit' }) > 0);
      const units = moved('relinks_group_commit_batch_size_sum');
      const batches = moved('relinks_group_commit_batch_size_count');
      assert.ok(batches > 0 && units >= 9, `${units} units in ${batches} batches`);
      assert.ok(batches <= units);
    } else {
      assert.ok(value(samples, 'relinks_db_pool_max') >= server.config.databasePoolMax);
      const open = value(samples, 'relinks_db_pool_connections', { state: 'idle' }) + value(samples, 'relinks_db_pool_connections', { state: 'in_use' });
      assert.ok(open >= 1, `open connections ${open}`);
      assert.ok(samples.has('relinks_db_pool_waiting'));
    }
  });

  test('rate-limit rejections, by throttle', async () => {
    const limited = await startTestServer({ RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE: '2' });
    try {
      const before = await scrape(limited);
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await limited.request('GET', '/api/v4/projects/1')).status);
      assert.deepEqual(statuses, [404, 404, 429, 429, 429]);
      const samples = await scrape(limited);
      const labels = { throttle: 'throttle_unauthenticated_api' };
      assert.equal(value(samples, 'relinks_rate_limit_rejections_total', labels) - value(before, 'relinks_rate_limit_rejections_total', labels), 3);
      const status = { method: 'GET', route: '/api/v4/projects/:id', status: '429' };
      assert.ok(value(samples, 'http_request_duration_seconds_count', status) - value(before, 'http_request_duration_seconds_count', status) === 3);
    } finally {
      await limited.close();
    }
  });

  test('direct asset downloads, by API and web URL; a miss is not a download', async () => {
    const project = await createProject(server, `metrics-dl-${process.pid}`);
    await createRelease(server, project.id, 'v1', [{ name: 'bin', url: 'https://cdn.example.com/bin', filepath: '/bin/tool' }]);
    const before = await scrape(server);
    const api = await server.request('GET', `/api/v4/projects/${project.id}/releases/v1/downloads/bin/tool`, { token: ROOT_TOKEN });
    assert.equal(api.status, 302);
    const miss = await server.request('GET', `/api/v4/projects/${project.id}/releases/v1/downloads/bin/other`, { token: ROOT_TOKEN });
    assert.equal(miss.status, 404);
    const web = await server.request('GET', `/${project.path_with_namespace}/-/releases/v1/downloads/bin/tool`, { token: ROOT_TOKEN });
    assert.equal(web.status, 302);
    const samples = await scrape(server);
    const moved = (via: string) => value(samples, 'relinks_downloads_total', { via }) - value(before, 'relinks_downloads_total', { via });
    assert.equal(moved('api'), 1);
    assert.equal(moved('web'), 1);
  });

  test('uploads, stored bytes and the webhook queue read 0 until their features register', async () => {
    let samples = await scrape(server);
    for (const name of ['relinks_uploads_total', 'relinks_upload_bytes_total', 'relinks_download_bytes_total', 'relinks_stored_bytes', 'relinks_webhook_queue_depth', 'relinks_webhook_queue_oldest_age_seconds']) {
      assert.equal(samples.get(name), 0, name);
    }
    setStoredBytesProbe(async () => 4096);
    setWebhookQueueProbe(() => ({ depth: 3, oldestAgeSeconds: 12.5 }));
    try {
      samples = await scrape(server);
      assert.equal(samples.get('relinks_stored_bytes'), 4096);
      assert.equal(samples.get('relinks_webhook_queue_depth'), 3);
      assert.equal(samples.get('relinks_webhook_queue_oldest_age_seconds'), 12.5);
    } finally {
      setStoredBytesProbe(undefined);
      setWebhookQueueProbe(undefined);
    }
  });
});

test('a statement is labelled by its first word, never by its text', async () => {
  const { operationOf } = await import('../src/store/measured.js');
  assert.equal(operationOf('select "id" from "links" where "id" = ?'), 'select');
  assert.equal(operationOf('  with recent as (select 1) select * from recent'), 'select');
  assert.equal(operationOf('INSERT into "links" ("name") values ($1)'), 'insert');
  assert.equal(operationOf('update "releases" set "name" = ?'), 'update');
  assert.equal(operationOf('delete from "links" where "id" = ?'), 'delete');
  assert.equal(operationOf('begin'), 'begin');
  assert.equal(operationOf('commit'), 'commit');
  assert.equal(operationOf('rollback'), 'rollback');
  assert.equal(operationOf('savepoint "unit"'), 'other');
  assert.equal(operationOf('(select 1)'), 'other');
  assert.equal(operationOf(''), 'other');
});
