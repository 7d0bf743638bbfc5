import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Gitlab } from '@gitbeaker/rest';
import { startTestServer, ROOT_TOKEN, type TestServer } from './helpers/server.js';
import { createGroup, createProject } from './helpers/fixtures.js';

// The order of a release's links (GitLab issue 30470). GitLab lists them newest first, so a
// release's inline links come back in the reverse of the order they were given in; that stays the
// default. `link_order=given` (relinks' own) lists them in the order given: the create's
// assets[links], then each link added since.

let server: TestServer;
let group: { id: number; full_path: string };
let project: { id: number; path_with_namespace: string };
const R = () => `/api/v4/projects/${project.id}/releases`;
const get = (path: string) => server.request('GET', path, { token: ROOT_TOKEN });
const names = (links: Array<{ name: string }>) => links.map((l) => l.name);
const GIVEN = ['linux', 'mac', 'windows', 'checksums'];
const given = (prefix = '') => GIVEN.map((name) => ({ name: `${prefix}${name}`, url: `https://example.com/${prefix}${name}` }));

before(async () => {
  server = await startTestServer();
  group = await createGroup(server, `lo${process.pid}`);
  project = await createProject(server, 'ordered', { namespaceId: group.id });
});
after(async () => server.close());

test('by default, GitLab\'s order: newest first, so inline links come back reversed, everywhere a release shows them', async () => {
  const created = await server.request('POST', R(), { token: ROOT_TOKEN, json: { tag_name: 'v1', ref: 'main', assets: { links: given() } } });
  assert.equal(created.status, 201, created.text);
  const reversed = [...GIVEN].reverse();
  assert.deepEqual(names(created.body.assets.links), reversed);
  assert.deepEqual(names((await get(`${R()}/v1`)).body.assets.links), reversed);
  assert.deepEqual(names((await get(`${R()}/v1/assets/links`)).body), reversed);
  assert.deepEqual(names((await get(R())).body[0].assets.links), reversed);
  assert.deepEqual(names((await get(`/api/v4/groups/${group.id}/releases`)).body[0].assets.links), reversed);
  // The stored rows are in the order given: ids ascend with it.
  const rows = await server.running.store.db.selectFrom('release_links').select(['id', 'name']).where('name', 'in', GIVEN).orderBy('id').execute();
  assert.deepEqual(names(rows), GIVEN);
  // Asked for by name, GitLab's order is the same.
  assert.deepEqual(names((await get(`${R()}/v1/assets/links?link_order=newest_first`)).body), reversed);
});

test('link_order=given: the order given, on every read of a release and on the links list', async () => {
  assert.deepEqual(names((await get(`${R()}/v1?link_order=given`)).body.assets.links), GIVEN);
  assert.deepEqual(names((await get(`${R()}/v1/assets/links?link_order=given`)).body), GIVEN);
  assert.deepEqual(names((await get(`${R()}?link_order=given`)).body[0].assets.links), GIVEN);
  assert.deepEqual(names((await get(`/api/v4/groups/${group.id}/releases?link_order=given`)).body[0].assets.links), GIVEN);
  // Through the permalink too, which keeps the query.
  const latest = await get(`${R()}/permalink/latest?link_order=given`);
  assert.equal(latest.status, 302);
  assert.deepEqual(names((await get(new URL(latest.headers.get('location')!, server.url).pathname + '?link_order=given')).body.assets.links), GIVEN);
  // Paged: page 2 of 2 a page continues the same order, and the Link header keeps it.
  const page2 = await get(`${R()}/v1/assets/links?link_order=given&per_page=2&page=2`);
  assert.deepEqual(names(page2.body), GIVEN.slice(2));
  assert.equal(page2.headers.get('x-total'), '4');
  assert.match(page2.headers.get('link')!, /link_order=given/);
  // Past the end: empty, with the count.
  const past = await get(`${R()}/v1/assets/links?link_order=given&per_page=2&page=5`);
  assert.deepEqual(past.body, []);
  assert.equal(past.headers.get('x-total'), '4');
});

test('a link added later comes last in the given order (first in GitLab\'s); an update moves no link', async () => {
  const added = await server.request('POST', `${R()}/v1/assets/links`, { token: ROOT_TOKEN, json: { name: 'source', url: 'https://example.com/source' } });
  assert.equal(added.status, 201, added.text);
  assert.deepEqual(names((await get(`${R()}/v1/assets/links?link_order=given`)).body), [...GIVEN, 'source']);
  assert.deepEqual(names((await get(`${R()}/v1/assets/links`)).body)[0], 'source');
  const mac = (await get(`${R()}/v1/assets/links`)).body.find((l: { name: string }) => l.name === 'mac');
  const renamed = await server.request('PUT', `${R()}/v1/assets/links/${mac.id}`, { token: ROOT_TOKEN, json: { name: 'macos' } });
  assert.equal(renamed.status, 200, renamed.text);
  assert.deepEqual(names((await get(`${R()}/v1/assets/links?link_order=given`)).body), ['linux', 'macos', 'windows', 'checksums', 'source']);
  await server.request('DELETE', `${R()}/v1/assets/links/${added.body.id}`, { token: ROOT_TOKEN });
  await server.request('PUT', `${R()}/v1/assets/links/${mac.id}`, { token: ROOT_TOKEN, json: { name: 'mac' } });
});

test('the create\'s own answer in the given order, with link_order in the body or the query; a form body keeps the order too', async () => {
  const inBody = await server.request('POST', R(), { token: ROOT_TOKEN, json: { tag_name: 'v2', ref: 'main', link_order: 'given', assets: { links: given('b-') } } });
  assert.equal(inBody.status, 201, inBody.text);
  assert.deepEqual(names(inBody.body.assets.links), GIVEN.map((n) => `b-${n}`));
  const inQuery = await server.request('POST', `${R()}?link_order=given`, { token: ROOT_TOKEN, json: { tag_name: 'v3', ref: 'main', assets: { links: given('q-') } } });
  assert.deepEqual(names(inQuery.body.assets.links), GIVEN.map((n) => `q-${n}`));
  // curl --data with Rails' bracketed names, as the API docs show.
  const form = new URLSearchParams([['tag_name', 'v4'], ['ref', 'main'], ['link_order', 'given']]);
  for (const link of given('f-')) {
    form.append('assets[links][][name]', link.name);
    form.append('assets[links][][url]', link.url);
  }
  const res = await fetch(server.url + R(), { method: 'POST', headers: { 'private-token': ROOT_TOKEN, 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
  const body = await res.json();
  assert.equal(res.status, 201, JSON.stringify(body));
  assert.deepEqual(names(body.assets.links), GIVEN.map((n) => `f-${n}`));
  assert.deepEqual(names((await get(`${R()}/v4/assets/links?link_order=given`)).body), GIVEN.map((n) => `f-${n}`));
});

test('an unknown link_order is Grape\'s 400, on reads and writes, and a refused create writes nothing', async () => {
  for (const path of [`${R()}/v1/assets/links?link_order=oldest`, `${R()}/v1?link_order=oldest`, `${R()}?link_order=GIVEN`, `/api/v4/groups/${group.id}/releases?link_order=1`]) {
    const res = await get(path);
    assert.equal(res.status, 400, path);
    assert.equal(res.text, '{"error":"link_order does not have a valid value"}', path);
  }
  const refused = await server.request('POST', R(), { token: ROOT_TOKEN, json: { tag_name: 'v9', ref: 'main', link_order: 'reverse', assets: { links: given('x-') } } });
  assert.equal(refused.text, '{"error":"link_order does not have a valid value"}');
  assert.equal(await server.running.store.db.selectFrom('releases').select('id').where('tag_name', '=', 'v9').executeTakeFirst(), undefined);
});

test('the OpenAPI document marks link_order as relinks\' own', async () => {
  const doc = (await server.request('GET', '/-/openapi.json')).body;
  for (const [path, method] of [
    ['/api/v4/projects/{id}/releases/{tag_name}/assets/links', 'get'],
    ['/api/v4/projects/{id}/releases', 'get'],
    ['/api/v4/projects/{id}/releases/{tag_name}', 'get'],
    ['/api/v4/groups/{id}/releases', 'get'],
  ]) {
    const param = doc.paths[path][method].parameters.find((p: { name: string }) => p.name === 'link_order');
    assert.equal(param?.schema['x-relinks'], true, `${method} ${path}`);
    assert.deepEqual(param.schema.enum, ['newest_first', 'given']);
  }
  const create = doc.paths['/api/v4/projects/{id}/releases'].post.requestBody.content['application/json'].schema;
  assert.equal(create.properties.link_order['x-relinks'], true);
});

test('@gitbeaker/rest passes linkOrder through as link_order', async () => {
  const api = new Gitlab({ host: server.url, token: ROOT_TOKEN });
  const links = await api.ReleaseLinks.all(project.id, 'v1', { linkOrder: 'given' } as never);
  assert.deepEqual(names(links as Array<{ name: string }>), GIVEN);
  const release = await api.ProjectReleases.show(project.id, 'v1', { linkOrder: 'given' } as never);
  assert.deepEqual(names((release.assets as { links: Array<{ name: string }> }).links), GIVEN);
  const byDefault = await api.ReleaseLinks.all(project.id, 'v1');
  assert.deepEqual(names(byDefault as Array<{ name: string }>), [...GIVEN].reverse());
});
