import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import { Gitlab } from '@gitbeaker/rest';
import { startTestServer, ROOT_TOKEN, type TestServer } from './helpers/server.js';
import { addMember, createProject, createRelease, createUser, type TestUser } from './helpers/fixtures.js';

// relinks' own (GitLab MR 50300, never merged): PUT /projects/:id/releases/:tag_name with
// assets[links] makes the release's links exactly those given, in one transaction with the rest of
// the update and its audit event, with a create's checks and Idempotency-Key; a refusal changes nothing.

let server: TestServer;
let dev: TestUser;
let reporter: TestUser;
let project: { id: number };
let tags = 0;
const R = () => `/api/v4/projects/${project.id}/releases`;
const db = () => server.running.store.db;
const link = (name: string, extra: object = {}) => ({ name, url: `https://example.com/${name}`, ...extra });
const put = (tag: string, json: unknown, options: { token?: string; headers?: Record<string, string> } = {}) =>
  server.request('PUT', `${R()}/${tag}`, { token: options.token ?? dev.token, json, headers: options.headers });

before(async () => {
  server = await startTestServer();
  dev = await createUser(server);
  reporter = await createUser(server);
  project = await createProject(server, 'replace');
  await addMember(server, project.id, dev.id, 30);
  await addMember(server, project.id, reporter.id, 20);
});
after(async () => server.close());

async function newRelease(links: object[] = [link('a'), link('b'), link('c')]) {
  const tag = `v${++tags}`;
  await createRelease(server, project.id, tag, links);
  return tag;
}

/** The release's stored links in the order given (by id), and its other stored state. */
async function stored(tag: string) {
  const release = await db().selectFrom('releases').selectAll().where('project_id', '=', project.id).where('tag_name', '=', tag).executeTakeFirstOrThrow();
  const links = await db().selectFrom('release_links').select(['id', 'name', 'url', 'filepath', 'link_type']).where('release_id', '=', release.id).orderBy('id').execute();
  const milestones = await db().selectFrom('release_milestones').select('milestone_id').where('release_id', '=', release.id).execute();
  const events = Number((await db().selectFrom('audit_events').select(sql<string>`count(*)`.as('n')).where('target_type', '=', 'Release').where('target_id', '=', release.id).executeTakeFirstOrThrow()).n);
  return { release, links, milestones, events };
}

test('assets[links] replaces the links: exactly those given, in their order; links kept as they were at the start keep their ids', async () => {
  const tag = await newRelease();
  const before = await stored(tag);
  const res = await put(`${tag}?link_order=given`, { assets: { links: [link('a'), link('b', { link_type: 'package' }), link('d', { direct_asset_path: '/bin/d' })] } });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.body.assets.links.map((l: { name: string }) => l.name), ['a', 'b', 'd']);
  assert.equal(res.body.assets.count, 3);
  const after = await stored(tag);
  assert.deepEqual(after.links.map((l) => [l.name, l.link_type, l.filepath]), [['a', 'other', null], ['b', 'package', null], ['d', 'other', '/bin/d']]);
  // `a` is as it was: kept. `b` changed its type, so it and all after it are new rows.
  assert.equal(after.links[0].id, before.links[0].id);
  assert.ok(after.links[1].id > before.links[2].id);
  assert.deepEqual(res.body.assets.links.map((l: { id: number }) => l.id), after.links.map((l) => l.id));
  // GitLab's order by default: newest first.
  assert.deepEqual((await server.request('GET', `${R()}/${tag}/assets/links`, { token: dev.token })).body.map((l: { name: string }) => l.name), ['d', 'b', 'a']);
  // The new link's direct asset URL works.
  const download = await server.request('GET', `${R()}/${tag}/downloads/bin/d`, { token: dev.token });
  assert.equal(download.status, 302);
  assert.equal(download.headers.get('location'), 'https://example.com/d');
});

test('the same update again changes no link; [] removes them all; an update without assets leaves them alone', async () => {
  const tag = await newRelease();
  const links = [link('x'), link('y', { filepath: '/y' })];
  assert.equal((await put(tag, { assets: { links } })).status, 200);
  const first = await stored(tag);
  const again = await put(tag, { assets: { links } });
  assert.equal(again.status, 200, again.text);
  assert.deepEqual((await stored(tag)).links, first.links, 'same rows, same ids');
  const renamed = await put(tag, { name: 'Renamed' });
  assert.equal(renamed.body.name, 'Renamed');
  assert.deepEqual((await stored(tag)).links, first.links);
  const emptied = await put(tag, { assets: { links: [] } });
  assert.equal(emptied.status, 200, emptied.text);
  assert.deepEqual(emptied.body.assets, { count: 0, sources: [], links: [] });
  assert.deepEqual((await stored(tag)).links, []);
});

test('a form body replaces links too (curl --data with assets[links][][...])', async () => {
  const tag = await newRelease();
  const form = new URLSearchParams([['description', 'from a form']]);
  for (const name of ['one', 'two']) {
    form.append('assets[links][][name]', name);
    form.append('assets[links][][url]', `https://example.com/${name}`);
  }
  const res = await fetch(`${server.url}${R()}/${tag}?link_order=given`, { method: 'PUT', headers: { 'private-token': dev.token, 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.description, 'from a form');
  assert.deepEqual(body.assets.links.map((l: { name: string }) => l.name), ['one', 'two']);
});

test('the same checks as a create; any failure changes nothing at all (name, links, milestones, audit)', async () => {
  const milestone = await server.request('POST', `/api/v4/projects/${project.id}/milestones`, { token: ROOT_TOKEN, json: { title: 'm-keep' } });
  const tag = await newRelease();
  assert.equal((await put(tag, { milestones: ['m-keep'] })).status, 200);
  const before = await stored(tag);
  const refusals: Array<[unknown, string]> = [
    [{ name: 'X', assets: { links: [link('a'), link('a')] } }, '{"message":"Validation failed: Links url has already been taken, Links name has already been taken"}'],
    [{ name: 'X', assets: { links: [link('a', { filepath: '/p' }), link('b', { filepath: '/p' })] } }, '{"message":"Validation failed: Links filepath has already been taken"}'],
    [{ name: 'X', assets: { links: [{ name: 'bad', url: 'torrent://x' }] } }, '{"message":"Validation failed: Links url is blocked: Only allowed schemes are http, https, ftp"}'],
    [{ name: 'X', assets: { links: [{ name: ' ', url: 'https://example.com/blank' }] } }, '{"message":"Validation failed: Links name can\'t be blank"}'],
    [{ name: 'X', assets: { links: [link('f', { filepath: 'no-slash' })] } }, '{"message":"Validation failed: Links filepath is in an invalid format"}'],
    [{ name: 'X', assets: { links: Array.from({ length: 1001 }, (_, i) => link(`l${i}`)) } }, '{"message":"Validation failed: Links is too long (maximum is 1000 links per release)"}'],
    [{ name: 'X', assets: { links: [{ name: 'no-url' }] } }, '{"error":"assets[links][0][url] is missing"}'],
    [{ name: 'X', assets: { links: [link('a', { link_type: 'binary' })] } }, '{"error":"assets[links][0][link_type] does not have a valid value"}'],
    [{ name: 'X', milestones: ['nope'], assets: { links: [link('ok')] } }, '{"message":"Milestone(s) not found: nope"}'],
    [{ name: 'X', released_at: '2024-02-30T00:00:00Z', assets: { links: [link('ok')] } }, '{"error":"released_at is invalid"}'],
  ];
  for (const [json, body] of refusals) {
    const res = await put(tag, json);
    assert.equal(res.status, 400, JSON.stringify(json).slice(0, 200));
    assert.equal(res.text, body);
  }
  assert.deepEqual(await stored(tag), before);
  assert.equal(before.milestones[0].milestone_id, milestone.body.id);
  // Not allowed to change it: 403, nothing changed either.
  const forbidden = await put(tag, { assets: { links: [] } }, { token: reporter.token });
  assert.equal(forbidden.status, 403);
  assert.deepEqual(await stored(tag), before);
});

test('one audit event, in the same transaction, whose before and after list the links', async () => {
  const tag = await newRelease([link('old')]);
  const before = await stored(tag);
  const res = await put(tag, { description: 'new notes', assets: { links: [link('new', { filepath: '/new' })] } });
  assert.equal(res.status, 200, res.text);
  const after = await stored(tag);
  assert.equal(after.events, before.events + 1);
  const [event] = await db().selectFrom('audit_events').selectAll().where('target_type', '=', 'Release').where('target_id', '=', before.release.id).orderBy('id', 'desc').limit(1).execute();
  assert.equal(event.event_name, 'release_updated');
  const was = JSON.parse(event.before_json!);
  const is = JSON.parse(event.after_json!);
  assert.deepEqual(was.links.map((l: { name: string }) => l.name), ['old']);
  assert.deepEqual(is.links, [{ id: after.links[0].id, name: 'new', url: 'https://example.com/new', filepath: '/new', link_type: 'other' }]);
  assert.equal(is.description, 'new notes');
});

test('Idempotency-Key as on creates: a retry replays the first answer and changes nothing; other parameters are 422', async () => {
  const tag = await newRelease();
  const key = { 'Idempotency-Key': `put-${tag}` };
  const json = { assets: { links: [link('k1'), link('k2')] } };
  const first = await put(tag, json, { headers: key });
  assert.equal(first.status, 200, first.text);
  assert.equal(first.headers.get('idempotent-replayed'), null);
  const afterFirst = await stored(tag);
  // Meanwhile someone adds a link: a replay must not take it away again.
  const added = await server.request('POST', `${R()}/${tag}/assets/links`, { token: dev.token, json: link('k3') });
  assert.equal(added.status, 201);
  const retry = await put(tag, json, { headers: key });
  assert.equal(retry.status, 200);
  assert.equal(retry.text, first.text);
  assert.equal(retry.headers.get('idempotent-replayed'), 'true');
  const now = await stored(tag);
  assert.deepEqual(now.links.map((l) => l.name), ['k1', 'k2', 'k3']);
  assert.equal(now.events, afterFirst.events);
  const reused = await put(tag, { assets: { links: [link('other')] } }, { headers: key });
  assert.equal(reused.status, 422);
  assert.equal(reused.text, '{"message":"Idempotency-Key has already been used with different parameters"}');
  // A key is the route's: the same key on a create is another key.
  const create = await server.request('POST', R(), { token: dev.token, json: { tag_name: `${tag}-b`, ref: 'main' }, headers: key });
  assert.equal(create.status, 201, create.text);
  // A refused update stores no key: the corrected retry goes through.
  const bad = await put(tag, { assets: { links: [link('z'), link('z')] } }, { headers: { 'Idempotency-Key': `fix-${tag}` } });
  assert.equal(bad.status, 400);
  const fixed = await put(tag, { assets: { links: [link('z')] } }, { headers: { 'Idempotency-Key': `fix-${tag}` } });
  assert.equal(fixed.status, 200, fixed.text);
  assert.equal(fixed.body.assets.links[0].name, 'z');
});

test('GitLab\'s "params is empty" for an update that names nothing to change', async () => {
  const tag = await newRelease();
  const before = await stored(tag);
  for (const json of [{}, { link_order: 'given' }]) {
    const res = await put(tag, json);
    assert.equal(res.status, 400);
    assert.equal(res.text, '{"message":"params is empty"}');
  }
  assert.deepEqual(await stored(tag), before);
  // Existence and permission come first, as in GitLab.
  assert.equal((await put('nope', {})).text, '{"message":"404 Not Found"}');
  assert.equal((await put(tag, {}, { token: reporter.token })).status, 403);
});

test('racing replacements and link creates: every answer is a success or GitLab\'s error, and the result is one of the lists', async () => {
  const tag = await newRelease();
  const lists = Array.from({ length: 5 }, (_, i) => Array.from({ length: 5 }, (_, j) => link(`r${i}-${j}`)));
  const answers = await Promise.all([
    ...lists.map((links) => put(tag, { assets: { links } })),
    ...Array.from({ length: 5 }, (_, i) => server.request('POST', `${R()}/${tag}/assets/links`, { token: dev.token, json: link(`extra-${i}`) })),
  ]);
  for (const a of answers) assert.ok([200, 201].includes(a.status), `${a.status} ${a.text}`);
  const names = (await stored(tag)).links.map((l) => l.name);
  const base = lists.find((list) => names[0] === list[0].name);
  assert.ok(base, names.join(','));
  assert.deepEqual(names.slice(0, 5), base.map((l) => l.name), 'a whole list, never a mix');
  assert.ok(names.slice(5).every((n) => n.startsWith('extra-')), names.join(','));
});

test('a replacement racing an update of one of the links: GitLab\'s answers only, and the names stay unique', async () => {
  for (let round = 0; round < 5; round++) {
    const tag = await newRelease([link('a'), link('b')]);
    const b = (await stored(tag)).links[1];
    const [replaced, renamed] = await Promise.all([
      put(tag, { assets: { links: [link('a'), link('x')] } }),
      server.request('PUT', `${R()}/${tag}/assets/links/${b.id}`, { token: dev.token, json: { name: 'x' } }),
    ]);
    assert.equal(replaced.status, 200, replaced.text);
    // The rename landed first (and was then replaced), or found its link gone, or its name taken.
    assert.ok([200, 400, 404].includes(renamed.status), `${renamed.status} ${renamed.text}`);
    if (renamed.status === 400) assert.equal(renamed.text, '{"message":{"name":["has already been taken"]}}');
    assert.deepEqual((await stored(tag)).links.map((l) => [l.name, l.url]), [['a', 'https://example.com/a'], ['x', 'https://example.com/x']]);
  }
});

test('a release deleted meanwhile is a 404, and the update writes nothing', async () => {
  const tag = await newRelease();
  await server.request('DELETE', `${R()}/${tag}`, { token: ROOT_TOKEN });
  const res = await put(tag, { assets: { links: [link('late')] } });
  assert.equal(res.status, 404);
  assert.equal(res.text, '{"message":"404 Not Found"}');
  assert.equal(await db().selectFrom('release_links').select('id').where('name', '=', 'late').executeTakeFirst(), undefined);
});

test('@gitbeaker/rest ProjectReleases.edit with assets replaces the links', async () => {
  const tag = await newRelease();
  const api = new Gitlab({ host: server.url, token: dev.token });
  const edited = await api.ProjectReleases.edit(project.id, tag, { assets: { links: [{ name: 'gb', url: 'https://example.com/gb', linkType: 'image' }] } } as never);
  const links = (edited.assets as { links: Array<{ name: string; link_type: string }> }).links;
  assert.deepEqual(links.map((l) => [l.name, l.link_type]), [['gb', 'image']]);
});
