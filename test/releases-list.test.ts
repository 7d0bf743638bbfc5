import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Gitlab } from '@gitbeaker/rest';
import { startTestServer, ROOT_TOKEN, type TestServer } from './helpers/server.js';
import { createProject, enc } from './helpers/fixtures.js';

// GET /projects/:id/releases: order_by, sort, updated_before/after, include_html_description;
// the release JSON's description_html and _links (GitLab's Releases API and entity).

let server: TestServer;
let project: { id: number; path_with_namespace: string };
const releasesOf = () => `/api/v4/projects/${project.id}/releases`;
const get = (path: string) => server.request('GET', path, { token: ROOT_TOKEN });
const tagsOf = (body: Array<{ tag_name: string }>) => body.map((r) => r.tag_name);

before(async () => {
  server = await startTestServer();
  project = await createProject(server, `rlist${process.pid}`);
  // Created a, b, c in this order; released in the order c, a, b.
  for (const [tag, released] of [['a', '2024-02-01T00:00:00Z'], ['b', '2024-03-01T00:00:00Z'], ['c', '2024-01-01T00:00:00Z']]) {
    const res = await server.request('POST', releasesOf(), { token: ROOT_TOKEN, json: { tag_name: tag, ref: 'main', released_at: released, description: `# Notes ${tag}\n\n**bold** <script>alert(1)</script> [x](javascript:alert(1))` } });
    assert.equal(res.status, 201, res.text);
  }
  const db = server.running.store.db;
  for (const [tag, updated] of [['a', '2025-01-01T00:00:00.000Z'], ['b', '2025-02-01T00:00:00.000Z'], ['c', '2025-03-01T00:00:00.000Z']]) {
    await db.updateTable('releases').set({ updated_at: updated }).where('project_id', '=', project.id).where('tag_name', '=', tag).execute();
  }
});
after(async () => server.close());

test('the default order is released_at, newest first', async () => {
  const res = await get(releasesOf());
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(tagsOf(res.body), ['b', 'a', 'c']);
  assert.equal(res.headers.get('x-total'), '3');
});

test('order_by and sort', async () => {
  assert.deepEqual(tagsOf((await get(`${releasesOf()}?sort=asc`)).body), ['c', 'a', 'b']);
  assert.deepEqual(tagsOf((await get(`${releasesOf()}?order_by=created_at`)).body), ['c', 'b', 'a']);
  assert.deepEqual(tagsOf((await get(`${releasesOf()}?order_by=created_at&sort=asc`)).body), ['a', 'b', 'c']);
  const paged = await get(`${releasesOf()}?order_by=created_at&sort=asc&per_page=2&page=2`);
  assert.deepEqual(tagsOf(paged.body), ['c']);
  // The Link header keeps the order, so following it walks the same list.
  assert.match(paged.headers.get('link')!, /^<[^>]*\?order_by=created_at&sort=asc&per_page=2&page=1>; rel="prev"/);
});

test('bad order_by, sort or times are Grape 400s', async () => {
  const bad = await get(`${releasesOf()}?order_by=name`);
  assert.equal(bad.status, 400);
  assert.equal(bad.text, '{"error":"order_by does not have a valid value"}');
  const sort = await get(`${releasesOf()}?sort=up`);
  assert.equal(sort.text, '{"error":"sort does not have a valid value"}');
  const time = await get(`${releasesOf()}?updated_before=yesterday`);
  assert.equal(time.status, 400);
  assert.equal(time.text, '{"error":"updated_before is invalid"}');
  const calendar = await get(`${releasesOf()}?updated_after=2024-13-01`);
  assert.equal(calendar.text, '{"error":"updated_after is invalid"}');
});

test('updated_before and updated_after filter strictly, in any ISO 8601 form', async () => {
  assert.deepEqual(tagsOf((await get(`${releasesOf()}?updated_after=2025-01-01T00:00:00Z`)).body), ['b', 'c']);
  assert.deepEqual(tagsOf((await get(`${releasesOf()}?updated_before=2025-02-01`)).body), ['a']);
  const both = await get(`${releasesOf()}?updated_after=2025-01-15T00:00:00%2B01:00&updated_before=2025-02-15`);
  assert.deepEqual(tagsOf(both.body), ['b']);
  assert.equal(both.headers.get('x-total'), '1');
});

test('include_html_description adds description_html after description, rendered and sanitized', async () => {
  const plain = await get(`${releasesOf()}/a`);
  assert.equal('description_html' in plain.body, false);
  const res = await get(`${releasesOf()}?include_html_description=true`);
  const a = res.body.find((r: { tag_name: string }) => r.tag_name === 'a');
  assert.equal(a.description_html, '<h1>Notes a</h1>\n<p><strong>bold</strong> &lt;script&gt;alert(1)&lt;/script&gt; [x](javascript:alert(1))</p>');
  assert.deepEqual(Object.keys(a).slice(0, 5), ['name', 'tag_name', 'description', 'description_html', 'created_at']);
  const one = await get(`${releasesOf()}/a?include_html_description=true`);
  assert.equal(one.body.description_html, a.description_html);
  assert.equal('description_html' in (await get(`${releasesOf()}?include_html_description=false`)).body[0], false);
});

test('_links carries every URL GitLab sends, in its order', async () => {
  await server.request('POST', releasesOf(), { token: ROOT_TOKEN, json: { tag_name: 'rel/1 x', ref: 'main' } });
  const res = await get(`${releasesOf()}/${enc('rel/1 x')}`);
  const web = `http://relinks.test/${project.path_with_namespace}`;
  const q = (state: string) => `release_tag=rel%2F1+x&scope=all&state=${state}`;
  assert.deepEqual(res.body._links, {
    closed_issues_url: `${web}/-/issues?${q('closed')}`,
    closed_merge_requests_url: `${web}/-/merge_requests?${q('closed')}`,
    edit_url: `${web}/-/releases/rel%2F1%20x/edit`,
    merged_merge_requests_url: `${web}/-/merge_requests?${q('merged')}`,
    opened_issues_url: `${web}/-/issues?${q('opened')}`,
    opened_merge_requests_url: `${web}/-/merge_requests?${q('opened')}`,
    self: `${web}/-/releases/rel%2F1%20x`,
  });
  assert.deepEqual(Object.keys(res.body._links), ['closed_issues_url', 'closed_merge_requests_url', 'edit_url', 'merged_merge_requests_url', 'opened_issues_url', 'opened_merge_requests_url', 'self']);
  assert.equal('milestones' in res.body, false);
  await server.request('DELETE', `${releasesOf()}/${enc('rel/1 x')}`, { token: ROOT_TOKEN });
});

test('@gitbeaker/rest ProjectReleases.all with orderBy and sort', async () => {
  const api = new Gitlab({ host: server.url, token: ROOT_TOKEN });
  const asc = await api.ProjectReleases.all(project.id, { orderBy: 'created_at', sort: 'asc' });
  assert.deepEqual(asc.map((r) => r.tag_name), ['a', 'b', 'c']);
  const desc = await api.ProjectReleases.all(project.id, { orderBy: 'released_at', sort: 'desc' });
  assert.deepEqual(desc.map((r) => r.tag_name), ['b', 'a', 'c']);
  const html = await api.ProjectReleases.all(project.id, { includeHtmlDescription: true });
  assert.ok(html.every((r) => typeof r.description_html === 'string'));
});

test('order_by=semver (relinks\' own): stable versions by precedence, then pre-releases, then other tags; paged', async () => {
  const other = await createProject(server, `rsemver${process.pid}`);
  const tags = ['v1.10.0', 'v1.2.0', '1.10.0-rc.1', 'v2.0.0-alpha', 'nightly', 'v1.9.3', 'v2.0.0', 'v1.10.0-rc.2', 'alpha'];
  for (const tag of tags) {
    const res = await server.request('POST', `/api/v4/projects/${other.id}/releases`, { token: ROOT_TOKEN, json: { tag_name: tag, ref: 'main' } });
    assert.equal(res.status, 201, res.text);
  }
  const list = `/api/v4/projects/${other.id}/releases?order_by=semver`;
  assert.deepEqual(tagsOf((await get(list)).body), ['v2.0.0', 'v1.10.0', 'v1.9.3', 'v1.2.0', 'v2.0.0-alpha', 'v1.10.0-rc.2', '1.10.0-rc.1', 'alpha', 'nightly']);
  assert.deepEqual(tagsOf((await get(`${list}&sort=asc`)).body), ['v1.2.0', 'v1.9.3', 'v1.10.0', 'v2.0.0', '1.10.0-rc.1', 'v1.10.0-rc.2', 'v2.0.0-alpha', 'alpha', 'nightly']);
  const page = await get(`${list}&per_page=4&page=2`);
  assert.deepEqual(tagsOf(page.body), ['v2.0.0-alpha', 'v1.10.0-rc.2', '1.10.0-rc.1', 'alpha']);
  assert.equal(page.headers.get('x-total'), '9');
  assert.equal(page.headers.get('x-total-pages'), '3');
  await server.running.store.db.updateTable('releases').set({ updated_at: '2001-01-01T00:00:00.000Z' }).where('project_id', '=', other.id).where('tag_name', 'in', ['v2.0.0', 'nightly']).execute();
  assert.deepEqual(tagsOf((await get(`${list}&updated_before=2002-01-01`)).body), ['v2.0.0', 'nightly']);
});
