import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { loadConfig } from '../src/config.js';
import { startServer, type Running } from '../src/server.js';
import { openStore } from '../src/store/db.js';
import { migrate } from '../src/store/migrate.js';
import { queryStore, requestTo } from './helpers/cluster.js';
import { ROOT_TOKEN } from './helpers/server.js';
import { createTestStore, postgresBaseUrl, type TestStore } from './helpers/store.js';
import { TcpProxy } from './helpers/tcp-proxy.js';

// PostgreSQL connection handling, on PostgreSQL in both runs of the suite (it is about the network
// between relinks and its database; SQLite has none). The server reaches the shared PostgreSQL
// through a TCP proxy that the test cuts, restores or breaks, so no other test is disturbed.

const POOL_MAX = 3;
const STALL_MS = 1000;

let store: TestStore;
let proxy: TcpProxy;
let server: Running;
let links: string;

const request = (method: string, path: string, json?: unknown) => requestTo(server.url, method, path, { token: ROOT_TOKEN, json });
/** A statement whose SQL holds all of `parts`, whether its text went over the wire now or when it was prepared by name. */
const runs = (...parts: string[]) => (sql: string) => parts.every((part) => sql.includes(part));

before(async () => {
  store = await createTestStore('postgres');
  // Migrated first, without the short stall timeout: other test files migrating their schemas at
  // the same time hold the database's one migration lock, and waiting on it is no stall.
  const direct = openStore({ databaseUrl: store.databaseUrl });
  await migrate(direct);
  await direct.close();
  const target = new URL(postgresBaseUrl());
  proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
  await proxy.start();
  const viaProxy = new URL(store.databaseUrl);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(proxy.port);
  server = await startServer(
    loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: viaProxy.toString(),
      DATABASE_POOL_MAX: String(POOL_MAX),
      DATABASE_STALL_TIMEOUT_MS: String(STALL_MS),
      EXTERNAL_URL: 'http://relinks.test',
      RELINKS_INITIAL_ROOT_TOKEN: ROOT_TOKEN,
      LOG_LEVEL: 'silent',
    }),
    { logger: false },
  );
  const project = await request('POST', '/api/v4/projects', { name: 'net', path: 'net' });
  assert.equal(project.status, 201, project.text);
  const release = await request('POST', `/api/v4/projects/${project.body.id}/releases`, { tag_name: 'v1', ref: 'main' });
  assert.equal(release.status, 201, release.text);
  links = `/api/v4/projects/${project.body.id}/releases/v1/assets/links`;
});

after(async () => {
  await server?.close();
  await proxy?.close();
  await store?.drop();
});

test('/-/readiness is 503 while the database is unreachable and 200 again once it is back, without a restart', async () => {
  const link = await request('POST', links, { name: 'before', url: 'https://example.com/before' });
  assert.equal(link.status, 201, link.text);
  assert.equal((await request('GET', '/-/readiness')).status, 200);

  await proxy.cut();
  const down = await request('GET', '/-/readiness');
  assert.equal(down.status, 503);
  assert.deepEqual(down.body, { status: 'failed', master_check: [{ status: 'failed', message: 'database unreachable' }] });
  // API requests say so too, instead of a 500: a load balancer or client can try again later.
  const read = await request('GET', `${links}/${link.body.id}`);
  assert.equal(read.status, 503);
  assert.deepEqual(read.body, { message: '503 Service Unavailable' });
  const write = await request('POST', links, { name: 'during', url: 'https://example.com/during' });
  assert.equal(write.status, 503);
  // Liveness is about the process, not the database: restarting it would not help.
  assert.equal((await request('GET', '/-/liveness')).status, 200);

  await proxy.restore();
  const up = await request('GET', '/-/readiness');
  assert.equal(up.status, 200, up.text);
  assert.deepEqual(up.body, { status: 'ok', master_check: [{ status: 'ok' }] });
  const again = await request('GET', `${links}/${link.body.id}`);
  assert.equal(again.status, 200);
  assert.deepEqual(again.body, link.body);
  const list = await request('GET', links);
  assert.deepEqual(list.body.map((l: { name: string }) => l.name), ['before']);
});

test('a read whose connection is lost mid-query is retried once on a fresh connection', async () => {
  const link = await request('POST', links, { name: 'read-retry', url: 'https://example.com/read-retry' });
  assert.equal(link.status, 201, link.text);
  const brokenBefore = proxy.broken;
  proxy.breakNext(runs('select', '"release_links"'));
  const read = await request('GET', `${links}/${link.body.id}`);
  assert.equal(proxy.broken, brokenBefore + 1, 'the proxy broke a connection under the read');
  assert.equal(read.status, 200, read.text);
  assert.deepEqual(read.body, link.body);
});

test('a transaction whose BEGIN finds the connection lost starts again on a fresh one', async () => {
  const brokenBefore = proxy.broken;
  proxy.breakNext((sql) => sql.startsWith('begin'));
  const created = await request('POST', links, { name: 'begin-retry', url: 'https://example.com/begin-retry' });
  assert.equal(proxy.broken, brokenBefore + 1, 'the proxy broke a connection under BEGIN');
  assert.equal(created.status, 201, created.text);
  const rows = await queryStore(store, "select id from release_links where name = 'begin-retry'");
  assert.deepEqual(rows.map((r) => Number(r.id)), [created.body.id]);
});

test('a write whose connection is lost mid-transaction is not retried: 503, nothing written, the client may retry', async () => {
  const brokenBefore = proxy.broken;
  proxy.breakNext(runs('insert into "release_links"'));
  const lost = await request('POST', links, { name: 'write-lost', url: 'https://example.com/write-lost' });
  assert.equal(proxy.broken, brokenBefore + 1, 'the proxy broke a connection under the insert');
  assert.equal(lost.status, 503, lost.text);
  assert.deepEqual(lost.body, { message: '503 Service Unavailable' });
  assert.deepEqual(await queryStore(store, "select id from release_links where name = 'write-lost'"), []);

  const retried = await request('POST', links, { name: 'write-lost', url: 'https://example.com/write-lost' });
  assert.equal(retried.status, 201, retried.text);
  const rows = await queryStore(store, "select id from release_links where name = 'write-lost'");
  assert.deepEqual(rows.map((r) => Number(r.id)), [retried.body.id]);
});

test('a read whose connection goes silent (no reset) is given up after the stall timeout and retried on a fresh one', async () => {
  const link = await request('POST', links, { name: 'read-stall', url: 'https://example.com/read-stall' });
  assert.equal(link.status, 201, link.text);
  const stalledBefore = proxy.stalled;
  proxy.stallNext(runs('select', '"release_links"'));
  const started = Date.now();
  const read = await request('GET', `${links}/${link.body.id}`);
  const took = Date.now() - started;
  assert.equal(proxy.stalled, stalledBefore + 1, 'the proxy froze a connection under the read');
  assert.equal(read.status, 200, read.text);
  assert.deepEqual(read.body, link.body);
  assert.ok(took >= STALL_MS && took < STALL_MS + 5000, `answered after ${took} ms`);
});

test('a write whose connection goes silent is given up after the stall timeout: 503, nothing written, a retry succeeds', async () => {
  const stalledBefore = proxy.stalled;
  proxy.stallNext(runs('insert into "release_links"'));
  const lost = await request('POST', links, { name: 'write-stall', url: 'https://example.com/write-stall' });
  assert.equal(proxy.stalled, stalledBefore + 1, 'the proxy froze a connection under the insert');
  assert.equal(lost.status, 503, lost.text);
  assert.deepEqual(lost.body, { message: '503 Service Unavailable' });
  assert.deepEqual(await queryStore(store, "select id from release_links where name = 'write-stall'"), []);
  const retried = await request('POST', links, { name: 'write-stall', url: 'https://example.com/write-stall' });
  assert.equal(retried.status, 201, retried.text);
});

test('DATABASE_STALL_TIMEOUT_MS is checked at start', () => {
  const base = { DATABASE_URL: 'postgres://x@127.0.0.1/db' };
  assert.equal(loadConfig(base).databaseStallTimeoutMs, 60_000);
  assert.equal(loadConfig({ ...base, DATABASE_STALL_TIMEOUT_MS: '2500' }).databaseStallTimeoutMs, 2500);
  for (const bad of ['0', '99', 'soon', '-1']) assert.throws(() => loadConfig({ ...base, DATABASE_STALL_TIMEOUT_MS: bad }), /DATABASE_STALL_TIMEOUT_MS/);
});

test(`DATABASE_POOL_MAX=${POOL_MAX} caps the connections one instance opens, even under concurrent load`, async () => {
  const responses = await Promise.all(Array.from({ length: 40 }, () => request('GET', links)));
  assert.deepEqual([...new Set(responses.map((r) => r.status))], [200]);
  assert.ok(proxy.peak >= 1 && proxy.peak <= POOL_MAX, `peak connections ${proxy.peak}, pool max ${POOL_MAX}`);
  assert.equal(server.store.pool?.options.max, POOL_MAX);
});

test('tenants in two schemas of one database migrate and introspect independently', async () => {
  const other = await createTestStore('postgres');
  const otherStore = openStore({ databaseUrl: other.databaseUrl, poolMax: 2 });
  try {
    // The server's schema already holds every table; the other schema gets all of its own.
    assert.ok((await migrate(otherStore)).includes('001_init'));
    assert.deepEqual(await migrate(otherStore), []);
    // An up-to-date schema takes no migration lock: another session holding it does not hold this up.
    const holder = await server.store.pool!.connect();
    try {
      await holder.query('select pg_advisory_lock(3853314791062309107)');
      assert.deepEqual(await migrate(otherStore), []);
    } finally {
      await holder.query('select pg_advisory_unlock(3853314791062309107)');
      holder.release();
    }
    const schemaOf = (url: string) => new URL(url).searchParams.get('schema');
    const mine = await server.store.db.introspection.getTables({ withInternalKyselyTables: true });
    const theirs = await otherStore.db.introspection.getTables({ withInternalKyselyTables: true });
    assert.deepEqual([...new Set(mine.map((t) => t.schema))], [schemaOf(store.databaseUrl)]);
    assert.deepEqual([...new Set(theirs.map((t) => t.schema))], [schemaOf(other.databaseUrl)]);
    assert.deepEqual(theirs.map((t) => t.name).sort(), mine.map((t) => t.name).sort());
    assert.ok(mine.some((t) => t.name === 'kysely_migration'));
    const links = mine.find((t) => t.name === 'release_links')!;
    const id = links.columns.find((c) => c.name === 'id')!;
    assert.deepEqual([id.isAutoIncrementing, id.isNullable, id.hasDefaultValue], [true, false, true]);
    assert.deepEqual(await queryStore(other, 'select count(*)::int as n from release_links'), [{ n: 0 }]);
  } finally {
    await otherStore.close();
    await other.drop();
  }
});
