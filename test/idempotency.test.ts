import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import { startTestServer, ROOT_TOKEN, type TestServer } from './helpers/server.js';
import { addMember, createProject, createRelease, createUser, type TestUser } from './helpers/fixtures.js';

// Idempotency-Key on POST links and POST releases (IETF httpapi idempotency-key draft): a retry
// with the same key and parameters gets the first response again and creates nothing; the same
// key with other parameters is a 422; keys belong to one user and one route and live 24 hours.

let server: TestServer;
let dev: TestUser;
let other: TestUser;
let projectId: number;

before(async () => {
  server = await startTestServer();
  dev = await createUser(server);
  other = await createUser(server);
  const project = await createProject(server, 'idem');
  projectId = project.id;
  await addMember(server, projectId, dev.id, 30);
  await addMember(server, projectId, other.id, 30);
});
after(async () => server.close());

const db = () => server.running.store.db;
let tags = 0;
const newRelease = async () => {
  const tag = `v${++tags}.0`;
  await createRelease(server, projectId, tag);
  return tag;
};
const linksPath = (tag: string) => `/api/v4/projects/${projectId}/releases/${tag}/assets/links`;
const linkRows = async (tag: string) =>
  db()
    .selectFrom('release_links')
    .innerJoin('releases', 'releases.id', 'release_links.release_id')
    .select(['release_links.id', 'release_links.name'])
    .where('releases.project_id', '=', projectId)
    .where('releases.tag_name', '=', tag)
    .execute();
const keyRows = async (key: string) => db().selectFrom('idempotency_keys').selectAll().where('key', '=', key).execute();

test('a retried link create with the same key returns the first response and creates no second link', async () => {
  const tag = await newRelease();
  const send = () =>
    server.request('POST', linksPath(tag), { token: dev.token, json: { name: 'bin', url: 'https://example.com/bin' }, headers: { 'Idempotency-Key': 'link-1' } });
  const first = await send();
  assert.equal(first.status, 201, first.text);
  assert.equal(first.headers.get('idempotent-replayed'), null);
  for (let i = 0; i < 3; i++) {
    const retry = await send();
    assert.equal(retry.status, 201, retry.text);
    assert.equal(retry.text, first.text);
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    assert.equal(retry.headers.get('content-type'), 'application/json');
  }
  assert.deepEqual((await linkRows(tag)).map((r) => r.id), [first.body.id]);
  // Without a key the same request is an ordinary duplicate.
  const plain = await server.request('POST', linksPath(tag), { token: dev.token, json: { name: 'bin', url: 'https://example.com/bin' } });
  assert.equal(plain.status, 400);
  assert.equal((await linkRows(tag)).length, 1);
});

test('the same key with other parameters is a 422 and changes nothing', async () => {
  const tag = await newRelease();
  const headers = { 'Idempotency-Key': 'link-2' };
  const first = await server.request('POST', linksPath(tag), { token: dev.token, json: { name: 'a', url: 'https://example.com/a' }, headers });
  assert.equal(first.status, 201);
  const other1 = await server.request('POST', linksPath(tag), { token: dev.token, json: { name: 'b', url: 'https://example.com/b' }, headers });
  assert.equal(other1.status, 422);
  assert.deepEqual(other1.body, { message: 'Idempotency-Key has already been used with different parameters' });
  assert.equal(other1.headers.get('content-type'), 'application/json');
  // Another release is another request too.
  const tag2 = await newRelease();
  const otherRelease = await server.request('POST', linksPath(tag2), { token: dev.token, json: { name: 'a', url: 'https://example.com/a' }, headers });
  assert.equal(otherRelease.status, 422);
  assert.equal((await linkRows(tag)).length, 1);
  assert.equal((await linkRows(tag2)).length, 0);
});

test('parameters sent as a form, or in another key order, are the same request', async () => {
  const tag = await newRelease();
  const headers = { 'Idempotency-Key': 'link-3' };
  const first = await server.request('POST', linksPath(tag), { token: dev.token, json: { url: 'https://example.com/c', name: 'c' }, headers });
  assert.equal(first.status, 201);
  const asForm = await server.request('POST', linksPath(tag), { token: dev.token, form: { name: 'c', url: 'https://example.com/c' }, headers });
  assert.equal(asForm.status, 201);
  assert.deepEqual(asForm.body, first.body);
  // The token may travel another way: credentials are not part of the request's identity.
  const byQuery = await server.request('POST', `${linksPath(tag)}?private_token=${dev.token}`, { json: { name: 'c', url: 'https://example.com/c' }, headers });
  assert.equal(byQuery.status, 201, byQuery.text);
  assert.deepEqual(byQuery.body, first.body);
  assert.equal((await linkRows(tag)).length, 1);
});

test('keys belong to one user: another user with the same key gets their own create, never the first response', async () => {
  const tag = await newRelease();
  const headers = { 'Idempotency-Key': 'shared-key' };
  const mine = await server.request('POST', linksPath(tag), { token: dev.token, json: { name: 'mine', url: 'https://example.com/mine' }, headers });
  assert.equal(mine.status, 201);
  const theirs = await server.request('POST', linksPath(tag), { token: other.token, json: { name: 'theirs', url: 'https://example.com/theirs' }, headers });
  assert.equal(theirs.status, 201, theirs.text);
  assert.notEqual(theirs.body.id, mine.body.id);
  assert.equal(theirs.headers.get('idempotent-replayed'), null);
  // Same parameters as the first user's: not a replay of theirs but a real (duplicate) create.
  const copy = await server.request('POST', linksPath(tag), {
    token: ROOT_TOKEN,
    json: { name: 'mine', url: 'https://example.com/mine' },
    headers,
  });
  assert.equal(copy.status, 400);
  assert.deepEqual((await linkRows(tag)).map((r) => r.name).sort(), ['mine', 'theirs']);
  assert.equal((await keyRows('shared-key')).length, 2);
});

test('keys belong to one route: the same key on POST releases and POST links are separate', async () => {
  const headers = { 'Idempotency-Key': 'route-key' };
  const release = await server.request('POST', `/api/v4/projects/${projectId}/releases`, {
    token: dev.token,
    json: { tag_name: 'route-1', ref: 'main' },
    headers,
  });
  assert.equal(release.status, 201, release.text);
  const link = await server.request('POST', linksPath('route-1'), { token: dev.token, json: { name: 'x', url: 'https://example.com/x' }, headers });
  assert.equal(link.status, 201, link.text);
  assert.equal(link.body.name, 'x');
});

test('a retried release create returns the original release, links and all, and creates one release', async () => {
  const headers = { 'Idempotency-Key': '"0f8fad5b-d9cb-469f-a165-70867728950e"' };
  const json = {
    tag_name: 'rel-1',
    ref: 'main',
    name: 'Release one',
    description: 'notes',
    assets: { links: [{ name: 'pkg', url: 'https://example.com/pkg', link_type: 'package' }] },
  };
  const first = await server.request('POST', `/api/v4/projects/${projectId}/releases`, { token: dev.token, json, headers });
  assert.equal(first.status, 201, first.text);
  // Later changes do not alter the stored answer: a retry sees the original response.
  const renamed = await server.request('PUT', `/api/v4/projects/${projectId}/releases/rel-1`, { token: dev.token, json: { name: 'Renamed' } });
  assert.equal(renamed.status, 200);
  const retry = await server.request('POST', `/api/v4/projects/${projectId}/releases`, { token: dev.token, json, headers });
  assert.equal(retry.status, 201, retry.text);
  assert.deepEqual(retry.body, first.body);
  assert.equal(retry.body.name, 'Release one');
  // The quoted (structured-field) and bare forms of a key are the same key.
  const bare = await server.request('POST', `/api/v4/projects/${projectId}/releases`, {
    token: dev.token,
    json,
    headers: { 'Idempotency-Key': '0f8fad5b-d9cb-469f-a165-70867728950e' },
  });
  assert.equal(bare.status, 201);
  assert.deepEqual(bare.body, first.body);
  const releases = await db().selectFrom('releases').select('id').where('project_id', '=', projectId).where('tag_name', '=', 'rel-1').execute();
  assert.equal(releases.length, 1);
  assert.equal((await linkRows('rel-1')).length, 1);
  const differs = await server.request('POST', `/api/v4/projects/${projectId}/releases`, {
    token: dev.token,
    json: { ...json, description: 'other notes' },
    headers,
  });
  assert.equal(differs.status, 422);
});

test('concurrent duplicates with one key create one link and all get its response', async () => {
  const tag = await newRelease();
  const send = () =>
    server.request('POST', linksPath(tag), { token: dev.token, json: { name: 'race', url: 'https://example.com/race' }, headers: { 'Idempotency-Key': 'race-key' } });
  const responses = await Promise.all(Array.from({ length: 12 }, send));
  const statuses = responses.map((r) => r.status);
  assert.deepEqual(statuses, statuses.map(() => 201), responses.map((r) => r.text).join('\n'));
  const ids = new Set(responses.map((r) => r.body.id));
  assert.equal(ids.size, 1);
  assert.deepEqual((await linkRows(tag)).map((r) => r.id), [...ids]);
  assert.equal((await keyRows('race-key')).length, 1);
});

test('concurrent release creates with one key create one release and all get its response', async () => {
  const send = () =>
    server.request('POST', `/api/v4/projects/${projectId}/releases`, {
      token: dev.token,
      json: { tag_name: 'race-rel', ref: 'main', assets: { links: [{ name: 'a', url: 'https://example.com/a' }] } },
      headers: { 'Idempotency-Key': 'race-release' },
    });
  const responses = await Promise.all(Array.from({ length: 8 }, send));
  assert.deepEqual(responses.map((r) => r.status), responses.map(() => 201), responses.map((r) => r.text).join('\n'));
  assert.equal(new Set(responses.map((r) => r.text)).size, 1);
  const rows = await db().selectFrom('releases').select('id').where('project_id', '=', projectId).where('tag_name', '=', 'race-rel').execute();
  assert.equal(rows.length, 1);
});

test('a failed create does not use up its key: the corrected retry creates', async () => {
  const tag = await newRelease();
  const headers = { 'Idempotency-Key': 'fix-me' };
  const bad = await server.request('POST', linksPath(tag), { token: dev.token, json: { name: 'f', url: 'not a url' }, headers });
  assert.equal(bad.status, 400);
  assert.equal((await keyRows('fix-me')).length, 0);
  const good = await server.request('POST', linksPath(tag), { token: dev.token, json: { name: 'f', url: 'https://example.com/f' }, headers });
  assert.equal(good.status, 201, good.text);
  // A caller without write access learns nothing from a key, and stores none.
  const reporter = await createUser(server);
  await addMember(server, projectId, reporter.id, 20);
  const denied = await server.request('POST', linksPath(tag), { token: reporter.token, json: { name: 'f', url: 'https://example.com/f' }, headers });
  assert.equal(denied.status, 403);
  const anonymous = await server.request('POST', linksPath(tag), { json: { name: 'f', url: 'https://example.com/f' }, headers });
  // Anonymous: the private project is not there for them (404), and there is no user to key on.
  assert.equal(anonymous.status, 404);
  assert.equal((await keyRows('fix-me')).length, 1);
});

test('keys expire after 24 hours: then the key may carry a new request', async () => {
  const tag = await newRelease();
  const headers = { 'Idempotency-Key': 'old-key' };
  const first = await server.request('POST', linksPath(tag), { token: dev.token, json: { name: 'old', url: 'https://example.com/old' }, headers });
  assert.equal(first.status, 201);
  const [row] = await keyRows('old-key');
  assert.equal(Date.parse(row.expires_at) - Date.parse(row.created_at), 24 * 60 * 60 * 1000);
  // Age the key past its day.
  const past = new Date(Date.now() - 60_000).toISOString();
  await db().updateTable('idempotency_keys').set({ created_at: new Date(Date.now() - 25 * 3600_000).toISOString(), expires_at: past }).where('id', '=', row.id).execute();
  const reused = await server.request('POST', linksPath(tag), { token: dev.token, json: { name: 'new', url: 'https://example.com/new' }, headers });
  assert.equal(reused.status, 201, reused.text);
  assert.notEqual(reused.body.id, first.body.id);
  const rows = await keyRows('old-key');
  assert.equal(rows.length, 1);
  assert.ok(rows[0].expires_at > new Date().toISOString());
});

test('malformed keys are a 400 and create nothing', async () => {
  const tag = await newRelease();
  for (const key of ['', '"unterminated', 'x'.repeat(256), 'caf\u00e9']) {
    const res = await fetch(server.url + linksPath(tag), {
      method: 'POST',
      headers: { 'private-token': dev.token, 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify({ name: 'm', url: 'https://example.com/m' }),
    }).catch(() => null);
    // fetch itself refuses some header values; those never reach the server.
    if (res === null) continue;
    assert.equal(res.status, 400, `key ${JSON.stringify(key)}`);
    const body = (await res.json()) as { error: string };
    assert.match(body.error, /Idempotency-Key is invalid/);
  }
  assert.equal((await linkRows(tag)).length, 0);
});

test('the key is written in the create\'s transaction: when it cannot be stored, the link is not created either', async () => {
  const tag = await newRelease();
  if (server.store.kind === 'sqlite') {
    await sql`create trigger fail_key before insert on idempotency_keys when new.key = 'boom' begin select raise(abort, 'injected failure'); end`.execute(db());
  } else {
    await sql`create function fail_key() returns trigger language plpgsql as $$ begin if new.key = 'boom' then raise exception 'injected failure'; end if; return new; end $$`.execute(db());
    await sql`create trigger fail_key before insert on idempotency_keys for each row execute function fail_key()`.execute(db());
  }
  try {
    const res = await server.request('POST', linksPath(tag), { token: dev.token, json: { name: 'boom', url: 'https://example.com/boom' }, headers: { 'Idempotency-Key': 'boom' } });
    assert.equal(res.status, 500);
    assert.equal((await linkRows(tag)).length, 0);
    const events = await db().selectFrom('audit_events').select('id').where('target_details', '=', 'boom').execute();
    assert.equal(events.length, 0);
  } finally {
    await sql`drop trigger fail_key${sql.raw(server.store.kind === 'postgres' ? ' on idempotency_keys' : '')}`.execute(db());
  }
});

test('expired keys are purged from the table', async () => {
  // The purge runs at most every ten minutes per process; a fresh server runs it on its first create.
  const fresh = await startTestServer();
  try {
    const project = await createProject(fresh, 'purge');
    await createRelease(fresh, project.id, 'v1');
    const path = `/api/v4/projects/${project.id}/releases/v1/assets/links`;
    const user = await fresh.running.store.db.selectFrom('users').select('id').where('username', '=', 'root').executeTakeFirstOrThrow();
    const long = new Date(Date.now() - 2 * 86_400_000).toISOString();
    await fresh.running.store.db
      .insertInto('idempotency_keys')
      .values({ user_id: user.id, scope: 'POST x', key: 'stale', fingerprint: 'f', status: 201, response: '{}', created_at: long, expires_at: long })
      .execute();
    const res = await fresh.request('POST', path, { token: ROOT_TOKEN, json: { name: 'p', url: 'https://example.com/p' }, headers: { 'Idempotency-Key': 'fresh' } });
    assert.equal(res.status, 201);
    const keys = await fresh.running.store.db.selectFrom('idempotency_keys').select('key').execute();
    assert.deepEqual(keys.map((k) => k.key), ['fresh']);
  } finally {
    await fresh.close();
  }
});
