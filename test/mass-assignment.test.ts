import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ROOT_TOKEN, startTestServer, type TestServer } from './helpers/server.js';
import { createProject, createRelease, createUser } from './helpers/fixtures.js';

// Mass assignment: fields a client must not set (ids, owners, timestamps, flags) are ignored in
// every body, JSON or form; the rows and the responses prove they changed nothing.

let server: TestServer;
let projectId: number;
let otherProjectId: number;

before(async () => {
  server = await startTestServer();
  projectId = (await createProject(server, `mass${process.pid}`)).id;
  otherProjectId = (await createProject(server, `massother${process.pid}`)).id;
});
after(async () => server?.close());

const db = () => server.running.store.db;
const FORGED = {
  id: 4242,
  release_id: 4242,
  project_id: 4242,
  author_id: 4242,
  user_id: 4242,
  creator_id: 4242,
  namespace_id_forged: 4242,
  created_at: '2001-01-01T00:00:00.000Z',
  updated_at: '2001-01-01T00:00:00.000Z',
  is_admin: 1,
  admin_flag: true,
  revoked: 1,
  token_digest: '0'.repeat(64),
  filepath_forged: '/x',
  external: false,
  direct_asset_url: 'https://evil.example/',
};

test('link create and update ignore id, release_id, timestamps and computed fields', async () => {
  const other = await createRelease(server, otherProjectId, 'v1');
  assert.ok(other);
  const otherRelease = await db().selectFrom('releases').select('id').where('project_id', '=', otherProjectId).executeTakeFirstOrThrow();
  await createRelease(server, projectId, 'v1');
  const release = await db().selectFrom('releases').selectAll().where('project_id', '=', projectId).where('tag_name', '=', 'v1').executeTakeFirstOrThrow();

  const started = new Date().toISOString();
  const created = await server.request('POST', `/api/v4/projects/${projectId}/releases/v1/assets/links`, {
    token: ROOT_TOKEN,
    json: { ...FORGED, release_id: otherRelease.id, name: 'bin', url: 'https://example.com/bin' },
  });
  assert.equal(created.status, 201, created.text);
  assert.notEqual(created.body.id, FORGED.id);
  assert.equal(created.body.external, true);
  assert.equal(created.body.direct_asset_url, 'https://example.com/bin');
  const row = await db().selectFrom('release_links').selectAll().where('id', '=', created.body.id).executeTakeFirstOrThrow();
  assert.equal(row.release_id, release.id, 'stays on the release of the URL');
  assert.ok(row.created_at >= started && row.updated_at >= started, 'timestamps are the server\'s');
  assert.equal(await db().selectFrom('release_links').select('id').where('id', '=', FORGED.id).executeTakeFirst(), undefined);

  const form = await server.request('POST', `/api/v4/projects/${projectId}/releases/v1/assets/links`, {
    token: ROOT_TOKEN,
    form: { id: '4243', release_id: String(otherRelease.id), created_at: '2001-01-01T00:00:00.000Z', name: 'bin2', url: 'https://example.com/bin2' },
  });
  assert.equal(form.status, 201, form.text);
  assert.notEqual(form.body.id, 4243);
  assert.equal((await db().selectFrom('release_links').select('release_id').where('id', '=', form.body.id).executeTakeFirstOrThrow()).release_id, release.id);

  const updated = await server.request('PUT', `/api/v4/projects/${projectId}/releases/v1/assets/links/${created.body.id}`, {
    token: ROOT_TOKEN,
    json: { ...FORGED, release_id: otherRelease.id, name: 'bin-renamed' },
  });
  assert.equal(updated.status, 200, updated.text);
  assert.equal(updated.body.id, created.body.id);
  const after = await db().selectFrom('release_links').selectAll().where('id', '=', created.body.id).executeTakeFirstOrThrow();
  assert.deepEqual({ ...after, updated_at: row.updated_at, name: row.name }, row, 'only name and updated_at change');
  assert.equal(after.name, 'bin-renamed');
  assert.ok(after.updated_at >= row.updated_at);
  // The other project's release got nothing.
  assert.equal((await db().selectFrom('release_links').select('id').where('release_id', '=', otherRelease.id).execute()).length, 0);
});

test('release create and update ignore project_id, author_id, id and timestamps', async () => {
  const developer = await createUser(server);
  const started = new Date().toISOString();
  const res = await server.request('POST', `/api/v4/projects/${projectId}/releases`, {
    token: ROOT_TOKEN,
    json: { ...FORGED, project_id: otherProjectId, author_id: developer.id, tag_name: 'v2', ref: 'main', assets: { links: [{ ...FORGED, name: 'a', url: 'https://example.com/a' }] } },
  });
  assert.equal(res.status, 201, res.text);
  assert.equal(res.body.author.username, 'root');
  assert.ok(res.body.created_at >= started);
  const release = await db().selectFrom('releases').selectAll().where('tag_name', '=', 'v2').execute();
  assert.equal(release.length, 1);
  assert.equal(release[0].project_id, projectId);
  assert.notEqual(release[0].id, FORGED.id);
  assert.notEqual(release[0].author_id, developer.id);
  const [link] = await db().selectFrom('release_links').selectAll().where('release_id', '=', release[0].id).execute();
  assert.notEqual(link.id, FORGED.id);
  assert.ok(link.created_at >= started);

  const put = await server.request('PUT', `/api/v4/projects/${projectId}/releases/v2`, {
    token: ROOT_TOKEN,
    json: { ...FORGED, project_id: otherProjectId, tag_name: 'v2-renamed', description: 'changed' },
  });
  assert.equal(put.status, 200, put.text);
  assert.equal(put.body.tag_name, 'v2');
  const after = await db().selectFrom('releases').selectAll().where('id', '=', release[0].id).executeTakeFirstOrThrow();
  assert.deepEqual({ ...after, description: release[0].description, updated_at: release[0].updated_at }, release[0]);
  assert.equal(after.description, 'changed');
});

test('users, tokens, projects and members ignore forged ownership and flags', async () => {
  const name = `forged${process.pid}`;
  const user = await server.request('POST', '/api/v4/users', {
    token: ROOT_TOKEN,
    json: { ...FORGED, username: name, email: `${name}@example.com`, name, password: 'secret-password', state: 'blocked', namespace_id: 1 },
  });
  assert.equal(user.status, 201, user.text);
  assert.equal(user.body.is_admin, false);
  const userRow = await db().selectFrom('users').selectAll().where('id', '=', user.body.id).executeTakeFirstOrThrow();
  assert.equal(userRow.is_admin, 0);
  assert.equal(userRow.state, 'active');
  assert.notEqual(userRow.id, FORGED.id);
  assert.notEqual(userRow.namespace_id, 1);

  const token = await server.request('POST', `/api/v4/users/${user.body.id}/personal_access_tokens`, {
    token: ROOT_TOKEN,
    json: { ...FORGED, user_id: 1, name: 't', scopes: ['read_api'], last_used_at: '2001-01-01T00:00:00.000Z' },
  });
  assert.equal(token.status, 201, token.text);
  assert.equal(token.body.user_id, user.body.id);
  assert.equal(token.body.revoked, false);
  const me = await server.request('GET', '/api/v4/user', { token: token.body.token });
  assert.equal(me.body.id, user.body.id, 'the token acts as its own user, not root');
  assert.equal(me.body.is_admin, false);

  const project = await server.request('POST', '/api/v4/projects', { token: token.body.token, json: { ...FORGED, name: 'nope' } });
  assert.equal(project.status, 403, 'read_api cannot write, forged fields or not');

  const member = await server.request('POST', `/api/v4/projects/${projectId}/members`, {
    token: ROOT_TOKEN,
    json: { ...FORGED, source_id: otherProjectId, source_type: 'Namespace', user_id: user.body.id, access_level: 30 },
  });
  assert.equal(member.status, 201, member.text);
  const rows = await db().selectFrom('members').selectAll().where('user_id', '=', user.body.id).where('source_type', '=', 'Project').execute();
  assert.deepEqual(rows.map((r) => [r.source_id, r.access_level]), [[projectId, 30]]);
});
