import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import { tokenDigest } from '../src/services/tokens.js';
import { ROOT_TOKEN, startTestServer, type TestServer } from './helpers/server.js';
import { createProject, createUser } from './helpers/fixtures.js';

// Tokens at rest and in use: the database holds digests only; last_used_at is written at most once
// a minute; expired and revoked tokens are 401.

let server: TestServer;

before(async () => {
  server = await startTestServer();
});
after(async () => server?.close());

const db = () => server.running.store.db;
const today = () => new Date().toISOString().slice(0, 10);
const dayOffset = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

async function tokenRow(token: string) {
  return db().selectFrom('personal_access_tokens').selectAll().where('token_digest', '=', tokenDigest(token)).executeTakeFirstOrThrow();
}

/** Every row of every table of this store, as text. */
async function everyRowAsText(): Promise<string> {
  if (server.store.kind === 'sqlite') {
    const tables = await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(db());
    const parts: string[] = [];
    for (const { name } of tables.rows) {
      const rows = await sql`select * from ${sql.table(name)}`.execute(db());
      parts.push(JSON.stringify(rows.rows));
    }
    return parts.join('\n');
  }
  const tables = await sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = current_schema()`.execute(db());
  const parts: string[] = [];
  for (const { table_name } of tables.rows) {
    const rows = await sql<{ j: string }>`select row_to_json(t)::text as j from ${sql.table(table_name)} t`.execute(db());
    parts.push(rows.rows.map((r) => r.j).join('\n'));
  }
  return parts.join('\n');
}

test('the database holds no token in plain text anywhere, only digests', async () => {
  const users = [await createUser(server), await createUser(server, { scopes: ['read_api'] })];
  const project = await createProject(server, `tokens${process.pid}`);
  const plain = [ROOT_TOKEN, ...users.map((u) => u.token)];
  const jobToken = await server.request('POST', `/api/v4/projects/${project.id}/ci/job_tokens`, { token: ROOT_TOKEN, json: {} });
  if (jobToken.status === 201 && typeof jobToken.body.token === 'string') plain.push(jobToken.body.token);
  // Use every token, so last-used bookkeeping has had its chance to write something.
  for (const token of plain) {
    const res = await server.request('GET', '/api/v4/user', { headers: { authorization: `Bearer ${token}` } });
    assert.ok([200, 401, 403].includes(res.status), res.text);
  }

  const text = await everyRowAsText();
  // The scan does see the token table: each personal token's digest is there.
  for (const token of plain.slice(0, 3)) assert.ok(text.includes(tokenDigest(token)), 'digest present');
  for (const token of plain) {
    assert.ok(!text.includes(token), `a token is stored in plain text: ${token.slice(0, 8)}…`);
  }
  if (server.store.kind === 'sqlite') {
    // Byte for byte, in the database file and its write-ahead log: not in any page, free or used.
    const file = server.store.databaseUrl.slice('sqlite:'.length);
    for (const f of [file, `${file}-wal`]) {
      if (!fs.existsSync(f)) continue;
      const bytes = fs.readFileSync(f);
      for (const token of plain) assert.equal(bytes.indexOf(token), -1, `${f} holds a token in plain text`);
    }
  }
});

test('last_used_at is written on first use, then at most once a minute', async () => {
  const user = await createUser(server);
  assert.equal((await tokenRow(user.token)).last_used_at, null);
  const first = await server.request('GET', '/api/v4/user', { token: user.token });
  assert.equal(first.status, 200);
  const used = (await tokenRow(user.token)).last_used_at;
  assert.ok(used, 'set on first use');
  for (let i = 0; i < 3; i++) {
    assert.equal((await server.request('GET', '/api/v4/user', { token: user.token })).status, 200);
  }
  assert.equal((await tokenRow(user.token)).last_used_at, used, 'unchanged within the minute');

  // A minute and more later, the next use writes it again. (Rewriting the name as well makes this
  // instance drop its cached copy of the token, as any change to a token row does.)
  const earlier = new Date(Date.now() - 120_000).toISOString();
  await db()
    .updateTable('personal_access_tokens')
    .set((eb) => ({ last_used_at: earlier, name: eb.ref('name') }))
    .where('token_digest', '=', tokenDigest(user.token))
    .execute();
  assert.equal((await server.request('GET', '/api/v4/user', { token: user.token })).status, 200);
  const later = (await tokenRow(user.token)).last_used_at!;
  assert.ok(later > earlier, `${later} after ${earlier}`);
});

test('an expired token is 401 from its expiry date on, however it got there', async () => {
  const user = await createUser(server);
  assert.equal((await server.request('GET', '/api/v4/user', { token: user.token })).status, 200);
  for (const [expiresAt, status] of [[dayOffset(1), 200], [today(), 401], [dayOffset(-1), 401], ['2000-01-01', 401]] as const) {
    await db().updateTable('personal_access_tokens').set({ expires_at: expiresAt }).where('token_digest', '=', tokenDigest(user.token)).execute();
    const res = await server.request('GET', '/api/v4/user', { token: user.token });
    assert.equal(res.status, status, `expires_at ${expiresAt}: ${res.text}`);
    if (status === 401) assert.deepEqual(res.body, { message: '401 Unauthorized' });
  }

  // Through the API: a token made with a past expiry date never works.
  const made = await server.request('POST', `/api/v4/users/${user.id}/personal_access_tokens`, {
    token: ROOT_TOKEN,
    json: { name: 'stale', scopes: ['api'], expires_at: dayOffset(-1) },
  });
  if (made.status === 201) {
    const res = await server.request('GET', '/api/v4/user', { token: made.body.token });
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, { message: '401 Unauthorized' });
  } else {
    assert.equal(made.status, 400, made.text);
  }
});

test('a revoked token is 401, by header, parameter and Bearer alike', async () => {
  const user = await createUser(server);
  await db().updateTable('personal_access_tokens').set({ revoked: 1 }).where('token_digest', '=', tokenDigest(user.token)).execute();
  for (const res of [
    await server.request('GET', '/api/v4/user', { token: user.token }),
    await server.request('GET', `/api/v4/user?private_token=${user.token}`),
    await server.request('GET', '/api/v4/user', { headers: { authorization: `Bearer ${user.token}` } }),
  ]) {
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, { message: '401 Unauthorized' });
  }
});
