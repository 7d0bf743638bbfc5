import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Gitlab } from '@gitbeaker/rest';
import { startTestServer, ROOT_TOKEN, type TestServer } from './helpers/server.js';
import { createProject } from './helpers/fixtures.js';

// A release's `milestones` (titles) and `milestone_ids` on create and update, as GitLab 17's
// Releases API takes them: a list or a comma-separated string (glab sends `--milestone a,b` as one
// string), never both together, with GitLab's 400 naming what the project lacks.

let server: TestServer;
let project: { id: number };
let other: { id: number };
const ids: Record<string, number> = {};
const R = () => `/api/v4/projects/${project.id}/releases`;
const root = (method: string, path: string, json?: unknown) => server.request(method, path, { token: ROOT_TOKEN, json });
const form = (method: string, path: string, fields: Array<[string, string]>) =>
  fetch(server.url + path, { method, headers: { 'private-token': ROOT_TOKEN, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() })
    .then(async (res) => ({ status: res.status, body: await res.json() }));
const titles = (release: { milestones?: Array<{ title: string }> }) => (release.milestones ?? []).map((m) => m.title);
let tags = 0;
const tag = () => `mp${++tags}`;

before(async () => {
  server = await startTestServer();
  project = await createProject(server, 'msparams');
  other = await createProject(server, 'msother');
  // Dated so that GitLab's order (due date, start date, title) is alpha, beta, gamma.
  for (const [title, due] of [['alpha', '2030-01-01'], ['beta', '2030-02-01'], ['gamma', '2030-03-01']]) {
    const res = await root('POST', `/api/v4/projects/${project.id}/milestones`, { title, due_date: due });
    assert.equal(res.status, 201, res.text);
    ids[title] = res.body.id;
  }
  const foreign = await root('POST', `/api/v4/projects/${other.id}/milestones`, { title: 'alpha' });
  ids.foreign = foreign.body.id;
  // A closed milestone may still be given (GitLab looks in every state).
  await root('PUT', `/api/v4/projects/${project.id}/milestones/${ids.gamma}`, { state_event: 'close' });
});
after(async () => server.close());

test('milestones as a list, as one comma-separated string (form and JSON), items split at commas and stripped', async () => {
  const list = await root('POST', R(), { tag_name: tag(), ref: 'main', milestones: ['beta', 'alpha'] });
  assert.equal(list.status, 201, list.text);
  assert.deepEqual(titles(list.body), ['alpha', 'beta']);
  // glab release create --milestone alpha,gamma: one form field.
  const glab = await form('POST', R(), [['tag_name', tag()], ['ref', 'main'], ['milestones', 'alpha,gamma']]);
  assert.equal(glab.status, 201, JSON.stringify(glab.body));
  assert.deepEqual(titles(glab.body), ['alpha', 'gamma']);
  const spaced = await root('POST', R(), { tag_name: tag(), ref: 'main', milestones: ' beta , gamma,' });
  assert.deepEqual(titles(spaced.body), ['beta', 'gamma']);
  const nested = await root('POST', R(), { tag_name: tag(), ref: 'main', milestones: ['alpha,beta', 'gamma'] });
  assert.deepEqual(titles(nested.body), ['alpha', 'beta', 'gamma']);
  const brackets = await form('POST', R(), [['tag_name', tag()], ['ref', 'main'], ['milestones[]', 'beta'], ['milestones[]', 'alpha']]);
  assert.deepEqual(titles(brackets.body), ['alpha', 'beta']);
});

test('milestone_ids as a list (numbers or strings) or a comma-separated string; another project\'s milestone is not found', async () => {
  const numbers = await root('POST', R(), { tag_name: tag(), ref: 'main', milestone_ids: [ids.gamma, ids.alpha] });
  assert.equal(numbers.status, 201, numbers.text);
  assert.deepEqual(titles(numbers.body), ['alpha', 'gamma']);
  const text = await form('POST', R(), [['tag_name', tag()], ['ref', 'main'], ['milestone_ids', `${ids.beta}, ${ids.alpha}`]]);
  assert.deepEqual(titles(text.body), ['alpha', 'beta']);
  const missing = await root('POST', R(), { tag_name: tag(), ref: 'main', milestone_ids: [ids.alpha, ids.foreign, 987654] });
  assert.equal(missing.status, 400);
  assert.equal(missing.text, `{"message":"Milestone id(s) not found: ${ids.foreign}, 987654"}`);
  // Ruby's to_i: "12abc" is 12, "x" is 0, "+007" is 7.
  const odd = await root('POST', R(), { tag_name: tag(), ref: 'main', milestone_ids: `x, 999999abc, +00${ids.alpha}, 99999999999999999999` });
  assert.equal(odd.text, '{"message":"Milestone id(s) not found: 0, 999999, 99999999999999999999"}');
});

test('unknown titles: GitLab\'s 400 in the order asked, repeats included; nothing is created', async () => {
  const t = tag();
  const res = await root('POST', R(), { tag_name: t, ref: 'main', milestones: ['nope', 'alpha', 'nope', 'Alpha'] });
  assert.equal(res.status, 400);
  assert.equal(res.text, '{"message":"Milestone(s) not found: nope, nope, Alpha"}');
  const db = server.running.store.db;
  assert.equal(await db.selectFrom('releases').select('id').where('tag_name', '=', t).executeTakeFirst(), undefined);
  assert.equal(await db.selectFrom('tags').select('id').where('name', '=', t).executeTakeFirst(), undefined);
});

test('both at once is Grape\'s mutually_exclusive error, on create and on update', async () => {
  const both = await root('POST', R(), { tag_name: tag(), ref: 'main', milestones: ['alpha'], milestone_ids: [ids.alpha] });
  assert.equal(both.status, 400);
  assert.equal(both.text, '{"error":"milestones, milestone_ids Cannot specify milestones and milestone_ids at the same time"}');
  const t = tag();
  await root('POST', R(), { tag_name: t, ref: 'main' });
  const update = await root('PUT', `${R()}/${t}`, { milestones: [], milestone_ids: [] });
  assert.equal(update.text, '{"error":"milestones, milestone_ids Cannot specify milestones and milestone_ids at the same time"}');
});

test('on update: either replaces the milestones; [] or an empty string removes them; without either they stay', async () => {
  const t = tag();
  await root('POST', R(), { tag_name: t, ref: 'main', milestones: ['alpha'] });
  const byIds = await root('PUT', `${R()}/${t}`, { milestone_ids: [ids.beta, ids.gamma] });
  assert.equal(byIds.status, 200, byIds.text);
  assert.deepEqual(titles(byIds.body), ['beta', 'gamma']);
  const kept = await root('PUT', `${R()}/${t}`, { description: 'notes' });
  assert.deepEqual(titles(kept.body), ['beta', 'gamma']);
  const unknown = await root('PUT', `${R()}/${t}`, { milestone_ids: [987654] });
  assert.equal(unknown.text, '{"message":"Milestone id(s) not found: 987654"}');
  assert.deepEqual(titles((await root('GET', `${R()}/${t}`)).body), ['beta', 'gamma']);
  const cleared = await root('PUT', `${R()}/${t}`, { milestone_ids: [] });
  assert.equal('milestones' in cleared.body, false);
  await root('PUT', `${R()}/${t}`, { milestones: 'alpha' });
  // curl --data milestones= : the empty string is an empty list.
  const emptied = await form('PUT', `${R()}/${t}`, [['milestones', '']]);
  assert.equal(emptied.status, 200, JSON.stringify(emptied.body));
  assert.equal('milestones' in emptied.body, false);
});

test('@gitbeaker/rest: ProjectReleases.create and edit with milestoneIds and milestones', async () => {
  const api = new Gitlab({ host: server.url, token: ROOT_TOKEN });
  const t = tag();
  const created = await api.ProjectReleases.create(project.id, { tagName: t, ref: 'main', milestoneIds: [ids.beta] } as never);
  assert.deepEqual(titles(created as never), ['beta']);
  const edited = await api.ProjectReleases.edit(project.id, t, { milestones: ['alpha', 'gamma'] });
  assert.deepEqual(titles(edited as never), ['alpha', 'gamma']);
  const shown = await api.ProjectMilestones.show(project.id, ids.gamma);
  assert.equal(shown.state, 'closed');
  const all = await api.ProjectMilestones.all(project.id, { state: 'all' } as never);
  assert.equal(all.length, 3);
});
