import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { TOKEN_CACHE_MS } from '../src/services/tokens.js';
import { createUser } from './helpers/fixtures.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { postgresBaseUrl } from './helpers/store.js';

// Token lookups are cached by digest for at most TOKEN_CACHE_MS. A change made through this
// instance's store (revoking, blocking) applies to the very next request; a change made elsewhere
// (another instance, a database console) within TOKEN_CACHE_MS.

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => server.close());

const whoAmI = (token: string) => server.request('GET', '/api/v4/user', { token });

/** A write from outside this process's store: another connection, as another instance would. */
async function writeElsewhere(statement: string): Promise<void> {
  if (server.store.kind === 'sqlite') {
    const db = new SQLite(server.store.databaseUrl.slice('sqlite:'.length));
    try {
      db.pragma('busy_timeout = 5000');
      db.prepare(statement).run();
    } finally {
      db.close();
    }
    return;
  }
  const schema = new URL(server.store.databaseUrl).searchParams.get('schema');
  const client = new pg.Client({ connectionString: postgresBaseUrl(), options: `-c search_path=${schema}` });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

test('a token revoked through this instance is refused on the very next request', async () => {
  const user = await createUser(server);
  for (let i = 0; i < 3; i++) assert.equal((await whoAmI(user.token)).status, 200);
  await server.running.store.db.updateTable('personal_access_tokens').set({ revoked: 1 }).where('user_id', '=', user.id).execute();
  const res = await whoAmI(user.token);
  assert.equal(res.status, 401);
  assert.deepEqual(res.body, { message: '401 Unauthorized' });
});

test('a user blocked through this instance is refused on the very next request', async () => {
  const user = await createUser(server);
  assert.equal((await whoAmI(user.token)).status, 200);
  await server.running.store.write((trx) => trx.updateTable('users').set({ state: 'blocked' }).where('id', '=', user.id).execute());
  assert.equal((await whoAmI(user.token)).status, 401);
});

test('a scope change through this instance applies on the very next request', async () => {
  const user = await createUser(server);
  assert.equal((await server.request('POST', '/api/v4/projects', { token: user.token, json: { name: 'scoped', path: 'scoped' } })).status, 201);
  await server.running.store.db.updateTable('personal_access_tokens').set({ scopes: 'read_api' }).where('user_id', '=', user.id).execute();
  const res = await server.request('POST', '/api/v4/projects', { token: user.token, json: { name: 'scoped2', path: 'scoped2' } });
  assert.equal(res.status, 403);
});

test('a token revoked elsewhere is refused once TOKEN_CACHE_MS has passed', async () => {
  assert.ok(TOKEN_CACHE_MS <= 1000, 'revocation must reach every instance within one second');
  const user = await createUser(server);
  assert.equal((await whoAmI(user.token)).status, 200);
  await writeElsewhere(`update personal_access_tokens set revoked = 1 where user_id = ${user.id}`);
  await new Promise((resolve) => setTimeout(resolve, TOKEN_CACHE_MS + 50));
  assert.equal((await whoAmI(user.token)).status, 401);
});

test('a user blocked elsewhere is refused once TOKEN_CACHE_MS has passed', async () => {
  const user = await createUser(server);
  assert.equal((await whoAmI(user.token)).status, 200);
  await writeElsewhere(`update users set state = 'blocked' where id = ${user.id}`);
  await new Promise((resolve) => setTimeout(resolve, TOKEN_CACHE_MS + 50));
  assert.equal((await whoAmI(user.token)).status, 401);
});

test('a token unknown at first and created afterwards works at once (misses are not cached)', async () => {
  const user = await createUser(server);
  const plain = 'rlpat-created-after-a-miss-0123456789';
  assert.equal((await whoAmI(plain)).status, 401);
  const { tokenDigest } = await import('../src/services/tokens.js');
  await writeElsewhere(
    `insert into personal_access_tokens (user_id, name, token_digest, scopes, expires_at, revoked, last_used_at, created_at)
     values (${user.id}, 'late', '${tokenDigest(plain)}', 'api', null, 0, null, '2024-01-01T00:00:00.000Z')`,
  );
  const res = await whoAmI(plain);
  assert.equal(res.status, 200);
  assert.equal(res.body.id, user.id);
});

test('last_used_at is written once for a burst of requests, not once per request', async () => {
  const user = await createUser(server);
  await Promise.all(Array.from({ length: 20 }, () => whoAmI(user.token)));
  const row = await server.running.store.db.selectFrom('personal_access_tokens').select('last_used_at').where('user_id', '=', user.id).executeTakeFirstOrThrow();
  assert.ok(row.last_used_at, 'last_used_at is set');
  const first = row.last_used_at;
  await Promise.all(Array.from({ length: 20 }, () => whoAmI(user.token)));
  const again = await server.running.store.db.selectFrom('personal_access_tokens').select('last_used_at').where('user_id', '=', user.id).executeTakeFirstOrThrow();
  assert.equal(again.last_used_at, first);
});
