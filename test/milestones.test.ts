import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Gitlab } from '@gitbeaker/rest';
import { startTestServer, ROOT_TOKEN, type TestServer } from './helpers/server.js';
import { addMember, createProject, createUser, type TestUser } from './helpers/fixtures.js';

// Project milestones (GitLab's Milestones API and entity) and a release's milestones.

let server: TestServer;
let project: { id: number; path_with_namespace: string };
let reporter: TestUser;
let guest: TestUser;
const M = () => `/api/v4/projects/${project.id}/milestones`;
const R = () => `/api/v4/projects/${project.id}/releases`;
const as = (token: string) => (method: string, path: string, json?: unknown) => server.request(method, path, { token, json });
const root = as(ROOT_TOKEN);

before(async () => {
  server = await startTestServer();
  project = await createProject(server, `ms${process.pid}`);
  reporter = await createUser(server);
  guest = await createUser(server);
  await addMember(server, project.id, reporter.id, 20);
  await addMember(server, project.id, guest.id, 10);
});
after(async () => server.close());

test('POST creates a milestone: 201 with GitLab\'s fields in its order, iid numbered per project', async () => {
  const res = await as(reporter.token)('POST', M(), { title: 'v1.0', description: 'first', due_date: '2000-01-31', start_date: '2000-01-01' });
  assert.equal(res.status, 201, res.text);
  assert.deepEqual(Object.keys(res.body), ['id', 'iid', 'project_id', 'title', 'description', 'state', 'created_at', 'updated_at', 'due_date', 'start_date', 'expired', 'web_url']);
  assert.equal(res.body.iid, 1);
  assert.equal(res.body.project_id, project.id);
  assert.equal(res.body.state, 'active');
  assert.equal(res.body.expired, true);
  assert.equal(res.body.web_url, `http://relinks.test/${project.path_with_namespace}/-/milestones/1`);
  const second = await root('POST', M(), { title: 'v2.0', due_date: '2999-12-31' });
  assert.equal(second.body.iid, 2);
  assert.equal(second.body.expired, false);
  assert.equal(second.body.start_date, null);
  const row = await server.running.store.db.selectFrom('milestones').selectAll().where('id', '=', res.body.id).executeTakeFirstOrThrow();
  assert.equal(row.title, 'v1.0');
  assert.equal(row.due_date, '2000-01-31');
});

test('create errors: missing title, bad date, duplicate title, dates reversed, a Guest', async () => {
  assert.equal((await root('POST', M(), {})).text, '{"error":"title is missing"}');
  assert.equal((await root('POST', M(), { title: 'x', due_date: 'tomorrow' })).text, '{"error":"due_date is invalid"}');
  const dup = await root('POST', M(), { title: 'v1.0' });
  assert.equal(dup.status, 400);
  assert.equal(dup.text, JSON.stringify({ message: 'Failed to create milestone {:title=>["has already been taken"]}' }));
  const reversed = await root('POST', M(), { title: 'r', start_date: '2020-02-01', due_date: '2020-01-01' });
  assert.equal(reversed.text, JSON.stringify({ message: 'Failed to create milestone {:due_date=>["must be greater than start date"]}' }));
  const blank = await root('POST', M(), { title: ' ' });
  assert.equal(blank.text, JSON.stringify({ message: 'Failed to create milestone {:title=>["can\'t be blank"]}' }));
  const refused = await as(guest.token)('POST', M(), { title: 'g' });
  assert.equal(refused.status, 403);
  const stranger = await createUser(server);
  assert.equal((await as(stranger.token)('GET', M())).status, 404);
});

test('GET lists newest first, with state, title, search and iids; GET one by id; 404 Not found', async () => {
  const list = await as(guest.token)('GET', M());
  assert.equal(list.status, 200, list.text);
  assert.deepEqual(list.body.map((m: { title: string }) => m.title), ['v2.0', 'v1.0']);
  assert.equal(list.headers.get('x-total'), '2');
  assert.deepEqual((await root('GET', `${M()}?title=v1.0`)).body.map((m: { iid: number }) => m.iid), [1]);
  assert.deepEqual((await root('GET', `${M()}?search=FIRST`)).body.map((m: { iid: number }) => m.iid), [1]);
  assert.deepEqual((await root('GET', `${M()}?iids[]=2`)).body.map((m: { iid: number }) => m.iid), [2]);
  assert.deepEqual((await root('GET', `${M()}?iids[]=2&iids[]=1`)).body.map((m: { iid: number }) => m.iid), [2, 1]);
  assert.equal((await root('GET', `${M()}?iids[]=x`)).status, 400);
  assert.deepEqual((await root('GET', `${M()}?state=closed`)).body, []);
  const one = await root('GET', `${M()}/${list.body[1].id}`);
  assert.equal(one.body.title, 'v1.0');
  const missing = await root('GET', `${M()}/987654`);
  assert.equal(missing.status, 404);
  assert.equal(missing.text, '{"message":"404 Not found"}');
  assert.equal((await root('GET', `${M()}/abc`)).text, '{"error":"milestone_id is invalid"}');
});

test('PUT updates fields and closes or reopens with state_event; needs one parameter', async () => {
  const [v2] = (await root('GET', `${M()}?title=v2.0`)).body;
  const closed = await as(reporter.token)('PUT', `${M()}/${v2.id}`, { state_event: 'close', description: 'later' });
  assert.equal(closed.status, 200, closed.text);
  assert.equal(closed.body.state, 'closed');
  assert.equal(closed.body.description, 'later');
  assert.deepEqual((await root('GET', `${M()}?state=closed`)).body.map((m: { id: number }) => m.id), [v2.id]);
  const reopened = await root('PUT', `${M()}/${v2.id}`, { state_event: 'activate' });
  assert.equal(reopened.body.state, 'active');
  const none = await root('PUT', `${M()}/${v2.id}`, {});
  assert.equal(none.text, '{"error":"title, description, start_date, due_date, state_event are missing, at least one parameter must be provided"}');
  assert.equal((await root('PUT', `${M()}/${v2.id}`, { state_event: 'reopen' })).text, '{"error":"state_event does not have a valid value"}');
  const dup = await root('PUT', `${M()}/${v2.id}`, { title: 'v1.0' });
  assert.equal(dup.text, JSON.stringify({ message: 'Failed to update milestone {:title=>["has already been taken"]}' }));
  assert.equal((await as(guest.token)('PUT', `${M()}/${v2.id}`, { title: 'x' })).status, 403);
});

test('a release takes milestones by title on create and update; unknown titles are GitLab\'s 400; [] removes them', async () => {
  const unknown = await root('POST', R(), { tag_name: 'm0', ref: 'main', milestones: ['v1.0', 'nope', 'gone'] });
  assert.equal(unknown.status, 400);
  assert.equal(unknown.text, '{"message":"Milestone(s) not found: nope, gone"}');
  assert.deepEqual(await server.running.store.db.selectFrom('releases').select('id').where('project_id', '=', project.id).execute(), []);
  assert.deepEqual(await server.running.store.db.selectFrom('tags').select('id').where('project_id', '=', project.id).execute(), [], 'no tag either');

  const created = await root('POST', R(), { tag_name: 'm1', ref: 'main', milestones: ['v2.0', 'v1.0'] });
  assert.equal(created.status, 201, created.text);
  // GitLab's order: by due date, then start date, then title.
  assert.deepEqual(created.body.milestones.map((m: { title: string }) => m.title), ['v1.0', 'v2.0']);
  assert.deepEqual(created.body.milestones[0].issue_stats, { total: 0, closed: 0 });
  assert.deepEqual(Object.keys(created.body).slice(5, 9), ['upcoming_release', 'author', 'commit', 'milestones']);

  const updated = await root('PUT', `${R()}/m1`, { milestones: ['v2.0'] });
  assert.deepEqual(updated.body.milestones.map((m: { title: string }) => m.title), ['v2.0']);
  const bad = await root('PUT', `${R()}/m1`, { milestones: ['zzz'] });
  assert.equal(bad.text, '{"message":"Milestone(s) not found: zzz"}');
  assert.deepEqual((await root('GET', `${R()}/m1`)).body.milestones.map((m: { title: string }) => m.title), ['v2.0']);
  const cleared = await root('PUT', `${R()}/m1`, { milestones: [] });
  assert.equal('milestones' in cleared.body, false);
  const kept = await root('PUT', `${R()}/m1`, { description: 'no change to milestones' });
  assert.equal('milestones' in kept.body, false);
});

test('@gitbeaker/rest: ProjectMilestones create, all, edit; a release with milestones', async () => {
  const api = new Gitlab({ host: server.url, token: reporter.token });
  const made = await api.ProjectMilestones.create(project.id, 'gb-1', { description: 'from gitbeaker', dueDate: '2999-01-01' });
  assert.equal(made.title, 'gb-1');
  const all = await api.ProjectMilestones.all(project.id, { search: 'gb-' });
  assert.deepEqual(all.map((m) => m.title), ['gb-1']);
  const edited = await api.ProjectMilestones.edit(project.id, made.id, { stateEvent: 'close' });
  assert.equal(edited.state, 'closed');
  const rootApi = new Gitlab({ host: server.url, token: ROOT_TOKEN });
  const release = await rootApi.ProjectReleases.create(project.id, { tagName: 'gb-rel', ref: 'main', milestones: ['gb-1'] });
  assert.deepEqual((release.milestones as Array<{ title: string }>).map((m) => m.title), ['gb-1']);
});
