import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startChildServer, type ChildServer } from './helpers/child-server.js';
import { ROOT_TOKEN, requestTo } from './helpers/server.js';
import { createTestStore, type TestStore } from './helpers/store.js';

// As a new user would check it: run the built server at LOG_LEVEL=trace, send credentials every
// way GitLab takes them, then search everything it printed. And the request id: kept when sane,
// made when not, on every answer, in the request's log lines and in the audit event it caused.

let store: TestStore;
let server: ChildServer;
const T = ROOT_TOKEN;

before(async () => {
  store = await createTestStore();
  server = await startChildServer(store.databaseUrl, { LOG_LEVEL: 'trace' });
});
after(async () => {
  await server?.kill();
  await store.drop();
});

const send = (path: string, init: RequestInit = {}) => fetch(server.url + path, { redirect: 'manual', ...init });

test('no credential sent any way reaches a log line at trace level', async () => {
  const basic = `Basic ${Buffer.from(`root:${T}`).toString('base64')}`;
  const answers = await Promise.all([
    send(`/api/v4/user?private_token=${T}`),
    send(`/api/v4/user?job_token=${T}&access_token=${T}&token=${T}`),
    send(`/api/v4/user?private%5Ftoken=${T}`),
    send('/api/v4/projects/1', { headers: { authorization: `Bearer ${T}`, cookie: `_relinks_session=${T}`, 'job-token': T } }),
    send('/api/v4/user', { headers: { authorization: basic } }),
    send('/api/v4/projects', { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"private_token": "${T}", bad` }),
    send('/api/v4/projects', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ private_token: T, name: 'logged-json' }) }),
    send('/api/v4/projects', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `private_token=${T}&name=logged-form` }),
    send(`/no/such/route?private_token=${T}`),
    send(`/api/v4/projects/%ZZ?private_token=${T}`),
  ]);
  for (const answer of answers) {
    const text = await answer.text();
    assert.ok(!text.includes(T), `the answer to a request does not echo its token: ${answer.status}`);
  }
  const form = new FormData();
  form.set('private_token', T);
  form.set('name', 'logged-multipart');
  assert.equal((await send('/api/v4/projects', { method: 'POST', body: form })).status, 201);

  // Give the logger a moment to flush what it has.
  await new Promise((r) => setTimeout(r, 200));
  const log = server.output();
  assert.match(log, /"msg":"incoming request"/, 'trace level logs requests');
  assert.match(log, /private_token=\[FILTERED\]/, 'the parameter stays visible, its value does not');
  assert.equal(log.includes(T), false, 'no line holds the token');
  assert.equal(log.includes(Buffer.from(`root:${T}`).toString('base64')), false, 'nor its Basic form');
});

test('a sane X-Request-Id is kept, any other is replaced, and every answer carries one', async () => {
  const kept = await send('/api/v4/version', { headers: { 'x-request-id': 'ci-job-42.step:1' } });
  assert.equal(kept.headers.get('x-request-id'), 'ci-job-42.step:1');

  for (const bad of ['has space', 'x'.repeat(200), '<script>', '../../etc']) {
    const res = await send('/api/v4/version', { headers: { 'x-request-id': bad } });
    const id = res.headers.get('x-request-id');
    assert.ok(id && /^[0-9a-f]{32}$/.test(id), `"${bad.slice(0, 20)}" is replaced by a made id, got ${id}`);
  }
  const ids = new Set<string>();
  for (const path of ['/api/v4/version', '/no/such/route', '/api/v4/projects/%ZZ', '/-/readiness', '/api/v4/projects/999999']) {
    const id = (await send(path)).headers.get('x-request-id');
    assert.ok(id, `${path} answers with an X-Request-Id`);
    ids.add(id);
  }
  assert.equal(ids.size, 5, 'each request gets its own id');
});

test("the request id is in each of that request's log lines and in the audit event it caused", async () => {
  const id = `audit-trace-${Date.now()}`;
  const project = await requestTo(server.url, 'POST', '/api/v4/projects', { token: T, json: { name: `traced${Date.now()}` } });
  assert.equal(project.status, 201);
  const release = await requestTo(server.url, 'POST', `/api/v4/projects/${project.body.id}/releases`, {
    token: T,
    json: { tag_name: 'v1', ref: 'main' },
    headers: { 'x-request-id': id },
  });
  assert.equal(release.status, 201);
  assert.equal(release.headers.get('x-request-id'), id);

  await new Promise((r) => setTimeout(r, 200));
  const lines = server.output().split('\n').filter((l) => l.includes(id));
  assert.ok(lines.length >= 2, 'the incoming and completed lines at least');
  for (const line of lines) assert.equal(JSON.parse(line).correlation_id, id);

  const events = await requestTo(server.url, 'GET', `/api/v4/projects/${project.body.id}/audit_events`, { token: T });
  assert.equal(events.status, 200);
  const created = events.body.find((e: { details: { event_name: string } }) => e.details.event_name === 'release_created');
  assert.equal(created.details.correlation_id, id);
});
