import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestServer, ROOT_TOKEN, type TestServer } from './helpers/server.js';
import { repoRoot as ROOT } from './helpers/root.js';
import { createTestStore } from './helpers/store.js';
import { addMember, createGroup, createProject, createRelease, createUser, enc, type TestUser } from './helpers/fixtures.js';

// The calls around the links that make relinks usable (shared/gitlab-behavior.md §8, §10), the
// health probes, and the configuration check of `relinks serve`.

const EXTERNAL = 'http://relinks.test';
const LINK_KEYS = ['id', 'name', 'url', 'direct_asset_url', 'external', 'link_type'];

let server: TestServer;
const asRoot = (method: string, p: string, json?: unknown) => server.request(method, p, { token: ROOT_TOKEN, json });

before(async () => {
  server = await startTestServer();
});
after(async () => server.close());

describe('users and tokens', () => {
  test('POST /users: admin only, 201 with the user; duplicates by username or email (any case) are 409', async () => {
    const created = await asRoot('POST', '/api/v4/users', { username: 'alice', email: 'alice@example.com', name: 'Alice', password: 'secret-password' });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.headers.get('content-type'), 'application/json');
    assert.deepEqual(
      { id: typeof created.body.id, username: created.body.username, name: created.body.name, email: created.body.email, is_admin: created.body.is_admin, state: created.body.state },
      { id: 'number', username: 'alice', name: 'Alice', email: 'alice@example.com', is_admin: false, state: 'active' },
    );
    assert.equal(created.body.web_url, `${EXTERNAL}/alice`);
    assert.equal('password' in created.body || 'password_digest' in created.body, false);

    const dupName = await asRoot('POST', '/api/v4/users', { username: 'ALICE', email: 'other@example.com', name: 'A', password: 'secret-password' });
    assert.equal(dupName.status, 409);
    assert.equal(dupName.text, '{"message":"Username has already been taken"}');
    const dupMail = await asRoot('POST', '/api/v4/users', { username: 'alice2', email: 'Alice@Example.com', name: 'A', password: 'secret-password' });
    assert.equal(dupMail.status, 409);
    assert.equal(dupMail.text, '{"message":"Email has already been taken"}');

    const user = await createUser(server);
    const byUser = await server.request('POST', '/api/v4/users', { token: user.token, json: { username: 'carl', email: 'carl@example.com', name: 'C', password: 'secret-password' } });
    assert.equal(byUser.status, 403);
    assert.equal(byUser.text, '{"message":"403 Forbidden"}');
    const anonymous = await server.request('POST', '/api/v4/users', { json: { username: 'dora', email: 'dora@example.com', name: 'D', password: 'secret-password' } });
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.text, '{"message":"401 Unauthorized"}');

    const missing = await asRoot('POST', '/api/v4/users', { username: 'erin', name: 'E', password: 'secret-password' });
    assert.equal(missing.status, 400);
    assert.equal(missing.text, '{"error":"email is missing"}');
    // Nothing was written by the refused calls.
    const rows = await server.running.store.db.selectFrom('users').select('username').where('username', 'in', ['alice2', 'carl', 'dora', 'erin', 'ALICE']).execute();
    assert.deepEqual(rows, []);
  });

  test('GET /user is the token\'s user; anonymous is 401', async () => {
    const user = await createUser(server);
    const me = await server.request('GET', '/api/v4/user', { token: user.token });
    assert.equal(me.status, 200);
    assert.equal(me.body.id, user.id);
    assert.equal(me.body.username, user.username);
    assert.equal(me.body.email, `${user.username}@example.com`);
    const root = await asRoot('GET', '/api/v4/user');
    assert.equal(root.body.username, 'root');
    assert.equal(root.body.is_admin, true);
    const anonymous = await server.request('GET', '/api/v4/user');
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.text, '{"message":"401 Unauthorized"}');
  });

  test('GET /users/:id: public fields for others, the email for oneself and admins; 404 User Not Found', async () => {
    const a = await createUser(server);
    const b = await createUser(server);
    const byOther = await server.request('GET', `/api/v4/users/${a.id}`, { token: b.token });
    assert.equal(byOther.status, 200);
    assert.deepEqual(Object.keys(byOther.body), ['id', 'username', 'name', 'state', 'locked', 'avatar_url', 'web_url']);
    assert.equal(byOther.body.username, a.username);
    assert.equal((await server.request('GET', `/api/v4/users/${a.id}`, { token: a.token })).body.email, `${a.username}@example.com`);
    assert.equal((await asRoot('GET', `/api/v4/users/${a.id}`)).body.email, `${a.username}@example.com`);
    const missing = await asRoot('GET', '/api/v4/users/987654');
    assert.equal(missing.status, 404);
    assert.equal(missing.text, '{"message":"404 User Not Found"}');
    const bad = await asRoot('GET', '/api/v4/users/abc');
    assert.equal(bad.status, 400);
    assert.equal(bad.text, '{"error":"id is invalid"}');
  });

  test('POST /users/:id/personal_access_tokens: admin only; the token is in this response only', async () => {
    const user = await createUser(server);
    const res = await asRoot('POST', `/api/v4/users/${user.id}/personal_access_tokens`, { name: 'ci', scopes: ['api', 'read_api'], expires_at: '2999-12-31' });
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(Object.keys(res.body), ['id', 'name', 'revoked', 'created_at', 'scopes', 'user_id', 'last_used_at', 'active', 'expires_at', 'token']);
    assert.deepEqual(
      { ...res.body, id: 0, created_at: '', token: '' },
      { id: 0, name: 'ci', revoked: false, created_at: '', scopes: ['api', 'read_api'], user_id: user.id, last_used_at: null, active: true, expires_at: '2999-12-31', token: '' },
    );
    assert.match(res.body.created_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.ok(res.body.token.length >= 20);
    // The token works, and nothing stored or answered later holds it.
    const me = await server.request('GET', '/api/v4/user', { token: res.body.token });
    assert.equal(me.body.id, user.id);
    assert.equal(JSON.stringify(me.body).includes(res.body.token), false);
    const stored = await server.running.store.db.selectFrom('personal_access_tokens').selectAll().where('id', '=', res.body.id).executeTakeFirstOrThrow();
    assert.equal(Object.values(stored).some((v) => typeof v === 'string' && v.includes(res.body.token)), false);

    // Two tokens are never the same.
    const again = await asRoot('POST', `/api/v4/users/${user.id}/personal_access_tokens`, { name: 'ci', scopes: 'api,read_api' });
    assert.equal(again.status, 201, again.text);
    assert.notEqual(again.body.token, res.body.token);
    assert.deepEqual(again.body.scopes, ['api', 'read_api'], 'a comma-separated string is a list');
    assert.equal(again.body.expires_at, null);

    const bad = await asRoot('POST', `/api/v4/users/${user.id}/personal_access_tokens`, { name: 'x', scopes: ['nope'] });
    assert.equal(bad.status, 400);
    assert.equal(bad.text, '{"error":"scopes does not have a valid value"}');
    const noScopes = await asRoot('POST', `/api/v4/users/${user.id}/personal_access_tokens`, { name: 'x' });
    assert.equal(noScopes.text, '{"error":"scopes is missing"}');
    const byUser = await server.request('POST', `/api/v4/users/${user.id}/personal_access_tokens`, { token: user.token, json: { name: 'x', scopes: ['api'] } });
    assert.equal(byUser.status, 403);
    const missing = await asRoot('POST', '/api/v4/users/987654/personal_access_tokens', { name: 'x', scopes: ['api'] });
    assert.equal(missing.status, 404);
    assert.equal(missing.text, '{"message":"404 User Not Found"}');
  });
});

describe('groups and projects', () => {
  test('POST /groups, nested through parent_id', async () => {
    const top = await asRoot('POST', '/api/v4/groups', { name: 'Top Group', path: 'top' });
    assert.equal(top.status, 201, top.text);
    assert.equal(top.body.full_path, 'top');
    assert.equal(top.body.parent_id, null);
    assert.equal(top.body.web_url, `${EXTERNAL}/groups/top`);
    const sub = await asRoot('POST', '/api/v4/groups', { name: 'Sub', path: 'sub', parent_id: top.body.id });
    assert.equal(sub.status, 201, sub.text);
    assert.equal(sub.body.full_path, 'top/sub');
    assert.equal(sub.body.parent_id, top.body.id);
    const subsub = await asRoot('POST', '/api/v4/groups', { name: 'Deeper', path: 'deeper', parent_id: sub.body.id, visibility: 'public' });
    assert.equal(subsub.body.full_path, 'top/sub/deeper');
    assert.equal(subsub.body.visibility, 'public');

    const dup = await asRoot('POST', '/api/v4/groups', { name: 'Sub', path: 'sub', parent_id: top.body.id });
    assert.equal(dup.status, 400);
    const missingParent = await asRoot('POST', '/api/v4/groups', { name: 'x', path: 'x', parent_id: 987654 });
    assert.equal(missingParent.status, 404);
    const stranger = await createUser(server);
    const refused = await server.request('POST', '/api/v4/groups', { token: stranger.token, json: { name: 'in', path: 'in', parent_id: subsub.body.id } });
    assert.equal(refused.status, 403);
    // A private parent the stranger cannot see is 404, as GitLab's find_group!: a 403 would confirm it exists.
    const hidden = await server.request('POST', '/api/v4/groups', { token: stranger.token, json: { name: 'in', path: 'in', parent_id: top.body.id } });
    assert.equal(hidden.status, 404);
    assert.deepEqual(hidden.body, { message: '404 Group Not Found' });
    const missing = await asRoot('POST', '/api/v4/groups', { name: 'x' });
    assert.equal(missing.text, '{"error":"path is missing"}');
  });

  test('POST /projects with namespace_id and visibility: id, path_with_namespace, web_url', async () => {
    const group = await createGroup(server, 'projgroup');
    const res = await asRoot('POST', '/api/v4/projects', { name: 'My Project', path: 'my-project', namespace_id: group.id, visibility: 'public' });
    assert.equal(res.status, 201, res.text);
    assert.equal(typeof res.body.id, 'number');
    assert.equal(res.body.path_with_namespace, 'projgroup/my-project');
    assert.equal(res.body.web_url, `${EXTERNAL}/projgroup/my-project`);
    assert.equal(res.body.visibility, 'public');
    assert.equal(res.body.name, 'My Project');
    assert.equal(res.body.namespace.id, group.id);

    // The path comes from the name when not given; visibility defaults to private; namespace to the user's.
    const plain = await asRoot('POST', '/api/v4/projects', { name: 'hello' });
    assert.equal(plain.status, 201, plain.text);
    assert.equal(plain.body.path_with_namespace, 'root/hello');
    assert.equal(plain.body.visibility, 'private');
    // Form data works as curl sends it; namespace_id may be the namespace's path.
    const form = await server.request('POST', '/api/v4/projects', { token: ROOT_TOKEN, form: { name: 'formed', namespace_id: 'projgroup', visibility: 'internal' } });
    assert.equal(form.status, 201, form.text);
    assert.equal(form.body.path_with_namespace, 'projgroup/formed');
    assert.equal(form.body.visibility, 'internal');

    const dup = await asRoot('POST', '/api/v4/projects', { name: 'My Project', path: 'my-project', namespace_id: group.id });
    assert.equal(dup.status, 400);
    const badVisibility = await asRoot('POST', '/api/v4/projects', { name: 'v', visibility: 'secret' });
    assert.equal(badVisibility.text, '{"error":"visibility does not have a valid value"}');
    const none = await asRoot('POST', '/api/v4/projects', {});
    assert.equal(none.text, '{"error":"name, path are missing, at least one parameter must be provided"}');
    const noNamespace = await asRoot('POST', '/api/v4/projects', { name: 'n', namespace_id: 987654 });
    assert.equal(noNamespace.status, 404);
  });

  test('GET /projects/:id: permissions.project_access.access_level is the caller\'s role', async () => {
    const project = await createProject(server, `perm-${Date.now()}`);
    const shown = await asRoot('GET', `/api/v4/projects/${project.id}`);
    assert.equal(shown.status, 200);
    // root created it in its own namespace: it owns it.
    assert.equal(shown.body.permissions.project_access.access_level, 50);
    for (const level of [10, 20, 30, 40]) {
      const user = await createUser(server);
      await addMember(server, project.id, user.id, level);
      const res = await server.request('GET', `/api/v4/projects/${project.id}`, { token: user.token });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body.permissions, { project_access: { access_level: level, notification_level: 3 }, group_access: null });
    }
    const admin = await createUser(server, { admin: true });
    const byAdmin = await server.request('GET', `/api/v4/projects/${project.id}`, { token: admin.token });
    assert.equal(byAdmin.status, 200);
    assert.deepEqual(byAdmin.body.permissions, { project_access: null, group_access: null });
    for (const key of ['id', 'name', 'path', 'path_with_namespace', 'web_url', 'visibility', 'namespace', 'permissions', 'default_branch']) assert.ok(key in shown.body, key);
  });

  test('DELETE /projects/:id: owner or admin, 202, then 404 and its releases and links are gone', async () => {
    const owner = await createUser(server);
    const maintainer = await createUser(server);
    const made = await server.request('POST', '/api/v4/projects', { token: owner.token, json: { name: 'doomed' } });
    assert.equal(made.status, 201, made.text);
    const id = made.body.id as number;
    await addMember(server, id, maintainer.id, 40);
    await createRelease(server, id, 'v1', [{ name: 'a', url: 'https://example.com/a' }]);

    const refused = await server.request('DELETE', `/api/v4/projects/${id}`, { token: maintainer.token });
    assert.equal(refused.status, 403);
    const res = await server.request('DELETE', `/api/v4/projects/${id}`, { token: owner.token });
    assert.equal(res.status, 202, res.text);
    assert.equal(res.text, '{"message":"202 Accepted"}');
    for (const p of [`/api/v4/projects/${id}`, `/api/v4/projects/${id}/releases`, `/api/v4/projects/${enc(made.body.path_with_namespace)}/releases/v1/assets/links`]) {
      const gone = await asRoot('GET', p);
      assert.equal(gone.status, 404, p);
      assert.equal(gone.text, '{"message":"404 Project Not Found"}');
    }
    const db = server.running.store.db;
    assert.deepEqual(await db.selectFrom('releases').select('id').where('project_id', '=', id).execute(), []);
    assert.deepEqual(await db.selectFrom('tags').select('id').where('project_id', '=', id).execute(), []);
    assert.deepEqual(await db.selectFrom('release_links').select('id').where('name', '=', 'a').where('url', '=', 'https://example.com/a').execute(), []);
    // The path is free again.
    assert.equal((await server.request('POST', '/api/v4/projects', { token: owner.token, json: { name: 'doomed' } })).status, 201);
  });
});

describe('members', () => {
  let project: { id: number };
  let user: TestUser;
  before(async () => {
    project = await createProject(server, 'members');
    user = await createUser(server);
  });

  test('POST /projects/:id/members: 201 with the member, 409 when already one, 400 on a bad level, 404 for an unknown user', async () => {
    const res = await asRoot('POST', `/api/v4/projects/${project.id}/members`, { user_id: user.id, access_level: 30 });
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(
      { id: res.body.id, username: res.body.username, access_level: res.body.access_level, expires_at: res.body.expires_at },
      { id: user.id, username: user.username, access_level: 30, expires_at: null },
    );
    const again = await asRoot('POST', `/api/v4/projects/${project.id}/members`, { user_id: user.id, access_level: 40 });
    assert.equal(again.status, 409);
    assert.equal(again.text, '{"message":"Member already exists"}');
    const bad = await asRoot('POST', `/api/v4/projects/${project.id}/members`, { user_id: user.id, access_level: 35 });
    assert.equal(bad.status, 400);
    assert.equal(bad.text, '{"error":"access_level does not have a valid value"}');
    const unknown = await asRoot('POST', `/api/v4/projects/${project.id}/members`, { user_id: 987654, access_level: 30 });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.text, '{"message":"404 User Not Found"}');
    const missing = await asRoot('POST', `/api/v4/projects/${project.id}/members`, { access_level: 30 });
    assert.equal(missing.text, '{"error":"user_id is missing"}');
  });

  test('only maintainers and up add members', async () => {
    const developer = await createUser(server);
    const other = await createUser(server);
    await addMember(server, project.id, developer.id, 30);
    const refused = await server.request('POST', `/api/v4/projects/${project.id}/members`, { token: developer.token, json: { user_id: other.id, access_level: 10 } });
    assert.equal(refused.status, 403);
    assert.equal(refused.text, '{"message":"403 Forbidden"}');
  });

  test('GET /projects/:id/members/all/:user_id: direct and inherited members; others 404 Not found', async () => {
    const direct = await asRoot('GET', `/api/v4/projects/${project.id}/members/all/${user.id}`);
    assert.equal(direct.status, 200, direct.text);
    assert.equal(direct.body.access_level, 30);
    assert.equal(direct.body.id, user.id);
    const root = await asRoot('GET', `/api/v4/projects/${project.id}/members/all/1`);
    assert.equal(root.body.access_level, 50);
    const stranger = await createUser(server);
    const none = await asRoot('GET', `/api/v4/projects/${project.id}/members/all/${stranger.id}`);
    assert.equal(none.status, 404);
    assert.equal(none.text, '{"message":"404 Not found"}');
    const inheritedOwner = await createUser(server);
    const group = await createGroup(server, `inh-${Date.now()}`, { token: inheritedOwner.token });
    const inGroup = await createProject(server, 'p', { namespaceId: group.id });
    const inherited = await asRoot('GET', `/api/v4/projects/${inGroup.id}/members/all/${inheritedOwner.id}`);
    assert.equal(inherited.status, 200, inherited.text);
    assert.equal(inherited.body.access_level, 50);
  });
});

describe('tags and protected tags', () => {
  let projectId: number;
  before(async () => {
    projectId = (await createProject(server, 'tags')).id;
  });

  test('POST /repository/tags: 201 with the tag; 400 when it exists, when invalid, without ref', async () => {
    const res = await asRoot('POST', `/api/v4/projects/${projectId}/repository/tags`, { tag_name: 'v1.0.0', ref: 'main', message: 'first' });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.name, 'v1.0.0');
    assert.equal(res.body.message, 'first');
    assert.match(res.body.target, /^[0-9a-f]{40}$/);
    assert.equal(res.body.commit.id, res.body.target);
    const dup = await asRoot('POST', `/api/v4/projects/${projectId}/repository/tags`, { tag_name: 'v1.0.0', ref: 'main' });
    assert.equal(dup.status, 400);
    assert.equal(dup.text, '{"message":"Tag v1.0.0 already exists"}');
    for (const bad of ['v..1', 'a b', '-x', 'x.lock', 'x/', 'x~1', 'x^', 'x:y', 'x?', 'x*', 'x[', '@']) {
      const r = await asRoot('POST', `/api/v4/projects/${projectId}/repository/tags`, { tag_name: bad, ref: 'main' });
      assert.equal(r.status, 400, bad);
      assert.equal(r.text, '{"message":"Tag name invalid"}', bad);
    }
    const noRef = await asRoot('POST', `/api/v4/projects/${projectId}/repository/tags`, { tag_name: 'v2' });
    assert.equal(noRef.text, '{"error":"ref is missing"}');
  });

  test('GET /repository/tags and /repository/tags/:name', async () => {
    await asRoot('POST', `/api/v4/projects/${projectId}/repository/tags`, { tag_name: 'rel/2.0', ref: 'main' });
    const list = await asRoot('GET', `/api/v4/projects/${projectId}/repository/tags`);
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.map((t: { name: string }) => t.name), ['rel/2.0', 'v1.0.0']);
    assert.equal(list.headers.get('x-total'), '2');
    const one = await asRoot('GET', `/api/v4/projects/${projectId}/repository/tags/${enc('rel/2.0')}`);
    assert.equal(one.body.name, 'rel/2.0');
    const none = await asRoot('GET', `/api/v4/projects/${projectId}/repository/tags/nope`);
    assert.equal(none.status, 404);
    assert.equal(none.text, '{"message":"404 Tag Not Found"}');
  });

  test('protected tags: POST 201, GET list and one, DELETE 204, duplicates 422, missing 404', async () => {
    const created = await asRoot('POST', `/api/v4/projects/${projectId}/protected_tags`, { name: 'v*', create_access_level: 30 });
    assert.equal(created.status, 201, created.text);
    assert.deepEqual(Object.keys(created.body), ['name', 'create_access_levels']);
    assert.equal(created.body.name, 'v*');
    assert.deepEqual(
      created.body.create_access_levels.map((l: { access_level: number; access_level_description: string }) => [l.access_level, l.access_level_description]),
      [[30, 'Developers + Maintainers']],
    );
    const defaulted = await asRoot('POST', `/api/v4/projects/${projectId}/protected_tags`, { name: 'release-*' });
    assert.deepEqual(defaulted.body.create_access_levels.map((l: { access_level: number }) => l.access_level), [40]);
    const noOne = await asRoot('POST', `/api/v4/projects/${projectId}/protected_tags`, { name: 'frozen', create_access_level: 0 });
    assert.equal(noOne.body.create_access_levels[0].access_level_description, 'No one');
    const dup = await asRoot('POST', `/api/v4/projects/${projectId}/protected_tags`, { name: 'v*' });
    assert.equal(dup.status, 422);
    assert.equal(dup.text, '{"message":["Name has already been taken"]}');
    const badLevel = await asRoot('POST', `/api/v4/projects/${projectId}/protected_tags`, { name: 'x', create_access_level: 20 });
    assert.equal(badLevel.text, '{"error":"create_access_level does not have a valid value"}');

    const list = await asRoot('GET', `/api/v4/projects/${projectId}/protected_tags`);
    assert.deepEqual(list.body.map((p: { name: string }) => p.name), ['v*', 'release-*', 'frozen']);
    const one = await asRoot('GET', `/api/v4/projects/${projectId}/protected_tags/${enc('v*')}`);
    assert.deepEqual(one.body, created.body);

    const del = await asRoot('DELETE', `/api/v4/projects/${projectId}/protected_tags/${enc('v*')}`);
    assert.equal(del.status, 204);
    assert.equal(del.text, '');
    const again = await asRoot('DELETE', `/api/v4/projects/${projectId}/protected_tags/${enc('v*')}`);
    assert.equal(again.status, 404);
    assert.equal(again.text, '{"message":"404 Not found"}');
    assert.equal((await asRoot('GET', `/api/v4/projects/${projectId}/protected_tags/${enc('v*')}`)).status, 404);
  });

  test('a protected tag rule applies to tag creation and stops applying once deleted', async () => {
    const developer = await createUser(server);
    await addMember(server, projectId, developer.id, 30);
    const tag = (name: string) => server.request('POST', `/api/v4/projects/${projectId}/repository/tags`, { token: developer.token, json: { tag_name: name, ref: 'main' } });
    assert.equal((await tag('release-1')).status, 403);
    assert.equal((await tag('frozen')).status, 403);
    assert.equal((await tag('free-1')).status, 201);
    await asRoot('DELETE', `/api/v4/projects/${projectId}/protected_tags/${enc('release-*')}`);
    assert.equal((await tag('release-1')).status, 201);
  });
});

describe('releases', () => {
  let projectId: number;
  let base: string;
  before(async () => {
    projectId = (await createProject(server, 'releases')).id;
    base = `/api/v4/projects/${projectId}/releases`;
  });

  const db = () => server.running.store.db;
  const rowsFor = async (tag: string) => ({
    tags: (await db().selectFrom('tags').select('id').where('project_id', '=', projectId).where('name', '=', tag).execute()).length,
    releases: (await db().selectFrom('releases').select('id').where('project_id', '=', projectId).where('tag_name', '=', tag).execute()).length,
    links: (
      await db()
        .selectFrom('release_links as l')
        .innerJoin('releases as r', 'r.id', 'l.release_id')
        .select('l.id')
        .where('r.project_id', '=', projectId)
        .where('r.tag_name', '=', tag)
        .execute()
    ).length,
  });

  test('POST creates the tag from ref when absent, with inline links shaped like the links API', async () => {
    const res = await asRoot('POST', base, {
      tag_name: 'v1.0',
      ref: 'main',
      name: 'One',
      description: 'first',
      assets: { links: [{ name: 'bin', url: 'https://example.com/bin', filepath: '/bin/app', link_type: 'package' }, { name: 'docs', url: `${EXTERNAL}/root/releases/docs` }] },
    });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.tag_name, 'v1.0');
    assert.equal(res.body.name, 'One');
    assert.equal(res.body.description, 'first');
    assert.equal(res.body.assets.count, 2);
    for (const link of res.body.assets.links) assert.deepEqual(Object.keys(link), LINK_KEYS);
    const bin = res.body.assets.links.find((l: { name: string }) => l.name === 'bin');
    assert.equal(bin.direct_asset_url, `${EXTERNAL}/root/releases/-/releases/v1.0/downloads/bin/app`);
    assert.equal(bin.link_type, 'package');
    assert.equal(res.body.assets.links.find((l: { name: string }) => l.name === 'docs').external, false);
    const tag = await asRoot('GET', `/api/v4/projects/${projectId}/repository/tags/v1.0`);
    assert.equal(tag.status, 200);
    assert.equal(res.body.commit.id, tag.body.target);
    assert.deepEqual(await rowsFor('v1.0'), { tags: 1, releases: 1, links: 2 });

    // The same link objects wherever they appear.
    const links = (await asRoot('GET', `${base}/v1.0/assets/links`)).body;
    assert.deepEqual(res.body.assets.links, links);
    assert.deepEqual((await asRoot('GET', `${base}/v1.0`)).body.assets.links, links);
    assert.deepEqual((await asRoot('GET', base)).body.find((r: { tag_name: string }) => r.tag_name === 'v1.0').assets.links, links);
    assert.deepEqual((await asRoot('GET', `${base}/v1.0/assets/links/${bin.id}`)).body, bin);
  });

  test('POST on an existing tag needs no ref; without ref and without tag it is 422', async () => {
    await asRoot('POST', `/api/v4/projects/${projectId}/repository/tags`, { tag_name: 'v0.9', ref: 'main' });
    const res = await asRoot('POST', base, { tag_name: 'v0.9' });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.name, 'v0.9', 'the name defaults to the tag');
    const none = await asRoot('POST', base, { tag_name: 'v0.8' });
    assert.equal(none.status, 422);
    assert.equal(none.text, '{"message":"Ref is not specified"}');
    assert.deepEqual(await rowsFor('v0.8'), { tags: 0, releases: 0, links: 0 });
  });

  test('409 on a release that exists', async () => {
    const res = await asRoot('POST', base, { tag_name: 'v1.0', ref: 'main' });
    assert.equal(res.status, 409);
    assert.equal(res.text, '{"message":"Release already exists"}');
    assert.deepEqual(await rowsFor('v1.0'), { tags: 1, releases: 1, links: 2 });
  });

  test('one bad inline link creates nothing: no release, no links, no tag', async () => {
    const cases: [unknown[], number, string][] = [
      [[{ name: 'ok', url: 'https://example.com/ok' }, { name: 'bad', url: 'wrong_url' }], 400, '{"message":"Validation failed: Links url is blocked: Only allowed schemes are http, https, ftp"}'],
      [[{ name: 'ok', url: 'https://example.com/ok' }, { url: 'https://example.com/x' }], 400, '{"error":"assets[links][1][name] is missing"}'],
      [[{ name: 'a', url: 'https://example.com/a', link_type: 'bad' }], 400, '{"error":"assets[links][0][link_type] does not have a valid value"}'],
      [[{ name: ' ', url: 'https://example.com/blank' }], 400, '{"message":"Validation failed: Links name can\'t be blank"}'],
      [[{ name: 'f', url: 'https://example.com/f', filepath: 'no-slash' }], 400, '{"message":"Validation failed: Links filepath is in an invalid format"}'],
      [[{ name: 'f', url: 'https://example.com/f', direct_asset_path: '//x' }], 400, '{"message":"Validation failed: Links filepath is in an invalid format"}'],
      [[{ name: 'same', url: 'https://example.com/1' }, { name: 'same', url: 'https://example.com/2' }], 400, '{"message":"Validation failed: Links name has already been taken"}'],
    ];
    let n = 0;
    for (const [links, status, body] of cases) {
      const tag = `broken-${++n}`;
      const res = await asRoot('POST', base, { tag_name: tag, ref: 'main', assets: { links } });
      assert.equal(res.status, status, `${tag}: ${res.text}`);
      assert.equal(res.text, body, tag);
      assert.deepEqual(await rowsFor(tag), { tags: 0, releases: 0, links: 0 }, tag);
    }
  });

  test('inline links sent as form fields (assets[links][0][name]) work as curl sends them', async () => {
    const res = await server.request('POST', base, {
      token: ROOT_TOKEN,
      form: { tag_name: 'v-form', ref: 'main', 'assets[links][0][name]': 'f0', 'assets[links][0][url]': 'https://example.com/f0', 'assets[links][1][name]': 'f1', 'assets[links][1][url]': 'https://example.com/f1' },
    });
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(res.body.assets.links.map((l: { name: string }) => l.name).sort(), ['f0', 'f1']);
  });

  test('an empty links array is fine', async () => {
    const res = await asRoot('POST', base, { tag_name: 'v-empty', ref: 'main', assets: { links: [] } });
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(res.body.assets, { count: 0, sources: [], links: [] });
  });

  test('GET one, PUT (name, description, released_at) and DELETE (200 with the release; links gone)', async () => {
    const shown = await asRoot('GET', `${base}/v1.0`);
    assert.equal(shown.status, 200);
    const put = await asRoot('PUT', `${base}/v1.0`, { name: 'Uno', description: 'changed', released_at: '2030-01-02T03:04:05Z' });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.body.name, 'Uno');
    assert.equal(put.body.description, 'changed');
    assert.equal(put.body.released_at, '2030-01-02T03:04:05.000Z');
    assert.equal(put.body.upcoming_release, true);
    assert.deepEqual(put.body.assets.links, shown.body.assets.links);
    const bad = await asRoot('PUT', `${base}/v1.0`, { released_at: 'yesterday-ish' });
    assert.equal(bad.status, 400);
    assert.equal(bad.text, '{"error":"released_at is invalid"}');

    const deleted = await asRoot('DELETE', `${base}/v1.0`);
    assert.equal(deleted.status, 200, deleted.text);
    assert.equal(deleted.body.tag_name, 'v1.0');
    assert.equal(deleted.body.name, 'Uno');
    assert.deepEqual(deleted.body.assets.links, shown.body.assets.links);
    const after = await rowsFor('v1.0');
    // The tag stays (as on GitLab, deleting a release keeps its tag); the release and links go.
    assert.deepEqual(after, { tags: 1, releases: 0, links: 0 });
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const gone = await asRoot(method, `${base}/v1.0`, method === 'PUT' ? { name: 'x' } : undefined);
      assert.equal(gone.status, 404, method);
      assert.equal(gone.text, '{"message":"404 Not Found"}', method);
    }
    // It can be released again on the same tag without ref.
    assert.equal((await asRoot('POST', base, { tag_name: 'v1.0' })).status, 201);
  });

  test('GET list: newest released_at first, paginated', async () => {
    const list = await asRoot('GET', `${base}?per_page=2`);
    assert.equal(list.status, 200);
    assert.equal(list.body.length, 2);
    assert.equal(list.headers.get('x-per-page'), '2');
    const all = await asRoot('GET', `${base}?per_page=100`);
    const times = all.body.map((r: { released_at: string }) => r.released_at);
    assert.deepEqual(times, [...times].sort().reverse());
    assert.equal(list.headers.get('x-total'), String(all.body.length));
  });
});

describe('health probes', () => {
  test('/-/liveness, /-/readiness and /-/health answer 200 without credentials, even with a bad token', async () => {
    for (const token of [undefined, 'bad-token']) {
      const live = await server.request('GET', '/-/liveness', { token });
      assert.equal(live.status, 200);
      assert.deepEqual(live.body, { status: 'ok' });
      const ready = await server.request('GET', '/-/readiness', { token });
      assert.equal(ready.status, 200);
      assert.deepEqual(ready.body, { status: 'ok', master_check: [{ status: 'ok' }] });
      assert.equal(ready.headers.get('content-type'), 'application/json');
      const health = await server.request('GET', '/-/health', { token });
      assert.equal(health.status, 200);
      assert.match(health.text, /OK$/);
    }
  });
});

/** A port nobody listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Runs `node bin/relinks.js serve` (the built server) with this environment. */
function serve(env: Record<string, string>) {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/relinks.js'), 'serve'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (c) => (stderr += c));
  child.stdout.resume();
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
  return { child, exited };
}

// Each case spawns a process; they run side by side.
describe('configuration', { concurrency: true }, () => {
  const bad: [Record<string, string>, RegExp][] = [
    [{ PORT: 'eighty' }, /PORT must be an integer from 0 to 65535, got "eighty"/],
    [{ PORT: '70000' }, /PORT must be an integer/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL must be one of .*got "loud"/],
    [{ DATABASE_URL: 'mysql://localhost/x' }, /DATABASE_URL must be sqlite:<path> or postgres:/],
    [{ EXTERNAL_URL: 'not a url' }, /EXTERNAL_URL must be an absolute http\(s\) URL/],
    [{ EXTERNAL_URL: 'ftp://example.com' }, /EXTERNAL_URL must use http or https/],
    [{ RELINKS_INITIAL_ROOT_TOKEN: 'short' }, /RELINKS_INITIAL_ROOT_TOKEN must be at least 20 characters long/],
    [{ DATABASE_POOL_MAX: '0' }, /DATABASE_POOL_MAX must be an integer from 1 to/],
  ];
  for (const [env, message] of bad) {
    test(`relinks serve exits non-zero on ${JSON.stringify(env)}, saying why`, async () => {
      const { code, stderr } = await serve({ DATABASE_URL: 'sqlite::memory:', PORT: '0', ...env }).exited;
      assert.notEqual(code, 0);
      assert.match(stderr, message);
      assert.match(stderr, /^relinks: /);
      // A clear line, not a stack trace.
      assert.equal(stderr.includes('    at '), false, stderr);
    });
  }

});

describe('relinks serve', () => {
  test('with a good environment it serves, migrates, bootstraps root, and stops cleanly on SIGTERM', async () => {
    const store = await createTestStore();
    const port = await freePort();
    const token = 'spawned-root-token-0123456789';
    const { child, exited } = serve({ DATABASE_URL: store.databaseUrl, PORT: String(port), HOST: '127.0.0.1', RELINKS_INITIAL_ROOT_TOKEN: token });
    try {
      // Started once readiness answers (a generous deadline: a loaded machine starts slowly).
      let ready = 0;
      const deadline = Date.now() + 60_000;
      while (ready !== 200 && child.exitCode === null && Date.now() < deadline) {
        ready = await fetch(`http://127.0.0.1:${port}/-/readiness`).then((r) => r.status, () => 0);
        if (ready !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(ready, 200, `not ready; exit code ${child.exitCode}`);
      const me = await fetch(`http://127.0.0.1:${port}/api/v4/user`, { headers: { 'private-token': token } });
      assert.equal(me.status, 200);
      const body = (await me.json()) as { username: string; web_url: string };
      assert.equal(body.username, 'root');
      // EXTERNAL_URL defaults to http://localhost:<PORT>.
      assert.equal(body.web_url, `http://localhost:${port}/root`);
      child.kill('SIGTERM');
      const { code } = await exited;
      assert.equal(code, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
      await store.drop();
    }
  });
});
