import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Gitlab } from '@gitbeaker/rest';
import { startTestServer, ROOT_TOKEN, type TestServer } from './helpers/server.js';
import { addMember, createProject, createRelease, createUser, enc, type TestUser } from './helpers/fixtures.js';

// DELETE /projects/:id/repository/tags/:tag_name (GitLab's Tags API and TagPolicy), and the tag
// JSON's `release` and `protected`.

let server: TestServer;
let developer: TestUser;
let maintainer: TestUser;
let reporter: TestUser;
let project: { id: number };
const tagsOf = () => `/api/v4/projects/${project.id}/repository/tags`;

before(async () => {
  server = await startTestServer();
  project = await createProject(server, `tagdel${process.pid}`);
  developer = await createUser(server);
  maintainer = await createUser(server);
  reporter = await createUser(server);
  await addMember(server, project.id, developer.id, 30);
  await addMember(server, project.id, maintainer.id, 40);
  await addMember(server, project.id, reporter.id, 20);
  // Protected for creation by Developers: deleting still needs a Maintainer.
  const rule = await server.request('POST', `/api/v4/projects/${project.id}/protected_tags`, { token: ROOT_TOKEN, json: { name: 'v*', create_access_level: 30 } });
  assert.equal(rule.status, 201, rule.text);
});
after(async () => server.close());

const tag = (name: string, token = ROOT_TOKEN) => server.request('POST', tagsOf(), { token, json: { tag_name: name, ref: 'main' } });

test('the tag JSON carries its release (tag_name and description) and whether a protected rule matches', async () => {
  await createRelease(server, project.id, 'v1.0');
  await server.request('PUT', `/api/v4/projects/${project.id}/releases/v1.0`, { token: ROOT_TOKEN, json: { description: 'notes' } });
  assert.equal((await tag('plain')).body.protected, false);
  const one = await server.request('GET', `${tagsOf()}/v1.0`, { token: ROOT_TOKEN });
  assert.equal(one.status, 200, one.text);
  assert.deepEqual(one.body.release, { tag_name: 'v1.0', description: 'notes' });
  assert.equal(one.body.protected, true);
  assert.deepEqual(Object.keys(one.body), ['name', 'message', 'target', 'commit', 'release', 'protected', 'created_at']);
  const list = await server.request('GET', `${tagsOf()}?per_page=100`, { token: ROOT_TOKEN });
  const plain = list.body.find((t: { name: string }) => t.name === 'plain');
  assert.equal(plain.release, null);
  assert.equal(plain.protected, false);
  assert.deepEqual(list.body.find((t: { name: string }) => t.name === 'v1.0').release, { tag_name: 'v1.0', description: 'notes' });
});

test('a Developer deletes an unprotected tag: 204, and the tag is gone', async () => {
  await tag('dev-tag');
  const res = await server.request('DELETE', `${tagsOf()}/dev-tag`, { token: developer.token });
  assert.equal(res.status, 204, res.text);
  assert.equal(res.text, '');
  const again = await server.request('DELETE', `${tagsOf()}/dev-tag`, { token: developer.token });
  assert.equal(again.status, 404);
  assert.equal(again.text, '{"message":"404 Tag Not Found"}');
  const rows = await server.running.store.db.selectFrom('tags').select('id').where('project_id', '=', project.id).where('name', '=', 'dev-tag').execute();
  assert.deepEqual(rows, []);
});

test('a protected tag: a Developer (even one allowed to create it) gets 403, a Maintainer deletes it', async () => {
  await tag('v2.0');
  const refused = await server.request('DELETE', `${tagsOf()}/v2.0`, { token: developer.token });
  assert.equal(refused.status, 403);
  assert.equal(refused.text, '{"message":"403 Forbidden"}');
  assert.equal((await server.request('GET', `${tagsOf()}/v2.0`, { token: ROOT_TOKEN })).status, 200);
  const done = await server.request('DELETE', `${tagsOf()}/v2.0`, { token: maintainer.token });
  assert.equal(done.status, 204, done.text);
});

test('a Reporter may not delete any tag; a private project stays 404 for strangers', async () => {
  await tag('rep-tag');
  const res = await server.request('DELETE', `${tagsOf()}/rep-tag`, { token: reporter.token });
  assert.equal(res.status, 403);
  const stranger = await createUser(server);
  const hidden = await server.request('DELETE', `${tagsOf()}/rep-tag`, { token: stranger.token });
  assert.equal(hidden.status, 404);
  assert.equal(hidden.text, '{"message":"404 Project Not Found"}');
  const anonymous = await server.request('DELETE', `${tagsOf()}/rep-tag`);
  assert.equal(anonymous.status, 404);
});

test('deleting a tag deletes its release and the release links, and audits the release deletion', async () => {
  await createRelease(server, project.id, 'rel/3', [{ name: 'bin', url: 'https://example.com/bin' }]);
  const res = await server.request('DELETE', `${tagsOf()}/${enc('rel/3')}`, { token: developer.token });
  assert.equal(res.status, 204, res.text);
  const gone = await server.request('GET', `/api/v4/projects/${project.id}/releases/${enc('rel/3')}`, { token: ROOT_TOKEN });
  assert.equal(gone.status, 404);
  const db = server.running.store.db;
  assert.deepEqual(await db.selectFrom('releases').select('id').where('project_id', '=', project.id).where('tag_name', '=', 'rel/3').execute(), []);
  const links = await db.selectFrom('release_links').innerJoin('releases', 'releases.id', 'release_links.release_id').select('release_links.id').where('releases.tag_name', '=', 'rel/3').execute();
  assert.deepEqual(links, []);
  const audit = await db.selectFrom('audit_events').select(['event_name', 'target_details']).where('project_id', '=', project.id).orderBy('id', 'desc').limit(1).executeTakeFirstOrThrow();
  assert.deepEqual(audit, { event_name: 'release_deleted', target_details: 'rel/3' });
});

test('a read_api token may not delete a tag', async () => {
  const readOnly = await createUser(server, { scopes: ['read_api'] });
  await addMember(server, project.id, readOnly.id, 40);
  await tag('ro-tag');
  const res = await server.request('DELETE', `${tagsOf()}/ro-tag`, { token: readOnly.token });
  assert.equal(res.status, 403);
  assert.equal(res.body.error, 'insufficient_scope');
});

test('@gitbeaker/rest Tags.remove deletes the tag and Tags.show then fails with 404', async () => {
  const api = new Gitlab({ host: server.url, token: maintainer.token });
  await tag('gb-tag');
  await api.Tags.remove(project.id, 'gb-tag');
  await assert.rejects(api.Tags.show(project.id, 'gb-tag'), (error: { cause?: { response?: { status: number } } }) => error.cause?.response?.status === 404);
});
