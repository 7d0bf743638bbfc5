import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ROOT_TOKEN, startTestServer, type TestServer } from './helpers/server.js';
import { addMember, createProject, createUser, type TestUser } from './helpers/fixtures.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { eventually } from './helpers/eventually.js';

// Project webhooks: GitLab's hooks API, the Release Hook as a receiver gets it (payload byte for
// byte, headers), where it fires, retries, GitLab's auto-disabling, the test call and the events
// log. The receivers are on 127.0.0.1, so this server allows the local network explicitly
// (test/webhooks-ssrf.test.ts checks the refusals with it off).

let server: TestServer;
let receiver: Receiver;
let maintainer: TestUser;
let developer: TestUser;
let readOnly: TestUser;
let stranger: TestUser;

before(async () => {
  server = await startTestServer({
    WEBHOOK_ALLOW_LOCAL_REQUESTS: 'true',
    WEBHOOK_POLL_INTERVAL_MS: '50',
    WEBHOOK_RETRY_BASE_MS: '50',
    WEBHOOK_RETRY_MAX_MS: '100',
    WEBHOOK_TIMEOUT_MS: '3000',
  });
  receiver = await startReceiver();
  maintainer = await createUser(server);
  developer = await createUser(server);
  readOnly = await createUser(server, { scopes: ['read_api'] });
  stranger = await createUser(server);
});
after(async () => {
  await receiver?.close();
  await server?.close();
});

const as = (token: string) => (method: string, path: string, json?: unknown) => server.request(method, path, { token, json });
const root = as(ROOT_TOKEN);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const db = () => server.running.store.db;

let seq = 0;
async function project(visibility = 'private') {
  const p = await createProject(server, `hooks${process.pid}x${++seq}`, { visibility });
  await addMember(server, p.id, maintainer.id, 40);
  await addMember(server, p.id, developer.id, 30);
  await addMember(server, p.id, readOnly.id, 40);
  return p;
}

async function addHook(projectId: number, fields: Record<string, unknown> = {}) {
  const res = await root('POST', `/api/v4/projects/${projectId}/hooks`, { url: `${receiver.url}/hook`, releases_events: true, ...fields });
  assert.equal(res.status, 201, res.text);
  return res.body as { id: number };
}


/** The requests the receiver got for one project's hook path. */
const requestsTo = (path: string) => receiver.requests.filter((r) => r.url === path);

// GitLab's ProjectHook entity keys, in order (API::Entities::Hook, then ProjectHook's own).
const HOOK_KEYS = [
  'id', 'url', 'name', 'description', 'created_at', 'push_events', 'tag_push_events', 'merge_requests_events',
  'repository_update_events', 'enable_ssl_verification', 'alert_status', 'disabled_until', 'url_variables',
  'push_events_branch_filter', 'branch_filter_strategy', 'custom_webhook_template', 'custom_headers', 'project_id',
  'issues_events', 'confidential_issues_events', 'note_events', 'confidential_note_events', 'pipeline_events',
  'wiki_page_events', 'deployment_events', 'feature_flag_events', 'job_events', 'releases_events', 'milestone_events',
  'emoji_events', 'resource_access_token_events', 'resource_deploy_token_events', 'vulnerability_events',
];

describe('the hooks API', () => {
  test('POST adds a hook: 201 with GitLab\'s entity in its order, GitLab\'s defaults, and never the token', async () => {
    const p = await project();
    const res = await as(maintainer.token)('POST', `/api/v4/projects/${p.id}/hooks`, {
      url: `${receiver.url}/a`, token: 'hook-token-never-shown-1', releases_events: true, name: 'chat', issues_events: true,
      custom_headers: [{ key: 'X-Chat-Key', value: 'custom-secret-value' }],
    });
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(Object.keys(res.body), HOOK_KEYS);
    assert.equal(res.body.url, `${receiver.url}/a`);
    assert.equal(res.body.name, 'chat');
    assert.equal(res.body.push_events, true, 'GitLab\'s default');
    assert.equal(res.body.issues_events, true, 'other events are kept');
    assert.equal(res.body.releases_events, true);
    assert.equal(res.body.enable_ssl_verification, true);
    assert.equal(res.body.alert_status, 'executable');
    assert.equal(res.body.disabled_until, null);
    assert.deepEqual(res.body.custom_headers, [{ key: 'X-Chat-Key' }]);
    assert.deepEqual(res.body.url_variables, []);
    assert.equal(res.body.project_id, p.id);
    assert.doesNotMatch(res.text, /hook-token-never-shown-1|custom-secret-value/);

    const one = await as(maintainer.token)('GET', `/api/v4/projects/${p.id}/hooks/${res.body.id}`);
    assert.equal(one.status, 200);
    assert.deepEqual(one.body, res.body);
    const list = await as(readOnly.token)('GET', `/api/v4/projects/${p.id}/hooks`);
    assert.equal(list.status, 200);
    assert.equal(list.headers.get('x-total'), '1');
    // GitLab's list leaves out url_variables and custom_headers.
    assert.deepEqual(Object.keys(list.body[0]), HOOK_KEYS.filter((k) => k !== 'url_variables' && k !== 'custom_headers'));
    assert.doesNotMatch(list.text + one.text, /hook-token-never-shown-1|custom-secret-value/);

    const row = await db().selectFrom('web_hooks').selectAll().where('id', '=', res.body.id).executeTakeFirstOrThrow();
    assert.equal(row.token, 'hook-token-never-shown-1');
    assert.equal(row.releases_events, 1);
  });

  test('Maintainer and up: a Developer is 403, a stranger 404, a read_api token reads and may not write', async () => {
    const p = await project();
    const hook = await addHook(p.id);
    assert.equal((await as(developer.token)('GET', `/api/v4/projects/${p.id}/hooks`)).status, 403);
    assert.equal((await as(developer.token)('POST', `/api/v4/projects/${p.id}/hooks`, { url: 'https://example.com/x' })).status, 403);
    const hidden = await as(stranger.token)('GET', `/api/v4/projects/${p.id}/hooks/${hook.id}`);
    assert.equal(hidden.status, 404);
    assert.equal(hidden.text, '{"message":"404 Project Not Found"}');
    assert.equal((await as(readOnly.token)('GET', `/api/v4/projects/${p.id}/hooks/${hook.id}`)).status, 200);
    const write = await as(readOnly.token)('PUT', `/api/v4/projects/${p.id}/hooks/${hook.id}`, { name: 'x' });
    assert.equal(write.status, 403);
    assert.equal(JSON.parse(write.text).error, 'insufficient_scope');
    // GitLab authenticates first: anonymous is 401, whatever the project.
    const anonymous = await server.request('GET', `/api/v4/projects/${p.id}/hooks`);
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.text, '{"message":"401 Unauthorized"}');
    const publicProject = await project('public');
    assert.equal((await server.request('GET', `/api/v4/projects/${publicProject.id}/hooks`)).status, 401);
  });

  test('GitLab\'s errors: 404 Not found, hook_id is invalid, url is missing, Invalid url given, token, No parameters provided', async () => {
    const p = await project();
    const hook = await addHook(p.id);
    const P = `/api/v4/projects/${p.id}/hooks`;
    assert.equal((await root('GET', `${P}/987654`)).text, '{"message":"404 Not found"}');
    assert.equal((await root('GET', `${P}/abc`)).text, '{"error":"hook_id is invalid"}');
    assert.equal((await root('POST', P, {})).text, '{"error":"url is missing"}');
    for (const url of ['', 'ftp://example.com/hook', 'not a url', 'javascript:alert(1)', `https://example.com/${'x'.repeat(2100)}`]) {
      const res = await root('POST', P, { url });
      assert.equal(res.status, 422, url);
      assert.equal(res.text, '{"message":"Invalid url given"}');
    }
    const newline = await root('POST', P, { url: 'https://example.com/hook', token: 'a\nb' });
    assert.equal(newline.status, 422);
    assert.equal(newline.text, '{"message":{"token":["is invalid"]}}');
    const badHeaders = await root('POST', P, { url: 'https://example.com/hook', custom_headers: [{ key: 'Bad Name', value: 'v' }] });
    assert.equal(badHeaders.text, '{"message":"Custom headers validation failed"}');
    assert.equal((await root('POST', P, { url: 'https://example.com/hook', branch_filter_strategy: 'nope' })).text, '{"error":"branch_filter_strategy does not have a valid value"}');
    const regex = await root('POST', P, { url: 'https://example.com/hook', branch_filter_strategy: 'regex', push_events_branch_filter: '(' });
    assert.equal(regex.text, '{"message":"Invalid branch filter given"}');
    const empty = await root('PUT', `${P}/${hook.id}`, {});
    assert.equal(empty.status, 400);
    assert.equal(empty.text, '{"message":"No parameters provided"}');
    assert.equal((await root('DELETE', `${P}/987654`)).status, 404);
    const count = await db().selectFrom('web_hooks').select('id').where('project_id', '=', p.id).execute();
    assert.equal(count.length, 1, 'no refused call wrote a hook');
  });

  test('PUT changes what it is given; a new url without a token drops the token (GitLab\'s rule); DELETE is 204', async () => {
    const p = await project();
    const hook = await addHook(p.id, { token: 'hook-token-before-change', custom_headers: [{ key: 'X-A', value: 'a-value' }] });
    const P = `/api/v4/projects/${p.id}/hooks/${hook.id}`;
    const renamed = await root('PUT', P, { name: 'renamed', releases_events: false, push_events: false, custom_headers: [{ key: 'X-B', value: 'b-value' }] });
    assert.equal(renamed.status, 200, renamed.text);
    assert.equal(renamed.body.name, 'renamed');
    assert.equal(renamed.body.releases_events, false);
    assert.equal(renamed.body.push_events, false);
    assert.deepEqual(renamed.body.custom_headers, [{ key: 'X-A' }, { key: 'X-B' }], 'custom headers are merged');
    let row = await db().selectFrom('web_hooks').selectAll().where('id', '=', hook.id).executeTakeFirstOrThrow();
    assert.equal(row.token, 'hook-token-before-change', 'same url: the token stays');

    const moved = await root('PUT', P, { url: `${receiver.url}/moved` });
    assert.equal(moved.body.url, `${receiver.url}/moved`);
    assert.deepEqual(moved.body.custom_headers, []);
    row = await db().selectFrom('web_hooks').selectAll().where('id', '=', hook.id).executeTakeFirstOrThrow();
    assert.equal(row.token, null, 'a new url without a token drops it');
    const withToken = await root('PUT', P, { url: `${receiver.url}/moved-again`, token: 'hook-token-after-change' });
    assert.equal(withToken.status, 200);
    row = await db().selectFrom('web_hooks').selectAll().where('id', '=', hook.id).executeTakeFirstOrThrow();
    assert.equal(row.token, 'hook-token-after-change');

    const gone = await root('DELETE', P);
    assert.equal(gone.status, 204);
    assert.equal(gone.text, '');
    assert.equal((await root('GET', P)).status, 404);
  });

  test('a project holds at most 100 hooks (GitLab\'s limit)', async () => {
    const p = await project();
    for (let i = 0; i < 100; i++) await addHook(p.id, { releases_events: false });
    const over = await root('POST', `/api/v4/projects/${p.id}/hooks`, { url: `${receiver.url}/101` });
    assert.equal(over.status, 422);
    assert.equal(over.text, '{"message":{"base":["Maximum number of project hooks (100) exceeded"]}}');
    const page = await root('GET', `/api/v4/projects/${p.id}/hooks?per_page=100&page=1`);
    assert.equal(page.body.length, 100);
    assert.equal(page.headers.get('x-total'), '100');
  });
});

// GitLab's documented Release Hook example (doc/user/project/integrations/webhook_events.md), as
// GitLab sends it today: a link's `external` was dropped in 16.0 (Releases::Link#hook_attrs has
// id, link_type, name, url), which the example still shows with a comment.
const DOCUMENTED = {
  id: 1,
  created_at: '2020-11-02 12:55:12 UTC',
  description: 'v1.1 has been released',
  name: 'v1.1',
  released_at: '2020-11-02 12:55:12 UTC',
  tag: 'v1.1',
  object_kind: 'release',
  project: {
    id: 2, name: 'release-webhook-example', description: '', web_url: 'https://example.com/gitlab-org/release-webhook-example', avatar_url: null,
    git_ssh_url: 'ssh://git@example.com/gitlab-org/release-webhook-example.git', git_http_url: 'https://example.com/gitlab-org/release-webhook-example.git',
    namespace: 'Gitlab', visibility_level: 0, path_with_namespace: 'gitlab-org/release-webhook-example', default_branch: 'master', ci_config_path: null,
    homepage: 'https://example.com/gitlab-org/release-webhook-example', url: 'ssh://git@example.com/gitlab-org/release-webhook-example.git',
    ssh_url: 'ssh://git@example.com/gitlab-org/release-webhook-example.git', http_url: 'https://example.com/gitlab-org/release-webhook-example.git',
  },
  url: 'https://example.com/gitlab-org/release-webhook-example/-/releases/v1.1',
  action: 'create',
  assets: {
    count: 5,
    links: [{ id: 1, link_type: 'other', name: 'Changelog', url: 'https://example.net/changelog' }],
    sources: [{ format: 'zip', url: 'https://example.com/gitlab-org/release-webhook-example/-/archive/v1.1/release-webhook-example-v1.1.zip' }],
  },
  commit: {
    id: 'ee0a3fb31ac16e11b9dbb596ad16d4af654d08f8', message: 'Release v1.1', title: 'Release v1.1', timestamp: '2020-10-31T14:58:32+11:00',
    url: 'https://example.com/gitlab-org/release-webhook-example/-/commit/ee0a3fb31ac16e11b9dbb596ad16d4af654d08f8',
    author: { name: 'Example User', email: 'user@example.com' },
  },
};

/** Keys in order and value kinds, recursively; an array by its first item (an empty one matches any). */
function shapeOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.length ? [shapeOf(value[0])] : [];
  if (value && typeof value === 'object') return Object.entries(value).map(([k, v]) => [k, shapeOf(v)]);
  return value === null ? 'null' : typeof value;
}

function sameShape(got: unknown, documented: unknown, path = '$'): void {
  const a = shapeOf(got);
  const b = shapeOf(documented);
  if (Array.isArray(a) && Array.isArray(b) && (a.length === 0 || b.length === 0) && (Array.isArray(got) || Array.isArray(documented))) return;
  if (got && typeof got === 'object' && !Array.isArray(got)) {
    assert.deepEqual(Object.keys(got), Object.keys(documented as object), `${path}: keys and their order`);
    for (const key of Object.keys(got)) sameShape((got as Record<string, unknown>)[key], (documented as Record<string, unknown>)[key], `${path}.${key}`);
    return;
  }
  if (Array.isArray(got)) return sameShape(got[0], (documented as unknown[])[0], `${path}[0]`);
  assert.deepEqual(a, b, `${path}: kind`);
}

const hookTime = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('the Release Hook', () => {
  test('a receiver gets GitLab\'s payload byte for byte, in the documented shape and order, with GitLab\'s headers', async () => {
    const p = await project();
    const projectJson = (await root('GET', `/api/v4/projects/${p.id}`)).body;
    const path = `/payload-${p.id}`;
    await addHook(p.id, { url: `${receiver.url}${path}`, token: 'payload-hook-token-42', custom_headers: [{ key: 'X-Chat-Key', value: 'k-123456789' }] });
    const created = await server.request('POST', `/api/v4/projects/${p.id}/releases`, {
      token: ROOT_TOKEN,
      headers: { 'x-request-id': 'ci-job-77.release' },
      json: {
        tag_name: 'v1.1', ref: 'main', name: 'v1.1', description: 'v1.1 has been released ![shot](/uploads/x/shot.png) & <b>bold</b> “ü”',
        tag_message: 'Release v1.1', released_at: '2020-11-02T12:55:12Z',
        assets: { links: [{ name: 'Changelog', url: 'https://example.net/changelog' }, { name: 'Binary', url: 'https://example.net/bin', link_type: 'package', filepath: '/bin/app' }] },
      },
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.headers.get('x-request-id'), 'ci-job-77.release');
    const [got] = await eventually(async () => requestsTo(path).length === 1, 10_000, 'delivery').then(() => requestsTo(path));
    const release = created.body;
    const web = projectJson.web_url as string;
    const ssh = `git@relinks.test:${projectJson.path_with_namespace}.git`;
    const expected = {
      id: (await db().selectFrom('releases').select('id').where('project_id', '=', p.id).executeTakeFirstOrThrow()).id,
      created_at: hookTime(release.created_at),
      description: 'v1.1 has been released ![shot](http://relinks.test//uploads/x/shot.png) & <b>bold</b> “ü”',
      name: 'v1.1',
      released_at: '2020-11-02 12:55:12 UTC',
      tag: 'v1.1',
      object_kind: 'release',
      project: {
        id: p.id, name: projectJson.name, description: '', web_url: web, avatar_url: null, git_ssh_url: ssh, git_http_url: `${web}.git`,
        namespace: projectJson.namespace.name, visibility_level: 0, path_with_namespace: projectJson.path_with_namespace, default_branch: 'main', ci_config_path: null,
        homepage: web, url: ssh, ssh_url: ssh, http_url: `${web}.git`,
      },
      url: `${web}/-/releases/v1.1`,
      action: 'create',
      assets: {
        count: 2,
        links: [...release.assets.links].sort((a: { id: number }, b: { id: number }) => a.id - b.id).map((l: { id: number; link_type: string; name: string; url: string }) => ({ id: l.id, link_type: l.link_type, name: l.name, url: l.url })),
        sources: [],
      },
      commit: {
        id: release.commit.id, message: 'Release v1.1', title: 'v1.1', timestamp: `${release.commit.created_at.slice(0, 19)}Z`,
        url: `${web}/-/commit/${release.commit.id}`, author: { name: 'Administrator', email: '[REDACTED]' },
      },
    };
    assert.equal(got.body.toString('utf8'), JSON.stringify(expected), 'the body, byte for byte');
    sameShape(JSON.parse(got.body.toString('utf8')), DOCUMENTED);

    assert.equal(got.method, 'POST');
    assert.deepEqual(got.rawHeaderNames.filter((n) => !['Content-Length', 'Host', 'Connection'].includes(n)), [
      'X-Chat-Key', 'Content-Type', 'User-Agent', 'Idempotency-Key', 'X-Gitlab-Event', 'X-Gitlab-Webhook-UUID', 'X-Gitlab-Instance', 'X-Gitlab-Event-UUID', 'X-Gitlab-Token', 'X-Request-Id',
    ]);
    const h = got.headers;
    assert.equal(h['content-type'], 'application/json');
    assert.match(String(h['user-agent']), /^GitLab\/\d+\.\d+\.\d+-relinks\.\d+\.\d+\.\d+$/);
    assert.equal(h['x-gitlab-event'], 'Release Hook');
    assert.equal(h['x-gitlab-token'], 'payload-hook-token-42');
    assert.equal(h['x-gitlab-instance'], 'http://relinks.test');
    assert.match(String(h['idempotency-key']), UUID);
    assert.match(String(h['x-gitlab-webhook-uuid']), UUID);
    assert.match(String(h['x-gitlab-event-uuid']), UUID);
    assert.equal(h['x-request-id'], 'ci-job-77.release', 'the originating request\'s id');
    assert.equal(h['x-chat-key'], 'k-123456789');
    assert.equal(Number(h['content-length']), got.body.length);
  });

  test('fires on release create, update and delete, and on a tag delete; never on link changes (as GitLab)', async () => {
    const p = await project();
    const path = `/fires-${p.id}`;
    await addHook(p.id, { url: `${receiver.url}${path}` });
    await addHook(p.id, { url: `${receiver.url}${path}-off`, releases_events: false });
    const R = `/api/v4/projects/${p.id}/releases`;
    assert.equal((await root('POST', R, { tag_name: 'v1', ref: 'main', assets: { links: [{ name: 'a', url: 'https://example.com/a' }] } })).status, 201);
    const link = await root('POST', `${R}/v1/assets/links`, { name: 'b', url: 'https://example.com/b' });
    assert.equal(link.status, 201);
    assert.equal((await root('PUT', `${R}/v1/assets/links/${link.body.id}`, { name: 'b2' })).status, 200);
    assert.equal((await root('DELETE', `${R}/v1/assets/links/${link.body.id}`)).status, 200);
    assert.equal((await root('PUT', `${R}/v1`, { description: 'updated' })).status, 200);
    assert.equal((await root('POST', `${R}/v1/assets/links`, { name: 'c', url: 'https://example.com/c' })).status, 201);
    assert.equal((await root('DELETE', `${R}/v1`)).status, 200);
    assert.equal((await root('POST', R, { tag_name: 'v2', ref: 'main' })).status, 201);
    assert.equal((await root('DELETE', `/api/v4/projects/${p.id}/repository/tags/v2`)).status, 204);
    await eventually(async () => requestsTo(path).length >= 5, 10_000, 'five deliveries');
    await sleep(300);
    const bodies = requestsTo(path).map((r) => JSON.parse(r.body.toString()));
    assert.deepEqual(bodies.map((b) => `${b.action} ${b.tag}`).sort(), ['create v1', 'create v2', 'delete v1', 'delete v2', 'update v1']);
    const byAction = (a: string, tag: string) => bodies.find((b) => b.action === a && b.tag === tag)!;
    assert.equal(byAction('update', 'v1').description, 'updated');
    assert.deepEqual(byAction('update', 'v1').assets.links.map((l: { name: string }) => l.name), ['a'], 'link changes before the update show in it');
    assert.deepEqual(byAction('delete', 'v1').assets.links.map((l: { name: string }) => l.name), ['a', 'c'], 'a delete lists the links it takes along');
    assert.equal(requestsTo(`${path}-off`).length, 0, 'a hook without release events gets nothing');
  });
});

describe('delivery', () => {
  test('a receiver that fails and then recovers gets the event again, with the same Idempotency-Key, until it answers 2xx', async () => {
    const p = await project();
    const path = `/flaky-${p.id}`;
    const hook = await addHook(p.id, { url: `${receiver.url}${path}` });
    let seen = 0;
    const previous = receiver.reply;
    receiver.reply = (request, n) => (request.url === path ? (++seen <= 2 ? { status: 503, body: 'busy' } : { status: 200, body: 'ok' }) : previous(request, n));
    try {
      assert.equal((await root('POST', `/api/v4/projects/${p.id}/releases`, { tag_name: 'v1', ref: 'main' })).status, 201);
      await eventually(async () => {
        const d = await db().selectFrom('web_hook_deliveries').selectAll().where('hook_id', '=', hook.id).executeTakeFirst();
        return d?.state === 'delivered';
      }, 10_000, 'delivered');
    } finally {
      receiver.reply = previous;
    }
    const sent = requestsTo(path);
    assert.equal(sent.length, 3);
    assert.equal(new Set(sent.map((r) => r.headers['idempotency-key'])).size, 1, 'one key for every attempt');
    assert.equal(new Set(sent.map((r) => r.headers['x-gitlab-webhook-uuid'])).size, 3, 'a new UUID per request, as GitLab');
    assert.equal(new Set(sent.map((r) => r.body.toString())).size, 1, 'the same payload');
    const delivery = await db().selectFrom('web_hook_deliveries').selectAll().where('hook_id', '=', hook.id).executeTakeFirstOrThrow();
    assert.equal(delivery.attempts, 3);
    assert.equal(delivery.locked_by, null);
    const events = await root('GET', `/api/v4/projects/${p.id}/hooks/${hook.id}/events`);
    assert.equal(events.status, 200);
    assert.deepEqual(events.body.map((e: { response_status: string }) => e.response_status), ['200', '503', '503'], 'newest first');
    assert.equal(events.body[1].response_body, 'busy');
    const state = await root('GET', `/api/v4/projects/${p.id}/hooks/${hook.id}`);
    assert.equal(state.body.alert_status, 'executable');
    const row = await db().selectFrom('web_hooks').select('recent_failures').where('id', '=', hook.id).executeTakeFirstOrThrow();
    assert.equal(row.recent_failures, 0, 'a success clears the failures');
  });

  test('GitLab\'s auto-disabling: the 4th failure in a row rests the hook (1 minute, doubling), the 40th disables it; a successful test call enables it', async () => {
    const p = await project();
    const path = `/down-${p.id}`;
    const hook = await addHook(p.id, { url: `${receiver.url}${path}` });
    const previous = receiver.reply;
    let up = false;
    receiver.reply = (request, n) => (request.url === path ? (up ? { status: 200 } : { status: 500, body: 'down' }) : previous(request, n));
    try {
      assert.equal((await root('POST', `/api/v4/projects/${p.id}/releases`, { tag_name: 'v1', ref: 'main' })).status, 201);
      await eventually(async () => requestsTo(path).length >= 4, 10_000, 'four attempts');
      await sleep(500);
      assert.equal(requestsTo(path).length, 4, 'resting: no fifth attempt');
      const rested = await root('GET', `/api/v4/projects/${p.id}/hooks/${hook.id}`);
      assert.equal(rested.body.alert_status, 'temporarily_disabled');
      const until = Date.parse(rested.body.disabled_until) - requestsTo(path)[3].at;
      assert.ok(until > 55_000 && until < 65_000, `rests about a minute: ${until} ms`);
      const row = await db().selectFrom('web_hooks').selectAll().where('id', '=', hook.id).executeTakeFirstOrThrow();
      assert.equal(row.recent_failures, 4);
      const delivery = await db().selectFrom('web_hook_deliveries').selectAll().where('hook_id', '=', hook.id).executeTakeFirstOrThrow();
      assert.equal(delivery.state, 'pending');
      assert.ok(delivery.next_attempt_at >= row.disabled_until!, 'the delivery waits for the rest to end');

      // A month of failures later: 39 in a row and the rest over. The next failure is the 40th.
      const past = new Date(Date.now() - 1000).toISOString();
      await db().updateTable('web_hooks').set({ recent_failures: 39, disabled_until: past }).where('id', '=', hook.id).execute();
      await db().updateTable('web_hook_deliveries').set({ next_attempt_at: past }).where('hook_id', '=', hook.id).execute();
      await eventually(async () => (await root('GET', `/api/v4/projects/${p.id}/hooks/${hook.id}`)).body.alert_status === 'disabled', 10_000, 'disabled');
      assert.equal(requestsTo(path).length, 5);
      const given = await db().selectFrom('web_hook_deliveries').selectAll().where('hook_id', '=', hook.id).executeTakeFirstOrThrow();
      assert.equal(given.state, 'failed');
      assert.match(given.last_error!, /Hook disabled/);

      // A disabled hook gets no new deliveries, as GitLab sends nothing to it.
      assert.equal((await root('POST', `/api/v4/projects/${p.id}/releases`, { tag_name: 'v2', ref: 'main' })).status, 201);
      const queued = await db().selectFrom('web_hook_deliveries').select('id').where('hook_id', '=', hook.id).execute();
      assert.equal(queued.length, 1);

      up = true;
      const tested = await root('POST', `/api/v4/projects/${p.id}/hooks/${hook.id}/test/releases_events`);
      assert.equal(tested.status, 201, tested.text);
      assert.equal(tested.text, '{"message":"201 Created"}');
      const enabled = await root('GET', `/api/v4/projects/${p.id}/hooks/${hook.id}`);
      assert.equal(enabled.body.alert_status, 'executable');
      assert.equal(enabled.body.disabled_until, null);
    } finally {
      receiver.reply = previous;
    }
  });

  test('the test call: the newest release as a create, logged like a delivery; GitLab\'s 422s and 400s', async () => {
    const p = await project();
    const path = `/test-${p.id}`;
    const hook = await addHook(p.id, { url: `${receiver.url}${path}`, releases_events: false, token: 'test-call-token-77' });
    const T = `/api/v4/projects/${p.id}/hooks/${hook.id}/test`;
    const none = await root('POST', `${T}/releases_events`);
    assert.equal(none.status, 422);
    assert.equal(none.text, '{"message":"Ensure the project has releases."}');
    assert.equal((await root('POST', `${T}/push_events`)).text, '{"message":"Ensure the project has at least one commit."}');
    assert.equal((await root('POST', `${T}/nope`)).text, '{"error":"trigger does not have a valid value"}');
    assert.equal((await as(developer.token)('POST', `${T}/releases_events`)).status, 403);
    assert.equal((await root('POST', `/api/v4/projects/${p.id}/hooks/987654/test/releases_events`)).status, 404);

    await root('POST', `/api/v4/projects/${p.id}/releases`, { tag_name: 'old', ref: 'main' });
    await root('POST', `/api/v4/projects/${p.id}/releases`, { tag_name: 'new', ref: 'main' });
    const ok = await server.request('POST', `${T}/releases_events`, { token: ROOT_TOKEN, headers: { 'x-request-id': 'test-call-1' } });
    assert.equal(ok.status, 201, ok.text);
    const [sent] = requestsTo(path);
    const body = JSON.parse(sent.body.toString());
    assert.equal(body.tag, 'new');
    assert.equal(body.action, 'create');
    assert.equal(sent.headers['x-gitlab-token'], 'test-call-token-77');
    assert.equal(sent.headers['x-request-id'], 'test-call-1');

    const previous = receiver.reply;
    receiver.reply = (request, n) => (request.url === path ? { status: 418, body: 'I am a teapot' } : previous(request, n));
    try {
      const refused = await root('POST', `${T}/releases_events`);
      assert.equal(refused.status, 422);
      assert.equal(refused.text, '{"message":"I am a teapot"}');
    } finally {
      receiver.reply = previous;
    }
    const log = await root('GET', `/api/v4/projects/${p.id}/hooks/${hook.id}/events`);
    assert.deepEqual(log.body.map((e: { response_status: string }) => e.response_status), ['418', '200']);
    assert.equal(log.body[1].correlation_id, 'test-call-1');
    assert.equal(log.body[1].request_headers['X-Gitlab-Token'], '[REDACTED]');
    assert.doesNotMatch(log.text, /test-call-token-77/);
  });
});

describe('the events log', () => {
  test('GitLab\'s WebHookLog entity, newest first; status filters; at most 20 a page; answers cut at 8 KiB', async () => {
    const p = await project();
    const path = `/log-${p.id}`;
    // Test calls, one after another, so the statuses come in a known order.
    const hook = await addHook(p.id, { url: `${receiver.url}${path}`, releases_events: false });
    assert.equal((await root('POST', `/api/v4/projects/${p.id}/releases`, { tag_name: 'a', ref: 'main' })).status, 201);
    const statuses = [200, 404, 500, 201];
    let i = 0;
    const previous = receiver.reply;
    receiver.reply = (request, n) => (request.url === path ? { status: statuses[i++], body: 'x'.repeat(100_000), headers: { 'x-receiver': 'yes' } } : previous(request, n));
    try {
      for (let k = 0; k < 4; k++) await server.request('POST', `/api/v4/projects/${p.id}/hooks/${hook.id}/test/releases_events`, { token: ROOT_TOKEN, headers: { 'x-request-id': `log-test-${k}` } });
    } finally {
      receiver.reply = previous;
    }
    const E = `/api/v4/projects/${p.id}/hooks/${hook.id}/events`;
    const all = await root('GET', E);
    assert.equal(all.status, 200, all.text);
    const latest = all.body;
    assert.equal(latest.length, 4);
    assert.deepEqual(latest.map((e: { correlation_id: string }) => e.correlation_id), ['log-test-3', 'log-test-2', 'log-test-1', 'log-test-0']);
    assert.deepEqual(latest.map((e: { response_status: string }) => e.response_status), ['201', '500', '404', '200']);
    assert.deepEqual(Object.keys(latest[0]), ['id', 'url', 'trigger', 'request_headers', 'request_data', 'response_headers', 'response_body', 'execution_duration', 'response_status', 'created_at', 'internal_error_message', 'correlation_id']);
    assert.equal(latest[0].trigger, 'release_hooks');
    assert.equal(latest[0].url, `${receiver.url}${path}`);
    assert.equal(latest[0].request_data.object_kind, 'release');
    assert.equal(latest[0].response_headers['X-Receiver'], 'yes');
    assert.equal(latest[0].response_body.length, 8192, 'the answer is cut at 8 KiB');
    assert.equal(typeof latest[0].execution_duration, 'number');

    assert.deepEqual((await root('GET', `${E}?status=successful`)).body.slice(0, 2).map((e: { response_status: string }) => e.response_status), ['201', '200']);
    assert.deepEqual((await root('GET', `${E}?status=500`)).body.map((e: { response_status: string }) => e.response_status), ['500']);
    assert.deepEqual((await root('GET', `${E}?status=client_failure,server_failure`)).body.map((e: { response_status: string }) => e.response_status), ['500', '404']);
    assert.equal((await root('GET', `${E}?status=299`)).text, '{"error":"status does not have a valid value"}');
    assert.equal((await root('GET', `${E}?per_page=21`)).text, '{"error":"per_page does not have a valid value"}');
    const page = await root('GET', `${E}?per_page=1&page=2`);
    assert.equal(page.body.length, 1);
    assert.equal(page.body[0].response_status, '500');
    assert.equal(page.headers.get('x-per-page'), '1');
    assert.equal((await as(developer.token)('GET', E)).status, 403);
  });

  test('the queue is visible: depth and the oldest delivery\'s age in /-/metrics while a receiver holds a delivery', async () => {
    const p = await project();
    const path = `/slow-${p.id}`;
    await addHook(p.id, { url: `${receiver.url}${path}` });
    const previous = receiver.reply;
    receiver.reply = (request, n) => (request.url === path ? 'hang' : previous(request, n));
    try {
      assert.equal((await root('POST', `/api/v4/projects/${p.id}/releases`, { tag_name: 'v1', ref: 'main' })).status, 201);
      await eventually(async () => requestsTo(path).length === 1);
      await sleep(300);
      const metrics = await (await fetch(`${server.url}/-/metrics`)).text();
      const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)![1]);
      assert.ok(value('relinks_webhook_queue_depth') >= 1, metrics);
      assert.ok(value('relinks_webhook_queue_oldest_age_seconds') > 0.2);
    } finally {
      receiver.reply = previous;
      receiver.release(200);
    }
  });
});

describe('retention', () => {
  test('logs, finished deliveries and events older than 7 days are pruned; pending deliveries stay', async () => {
    const { prune } = await import('../src/store/webhook-queue.js');
    const p = await project();
    const path = `/prune-${p.id}`;
    const hook = await addHook(p.id, { url: `${receiver.url}${path}` });
    for (const tag of ['v1', 'v2']) assert.equal((await root('POST', `/api/v4/projects/${p.id}/releases`, { tag_name: tag, ref: 'main' })).status, 201);
    await eventually(async () => (await db().selectFrom('web_hook_deliveries').select('state').where('hook_id', '=', hook.id).where('state', '=', 'delivered').execute()).length === 2);
    const old = new Date(Date.now() - 8 * 86_400_000).toISOString();
    const [first] = await db().selectFrom('web_hook_deliveries').select(['id', 'event_id']).where('hook_id', '=', hook.id).orderBy('id').execute();
    // One delivered a week ago, and one still pending from then (a receiver down for a week).
    await db().updateTable('web_hook_deliveries').set({ created_at: old }).where('hook_id', '=', hook.id).execute();
    await db().updateTable('web_hook_events').set({ created_at: old }).where('project_id', '=', p.id).execute();
    await db().updateTable('web_hook_logs').set({ created_at: old }).where('hook_id', '=', hook.id).execute();
    await db().updateTable('web_hook_deliveries').set({ state: 'pending', next_attempt_at: new Date(Date.now() + 3_600_000).toISOString() }).where('id', '=', first.id).execute();
    await prune(db(), new Date(Date.now() - 7 * 86_400_000).toISOString());
    const left = await db().selectFrom('web_hook_deliveries').select(['id', 'state']).where('hook_id', '=', hook.id).execute();
    assert.deepEqual(left, [{ id: first.id, state: 'pending' }]);
    const events = await db().selectFrom('web_hook_events').select('id').where('project_id', '=', p.id).execute();
    assert.deepEqual(events.map((e) => e.id), [first.event_id], 'the pending delivery keeps its event');
    assert.deepEqual(await db().selectFrom('web_hook_logs').select('id').where('hook_id', '=', hook.id).execute(), []);
    assert.deepEqual((await root('GET', `/api/v4/projects/${p.id}/hooks/${hook.id}/events`)).body, []);
  });
});
