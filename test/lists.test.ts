import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Gitlab } from '@gitbeaker/rest';
import { startTestServer, ROOT_TOKEN, type TestServer } from './helpers/server.js';
import { createGroup, createProject, createUser, enc, type TestUser } from './helpers/fixtures.js';

// GET /projects, GET /groups, GET /groups/:id/projects, GET /groups/:id/releases: only what the
// caller may see, GitLab's filters and order, pagination headers.

let server: TestServer;
let member: TestUser;
let stranger: TestUser;
const n = process.pid;
const G = `lg${n}`;
const P = `lp${n}`;
const ids: Record<string, number> = {};

/** relinks has no group members route: the membership is written to the store. */
async function addGroupMember(groupId: number, userId: number, level: number) {
  await server.running.store.db.insertInto('members').values({ source_type: 'Namespace', source_id: groupId, user_id: userId, access_level: level, expires_at: null, created_at: new Date().toISOString() }).execute();
}

const release = async (project: number, tag: string, releasedAt: string) => {
  const res = await server.request('POST', `/api/v4/projects/${project}/releases`, { token: ROOT_TOKEN, json: { tag_name: tag, ref: 'main', released_at: releasedAt } });
  assert.equal(res.status, 201, res.text);
};

before(async () => {
  server = await startTestServer();
  member = await createUser(server);
  stranger = await createUser(server);
  const group = await createGroup(server, G);
  const sub = await createGroup(server, 'sub', { parentId: group.id });
  const pub = await createGroup(server, P, { visibility: 'public' });
  ids.group = group.id;
  ids.sub = sub.id;
  ids.pub = pub.id;
  await addGroupMember(group.id, member.id, 30);
  ids.alpha = (await createProject(server, 'alpha', { namespaceId: group.id })).id;
  ids.beta = (await createProject(server, 'beta', { namespaceId: sub.id })).id;
  ids.inner = (await createProject(server, 'inner', { namespaceId: group.id, visibility: 'internal' })).id;
  ids.open = (await createProject(server, 'open', { namespaceId: pub.id, visibility: 'public' })).id;
  ids.hidden = (await createProject(server, 'hidden', { namespaceId: pub.id })).id;
  await release(ids.alpha, 'a1', '2024-01-01T00:00:00Z');
  await release(ids.beta, 'b1', '2024-03-01T00:00:00Z');
  await release(ids.alpha, 'a2', '2024-02-01T00:00:00Z');
  await release(ids.open, 'o1', '2024-04-01T00:00:00Z');
});
after(async () => server.close());

const get = (path: string, token?: string) => server.request('GET', path, { token });
const names = (body: Array<{ path: string }>) => body.map((p) => p.path);
/** Only this test's projects: the server holds others' too when tests share it. */
const mine = (body: Array<{ id: number; path: string }>) => names(body.filter((p) => Object.values(ids).includes(p.id)));

test('GET /projects: anonymous sees public projects only', async () => {
  const res = await get('/api/v4/projects?per_page=100');
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(mine(res.body), ['open']);
  assert.equal(res.headers.get('x-page'), '1');
  assert.ok(res.headers.get('x-total'));
});

test('GET /projects: a member sees their group projects (subgroups inherited), internal and public; a stranger public and internal', async () => {
  const res = await get('/api/v4/projects?per_page=100&order_by=id&sort=asc', member.token);
  assert.deepEqual(mine(res.body), ['alpha', 'beta', 'inner', 'open']);
  const alpha = res.body.find((p: { path: string }) => p.path === 'alpha');
  assert.deepEqual(alpha.permissions, { project_access: null, group_access: { access_level: 30, notification_level: 3 } });
  const strangers = await get('/api/v4/projects?per_page=100&order_by=id&sort=asc', stranger.token);
  assert.deepEqual(mine(strangers.body), ['inner', 'open']);
  const admin = await get('/api/v4/projects?per_page=100&order_by=id&sort=asc', ROOT_TOKEN);
  assert.deepEqual(mine(admin.body), ['alpha', 'beta', 'inner', 'open', 'hidden']);
});

test('GET /projects: membership, visibility, search, simple, order_by, sort, pagination', async () => {
  assert.deepEqual(mine((await get('/api/v4/projects?membership=true&order_by=name&sort=asc', member.token)).body), ['alpha', 'beta', 'inner']);
  assert.deepEqual(mine((await get('/api/v4/projects?visibility=internal', member.token)).body), ['inner']);
  assert.deepEqual(mine((await get('/api/v4/projects?search=ET', member.token)).body), ['beta']);
  assert.deepEqual(mine((await get('/api/v4/projects?search=%25', member.token)).body), []);
  assert.deepEqual(mine((await get('/api/v4/projects?membership=true&order_by=name&sort=desc', member.token)).body), ['inner', 'beta', 'alpha']);
  const simple = await get('/api/v4/projects?simple=true&membership=true', member.token);
  assert.equal('permissions' in simple.body[0], false);
  assert.equal('_links' in simple.body[0], false);
  assert.equal(typeof simple.body[0].path_with_namespace, 'string');
  const page = await get('/api/v4/projects?membership=true&order_by=name&sort=asc&per_page=2&page=2', member.token);
  assert.deepEqual(names(page.body), ['inner']);
  assert.equal(page.headers.get('x-total'), '3');
  assert.equal(page.headers.get('x-total-pages'), '2');
  assert.equal(page.headers.get('x-prev-page'), '1');
  assert.equal((await get('/api/v4/projects?order_by=stars')).text, '{"error":"order_by does not have a valid value"}');
  assert.equal((await get('/api/v4/projects?membership=maybe')).text, '{"error":"membership is invalid"}');
  assert.deepEqual((await get('/api/v4/projects?membership=true')).body, []);
  // Owned: the user's own namespace and the groups they own, not a group where they are a Developer.
  const mineToo = await createProject(server, `own${n}`, { token: member.token });
  ids.own = mineToo.id;
  assert.deepEqual(mine((await get('/api/v4/projects?owned=true', member.token)).body), [`own${n}`]);
  assert.deepEqual(mine((await get('/api/v4/projects?owned=true&order_by=id&sort=asc', ROOT_TOKEN)).body), ['alpha', 'beta', 'inner', 'open', 'hidden']);
});

test('GET /groups: anonymous public groups, a member their groups, all_available every visible one', async () => {
  const ours = (body: Array<{ id: number; full_path: string }>) => body.filter((g) => [ids.group, ids.sub, ids.pub].includes(g.id)).map((g) => g.full_path);
  assert.deepEqual(ours((await get('/api/v4/groups?per_page=100')).body), [P]);
  assert.deepEqual(ours((await get('/api/v4/groups?per_page=100&order_by=id', member.token)).body), [G, `${G}/sub`]);
  assert.deepEqual(ours((await get('/api/v4/groups?per_page=100&all_available=true&order_by=id', member.token)).body), [G, `${G}/sub`, P]);
  assert.deepEqual(ours((await get('/api/v4/groups?per_page=100&order_by=id', stranger.token)).body), []);
  assert.deepEqual(ours((await get('/api/v4/groups?per_page=100&order_by=id&top_level_only=true', ROOT_TOKEN)).body), [G, P]);
  // The search looks at a group's own name and path, not its parent's.
  assert.deepEqual(ours((await get(`/api/v4/groups?search=${G}`, ROOT_TOKEN)).body), [G]);
  assert.deepEqual(ours((await get('/api/v4/groups?per_page=100&order_by=id&sort=desc', ROOT_TOKEN)).body), [P, `${G}/sub`, G]);
});

test('GET /groups/:id/projects: the group\'s visible projects, include_subgroups', async () => {
  const res = await get(`/api/v4/groups/${ids.group}/projects?order_by=id&sort=asc`, member.token);
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(names(res.body), ['alpha', 'inner']);
  assert.deepEqual(names((await get(`/api/v4/groups/${enc(G)}/projects?include_subgroups=true&order_by=id&sort=asc`, member.token)).body), ['alpha', 'beta', 'inner']);
  assert.deepEqual(names((await get(`/api/v4/groups/${ids.pub}/projects`)).body), ['open']);
  const hidden = await get(`/api/v4/groups/${ids.group}/projects`, stranger.token);
  assert.equal(hidden.status, 404);
  assert.equal(hidden.text, '{"message":"404 Group Not Found"}');
});

test('GET /groups/:id/releases: releases of the group and subgroups, by released_at; simple; only readable projects', async () => {
  const res = await get(`/api/v4/groups/${ids.group}/releases`, member.token);
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.body.map((r: { tag_name: string }) => r.tag_name), ['b1', 'a2', 'a1']);
  assert.equal(res.headers.get('x-total'), '3');
  assert.match(res.body[0]._links.self, new RegExp(`/${G}/sub/beta/-/releases/b1$`));
  const asc = await get(`/api/v4/groups/${ids.group}/releases?sort=asc&per_page=2`, member.token);
  assert.deepEqual(asc.body.map((r: { tag_name: string }) => r.tag_name), ['a1', 'a2']);
  assert.equal(asc.headers.get('x-next-page'), '2');
  const simple = await get(`/api/v4/groups/${ids.group}/releases?simple=true`, member.token);
  assert.deepEqual(Object.keys(simple.body[0]), ['name', 'tag_name', 'description', 'created_at', 'released_at', 'upcoming_release']);
  // A public group with a private project: anonymous sees only the public project's releases.
  await release(ids.hidden, 'h1', '2024-05-01T00:00:00Z');
  assert.deepEqual((await get(`/api/v4/groups/${ids.pub}/releases`)).body.map((r: { tag_name: string }) => r.tag_name), ['o1']);
  assert.deepEqual((await get(`/api/v4/groups/${ids.pub}/releases`, ROOT_TOKEN)).body.map((r: { tag_name: string }) => r.tag_name), ['h1', 'o1']);
  assert.equal((await get(`/api/v4/groups/${ids.group}/releases`)).status, 404);
});

test('@gitbeaker/rest: Projects.all, Groups.all, GroupReleases', async () => {
  const api = new Gitlab({ host: server.url, token: member.token });
  const projects = await api.Projects.all({ membership: true, orderBy: 'name', sort: 'asc' });
  assert.deepEqual(projects.map((p) => p.path), ['alpha', 'beta', 'inner', `own${n}`]);
  const groups = await api.Groups.all({ orderBy: 'id' });
  assert.deepEqual(groups.map((g) => g.full_path), [G, `${G}/sub`]);
  const releases = await api.GroupReleases.all(ids.group);
  assert.deepEqual(releases.map((r) => r.tag_name), ['b1', 'a2', 'a1']);
});
