import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { openapiPath } from '../src/http/openapi.js';
import { ROOT_TOKEN, startTestServer, type Response, type TestServer } from './helpers/server.js';
import { addMember, createProject, createRelease, createUser, type TestUser } from './helpers/fixtures.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { browser, signIn, userWithPassword, type Browser } from './helpers/web.js';

// The OpenAPI document: valid OpenAPI 3.1, every route in it, and real answers matching it. The
// test server checks every answer against the document (src/http/response-check.ts, on in every
// test that starts one); the flows below give each route at least one success and one error.

let server: TestServer;
let doc: any;
let receiver: Receiver;

before(async () => {
  // A small file limit, so one flow can show the 413; the webhook test call needs a receiver that
  // answers, on this host.
  server = await startTestServer({ MAX_PACKAGE_FILE_SIZE: '1000', WEBHOOK_ALLOW_LOCAL_REQUESTS: 'true' });
  receiver = await startReceiver();
  const res = await server.request('GET', '/-/openapi.json');
  assert.equal(res.status, 200, res.text);
  assert.equal(res.headers.get('content-type'), 'application/json');
  doc = res.body;
});
after(async () => {
  await receiver?.close();
  await server.close();
});

type Operation = { responses: Record<string, any>; 'x-relinks'?: boolean; tags?: string[] };
const operation = (method: string, url: string): Operation | undefined => doc.paths[openapiPath(url)]?.[method.toLowerCase()];
/** HEAD twins of GET routes answer like them without a body; OpenAPI describes the GET. */
const routes = () => server.running.app.routeList.filter((r) => r.method !== 'HEAD');

describe('the document', () => {
  test('is valid OpenAPI 3.1 (@seriousme/openapi-schema-validator)', async () => {
    assert.equal(doc.openapi, '3.1.0');
    const result = await new Validator().validate(doc);
    assert.deepEqual(result, { valid: true });
  });

  test('has every route with its method, and nothing else', () => {
    const missing = routes().filter((r) => !operation(r.method, r.url)).map((r) => `${r.method} ${r.url}`);
    assert.deepEqual(missing, [], 'routes missing from the document');
    const known = new Set(routes().map((r) => `${r.method.toLowerCase()} ${openapiPath(r.url)}`));
    const stale = Object.entries<Record<string, unknown>>(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).filter((m) => !known.has(`${m} ${path}`)).map((m) => `${m} ${path}`),
    );
    assert.deepEqual(stale, [], 'operations without a route');
    assert.ok(routes().length >= 44, `routes: ${routes().length}`);
  });

  test('every route declares its success answer in its own schema', () => {
    const without = routes().filter((r) => !Object.keys((r.schema?.response as object) ?? {}).some((s) => /^[23]/.test(s)));
    assert.deepEqual(without.map((r) => `${r.method} ${r.url}`), []);
  });

  test("every operation lists the pipeline's errors: 400 everywhere; 401, 403, 429 and 503 where credentials are read; 413 and 415 where a body is", () => {
    for (const r of routes()) {
      const statuses = Object.keys(operation(r.method, r.url)!.responses);
      const label = `${r.method} ${r.url}: ${statuses.join(',')}`;
      assert.ok(statuses.includes('400') && statuses.includes('500'), label);
      for (const s of ['401', '403', '429']) assert.equal(statuses.includes(s), !r.public, `${label} (${s})`);
      if (!r.public) assert.ok(statuses.includes('503'), label);
      for (const s of ['413', '415']) assert.equal(statuses.includes(s), ['POST', 'PUT', 'DELETE'].includes(r.method), `${label} (${s})`);
      if (/[:*]/.test(r.url)) assert.ok(statuses.includes('404'), label);
    }
    const links = operation('POST', '/api/v4/projects/:id/releases/:tag_name/assets/links')!;
    assert.deepEqual(Object.keys(links.responses['404'].content), ['application/json']);
    assert.ok(links.responses['409'] && links.responses['422'], 'Idempotency-Key errors on link creates');
    assert.equal(operation('GET', '/api/v4/user')!.responses['404'], undefined);
  });

  test("relinks' own additions are marked x-relinks, GitLab's API is not", () => {
    const own = routes().filter((r) => operation(r.method, r.url)!['x-relinks'] === true).map((r) => `${r.method} ${r.url}`).sort();
    assert.deepEqual(own, [
      'DELETE /api/v4/projects/:id/ci/job_tokens/:token_id',
      'GET /-/api-docs',
      'GET /-/api-docs/init.js',
      'GET /-/api-docs/swagger-ui-bundle.js',
      'GET /-/api-docs/swagger-ui.css',
      'GET /-/openapi.json',
      'GET /-/web/relinks.css',
      'GET /-/web/relinks.js',
      'GET /api/v4/projects/:id/packages/:package_id/download_counts',
      'GET /api/v4/projects/:id/releases/:tag_name/assets/download_counts',
      'POST /-/project/:id/releases',
      'POST /-/project/:id/releases/:tag_name',
      'POST /api/v4/projects/:id/ci/job_tokens',
    ]);
    const links = operation('POST', '/api/v4/projects/:id/releases/:tag_name/assets/links')!;
    assert.equal(links.responses['422']['x-relinks'], undefined, 'the mark sits on the schema, not the response');
    assert.equal(links.responses['422'].content['application/json'].schema['x-relinks'], true);
    // Within GitLab's routes: link_order, and a release update's assets and Idempotency-Key errors.
    for (const [method, url] of [['GET', '/api/v4/projects/:id/releases'], ['GET', '/api/v4/projects/:id/releases/:tag_name'], ['GET', '/api/v4/projects/:id/releases/:tag_name/assets/links'], ['GET', '/api/v4/groups/:id/releases']]) {
      const params = (operation(method, url) as unknown as { parameters: Array<{ name: string; schema: Record<string, unknown> }> }).parameters;
      assert.equal(params.find((p) => p.name === 'link_order')?.schema['x-relinks'], true, `${method} ${url}`);
      assert.equal(params.find((p) => p.name === 'sort')?.schema['x-relinks'], undefined, `${method} ${url}`);
    }
    const update = operation('PUT', '/api/v4/projects/:id/releases/:tag_name') as unknown as { requestBody: { content: Record<string, { schema: { properties: Record<string, Record<string, unknown>> } }> }; responses: Record<string, any> };
    const body = update.requestBody.content['application/json'].schema.properties;
    assert.equal(body.assets['x-relinks'], true);
    assert.equal(body.link_order['x-relinks'], true);
    assert.equal(body.milestones['x-relinks'], undefined);
    assert.equal(update.responses['422'].content['application/json'].schema['x-relinks'], true);
    const audit = operation('GET', '/api/v4/projects/:id/audit_events')!.responses['200'].content['application/json'].schema;
    assert.equal(audit.items.$ref, '#/components/schemas/AuditEvent');
    const details = doc.components.schemas.AuditEvent.properties.details.properties;
    assert.equal(details.before['x-relinks'], true);
    assert.equal(details.event_name['x-relinks'], undefined);
    assert.equal(doc.components.schemas.JobToken['x-relinks'], true);
  });
});

describe('the reference page', () => {
  test('answers HTML whose scripts and styles all load from relinks, under a policy that allows only those', async () => {
    const page = await server.request('GET', '/-/api-docs');
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    const policy = page.headers.get('content-security-policy')!;
    assert.match(policy, /default-src 'none'/);
    assert.match(policy, /script-src 'self'(;|$)/);
    assert.doesNotMatch(policy, /https?:|\*|unsafe-inline|unsafe-eval/);
    assert.doesNotMatch(page.text, /<script>|<style|\son\w+=/, 'no inline script or style: the policy would block it');

    const assets = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => new URL(m[1], `${server.url}/-/api-docs`));
    assert.equal(assets.length, 3);
    for (const asset of assets) {
      assert.equal(asset.origin, server.url, `${asset} is not served by relinks`);
      const res = await fetch(asset);
      const body = await res.text();
      assert.equal(res.status, 200, asset.pathname);
      assert.ok(body.length > 100, asset.pathname);
      assert.match(res.headers.get('content-type')!, asset.pathname.endsWith('.css') ? /^text\/css/ : /^text\/javascript/);
    }
    // The start-up script reads the document from where it is served.
    const init = await (await fetch(`${server.url}/-/api-docs/init.js`)).text();
    const [, documentName] = /new URL\('([^']+)'/.exec(init)!;
    assert.equal(new URL(documentName, `${server.url}/-/api-docs`).pathname, '/-/openapi.json');
  });
});

/** Debian's Chromium, which npm test's preflight makes sure of: it tells whether the policy lets the page run. */
const chromium = '/usr/bin/chromium';

describe('the reference page in a browser', () => {
  // Deep-linked to an operation, so its body form renders too (with Swagger UI's data: icons).
  test('renders every operation, and one opened, under its Content-Security-Policy, with nothing refused', { timeout: 120_000 }, async () => {
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'relinks-chromium-'));
    try {
      const { stdout, stderr } = await promisify(execFile)(
        chromium,
        ['--headless', '--no-sandbox', '--disable-gpu', `--user-data-dir=${profile}`, '--enable-logging=stderr', '--v=0', '--virtual-time-budget=15000', '--dump-dom', `${server.url}/-/api-docs#/Release%20links/post_api_v4_projects__id__releases__tag_name__assets_links`],
        { timeout: 100_000, maxBuffer: 64 * 1024 * 1024 },
      );
      const operations = Object.values<object>(doc.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
      const rendered = [...stdout.matchAll(/class="opblock-summary-path"/g)].length;
      assert.equal(rendered, operations, 'operations shown by Swagger UI');
      assert.match(stdout, /class="opblock-body"/, 'the linked operation is open');
      assert.doesNotMatch(stderr, /Content Security Policy|Refused to/, 'the policy blocked something');
    } finally {
      fs.rmSync(profile, { recursive: true, force: true });
    }
  });
});

describe('the response check', () => {
  let app: FastifyInstance;
  const problems: string[] = [];

  before(async () => {
    app = await buildApp({ config: server.config, store: server.running.store, logger: false, responseProblems: problems });
    app.get(
      '/-/check/:case',
      { config: { auth: 'public' }, schema: { response: { 200: Type.Object({ a: Type.String() }) } } },
      async (request, reply) => {
        const which = (request.params as { case: string }).case;
        if (which === 'extra') return { a: 'x', b: 1 };
        if (which === 'type') return { a: 1 };
        if (which === 'status') return reply.code(201).send({ a: 'x' });
        if (which === 'text') return reply.type('text/plain').send('plain');
        return { a: 'x' };
      },
    );
    await app.ready();
  });
  after(async () => app?.close());

  test('catches undeclared fields, wrong types, undeclared statuses and media types; passes a right answer', async () => {
    for (const which of ['ok', 'extra', 'type', 'status', 'text']) await app.inject({ method: 'GET', url: `/-/check/${which}` });
    await app.inject({ method: 'GET', url: '/-/check/ok?x=%00' });
    assert.equal(problems.length, 4, problems.join('\n'));
    assert.match(problems[0], /200: the entity does not match its schema: .*additional properties/);
    assert.match(problems[1], /200: the entity does not match its schema: .*must be string/);
    assert.match(problems[2], /201: status not declared/);
    assert.match(problems[3], /Content-Type text\/plain not declared/);
  });
});

describe('every route, one success and one error, checked against the document', () => {
  interface Call {
    method: string;
    path: string;
    token?: string | null;
    json?: unknown;
    headers?: Record<string, string>;
    body?: string;
  }
  const flows = new Map<string, Array<[status: number, call: () => Call]>>();
  const flow = (route: string, ...calls: Array<[number, () => Call]>) => flows.set(route, calls);
  let developer: TestUser;
  let readOnly: TestUser;
  let newcomer: TestUser;
  let target: { id: number };
  let project: { id: number; path_with_namespace: string };
  let other: { id: number };
  let throwaway: { id: number };
  let linkId: number;
  let doomedLinkId: number;
  let jobTokenId: number;
  let hookId: number;
  let doomedHookId: number;
  const P = () => `/api/v4/projects/${project.id}`;
  const nul = '?x=%00';

  before(async () => {
    developer = await createUser(server);
    readOnly = await createUser(server, { scopes: ['read_api'] });
    newcomer = await createUser(server);
    project = await createProject(server, `oas${process.pid}`, { visibility: 'private' });
    other = await createProject(server, `oasother${process.pid}`);
    throwaway = await createProject(server, `oasgone${process.pid}`);
    target = await createProject(server, `oastarget${process.pid}`);
    await addMember(server, project.id, developer.id, 40);
    await addMember(server, project.id, readOnly.id, 40);
    const release = await createRelease(server, project.id, 'v1', [
      { name: 'app', url: 'https://example.com/app', filepath: '/bin/app' },
      { name: 'doomed', url: 'https://example.com/doomed' },
    ]);
    const idOf = (name: string) => release.assets.links.find((l: { name: string }) => l.name === name).id;
    linkId = idOf('app');
    doomedLinkId = idOf('doomed');
    await createRelease(server, project.id, 'v2');
    await createRelease(server, project.id, 'gone');
    const job = await server.request('POST', `${P()}/ci/job_tokens`, { token: developer.token, json: { ref: 'main' } });
    jobTokenId = job.body.id;
    await server.request('POST', `${P()}/protected_tags`, { token: ROOT_TOKEN, json: { name: 'doomed-*' } });
    await server.request('POST', `${P()}/job_token_scope/allowlist`, { token: ROOT_TOKEN, json: { target_project_id: throwaway.id } });
    hookId = (await server.request('POST', `${P()}/hooks`, { token: ROOT_TOKEN, json: { url: `${receiver.url}/hook`, releases_events: true } })).body.id;
    doomedHookId = (await server.request('POST', `${P()}/hooks`, { token: ROOT_TOKEN, json: { url: `${receiver.url}/doomed` } })).body.id;

    const get = (path: string, token: string | null = ROOT_TOKEN): Call => ({ method: 'GET', path, token });
    const send = (method: string, path: string, json?: unknown, token: string | null = ROOT_TOKEN): Call => ({ method, path, json, token });
    for (const page of ['/-/openapi.json', '/-/api-docs', '/-/api-docs/init.js', '/-/api-docs/swagger-ui.css', '/-/api-docs/swagger-ui-bundle.js', '/-/liveness', '/-/readiness', '/-/health']) {
      flow(`GET ${page}`, [200, () => get(page, null)], [400, () => get(page + nul, null)]);
    }
    flow('GET /-/metrics', [200, () => get('/-/metrics', null)], [400, () => get('/-/metrics' + nul, null)]);
    const links = () => `${P()}/releases/v1/assets/links`;
    flow('GET /api/v4/projects/:id/releases/:tag_name/assets/links', [200, () => get(links())], [404, () => get(`${P()}/releases/nope/assets/links`)]);
    flow('POST /api/v4/projects/:id/releases/:tag_name/assets/links',
      [201, () => ({ ...send('POST', links(), { name: 'new', url: 'https://example.com/new' }), headers: { 'idempotency-key': 'k1' } })],
      [400, () => send('POST', links(), { name: 'x' })],
      [422, () => ({ ...send('POST', links(), { name: 'other', url: 'https://example.com/other' }), headers: { 'idempotency-key': 'k1' } })],
      [415, () => ({ method: 'POST', path: links(), token: ROOT_TOKEN, headers: { 'content-type': 'text/csv' }, body: 'a,b' })]);
    flow('GET /api/v4/projects/:id/releases/:tag_name/assets/links/:link_id', [200, () => get(`${links()}/${linkId}`)], [404, () => get(`${links()}/999999`)], [400, () => get(`${links()}/abc`)]);
    flow('PUT /api/v4/projects/:id/releases/:tag_name/assets/links/:link_id', [200, () => send('PUT', `${links()}/${linkId}`, { name: 'renamed' })], [400, () => send('PUT', `${links()}/${linkId}`, {})]);
    flow('DELETE /api/v4/projects/:id/releases/:tag_name/assets/links/:link_id', [200, () => send('DELETE', `${links()}/${doomedLinkId}`)], [404, () => send('DELETE', `${links()}/${doomedLinkId}`)]);

    flow('GET /api/v4/projects/:id/releases', [200, () => get(`${P()}/releases`)], [401, () => get(`${P()}/releases`, 'wrong-token')]);
    flow('POST /api/v4/projects/:id/releases', [201, () => send('POST', `${P()}/releases`, { tag_name: 'v3', ref: 'main' })], [409, () => send('POST', `${P()}/releases`, { tag_name: 'v1' })], [422, () => send('POST', `${P()}/releases`, { tag_name: 'v9' })]);
    flow('GET /api/v4/projects/:id/releases/:tag_name', [200, () => get(`${P()}/releases/v1`)], [404, () => get(`${P()}/releases/nope`, developer.token)]);
    flow('PUT /api/v4/projects/:id/releases/:tag_name',
      [200, () => ({ ...send('PUT', `${P()}/releases/v2`, { description: 'notes', assets: { links: [{ name: 'only', url: 'https://example.com/only' }] } }), headers: { 'idempotency-key': 'put1' } })],
      [403, () => send('PUT', `${P()}/releases/v2`, { description: 'x' }, readOnly.token)],
      [400, () => send('PUT', `${P()}/releases/v2`, {})],
      [422, () => ({ ...send('PUT', `${P()}/releases/v2`, { description: 'other' }), headers: { 'idempotency-key': 'put1' } })]);
    flow('DELETE /api/v4/projects/:id/releases/:tag_name', [200, () => send('DELETE', `${P()}/releases/gone`)], [404, () => send('DELETE', `${P()}/releases/gone`)]);

    flow('POST /api/v4/projects', [201, () => send('POST', '/api/v4/projects', { name: `made${process.pid}` })], [400, () => send('POST', '/api/v4/projects', {})], [404, () => send('POST', '/api/v4/projects', { name: 'n', namespace_id: 987654 })]);
    flow('GET /api/v4/projects/:id', [200, () => get(P())], [404, () => get('/api/v4/projects/987654')]);
    flow('DELETE /api/v4/projects/:id', [202, () => send('DELETE', `/api/v4/projects/${other.id}`)], [404, () => send('DELETE', `/api/v4/projects/${other.id}`)]);
    flow('POST /api/v4/projects/:id/members', [201, () => send('POST', `${P()}/members`, { user_id: newcomer.id, access_level: 30 })], [409, () => send('POST', `${P()}/members`, { user_id: developer.id, access_level: 30 })]);
    flow('GET /api/v4/projects/:id/members/all/:user_id', [200, () => get(`${P()}/members/all/${developer.id}`)], [404, () => get(`${P()}/members/all/987654`)]);

    flow('POST /api/v4/groups', [201, () => send('POST', '/api/v4/groups', { name: 'g', path: `g${process.pid}` })], [400, () => send('POST', '/api/v4/groups', { name: 'g' })], [404, () => send('POST', '/api/v4/groups', { name: 'x', path: 'x', parent_id: 987654 })]);
    flow('POST /api/v4/projects/:id/milestones', [201, () => send('POST', `${P()}/milestones`, { title: 'm1' })], [400, () => send('POST', `${P()}/milestones`, { title: 'm1' })]);
    flow('GET /api/v4/projects/:id/milestones', [200, () => get(`${P()}/milestones?state=active`)], [400, () => get(`${P()}/milestones?state=nope`)]);
    // The server's first milestone is the one the POST flow above creates: id 1.
    flow('GET /api/v4/projects/:id/milestones/:milestone_id', [200, () => get(`${P()}/milestones/1`)], [404, () => get(`${P()}/milestones/987654`)]);
    flow('PUT /api/v4/projects/:id/milestones/:milestone_id', [200, () => send('PUT', `${P()}/milestones/1`, { state_event: 'close' })], [400, () => send('PUT', `${P()}/milestones/1`, {})], [404, () => send('PUT', `${P()}/milestones/987654`, { title: 'x' })]);
    flow('GET /api/v4/projects', [200, () => get('/api/v4/projects?simple=true')], [400, () => get('/api/v4/projects?order_by=nope')]);
    flow('GET /api/v4/groups', [200, () => get('/api/v4/groups?all_available=true')], [400, () => get('/api/v4/groups?sort=nope')]);
    flow('GET /api/v4/groups/:id/projects', [200, () => get(`/api/v4/groups/g${process.pid}/projects`)], [404, () => get('/api/v4/groups/987654/projects')]);
    flow('GET /api/v4/groups/:id/releases', [200, () => get(`/api/v4/groups/g${process.pid}/releases?simple=true`)], [404, () => get('/api/v4/groups/987654/releases')]);
    flow('GET /api/v4/groups/:id', [200, () => get(`/api/v4/groups/g${process.pid}`)], [404, () => get('/api/v4/groups/987654')]);
    flow('POST /api/v4/users',
      [201, () => send('POST', '/api/v4/users', { username: `u${process.pid}`, email: `u${process.pid}@example.com`, name: 'U', password: 'secret-password' })],
      [409, () => send('POST', '/api/v4/users', { username: `u${process.pid}`, email: `v${process.pid}@example.com`, name: 'U', password: 'secret-password' })],
      [403, () => send('POST', '/api/v4/users', { username: 'w', email: 'w@example.com', name: 'W', password: 'secret-password' }, developer.token)]);
    flow('GET /api/v4/user', [200, () => get('/api/v4/user', developer.token)], [401, () => get('/api/v4/user', null)]);
    flow('GET /api/v4/users/:id', [200, () => get(`/api/v4/users/${developer.id}`, readOnly.token)], [404, () => get('/api/v4/users/987654')]);
    flow('POST /api/v4/users/:id/personal_access_tokens', [201, () => send('POST', `/api/v4/users/${developer.id}/personal_access_tokens`, { name: 'ci', scopes: ['api'] })], [400, () => send('POST', `/api/v4/users/${developer.id}/personal_access_tokens`, { name: 'x', scopes: ['nope'] })]);

    flow('GET /api/v4/projects/:id/repository/tags', [200, () => get(`${P()}/repository/tags`)], [404, () => get('/api/v4/projects/987654/repository/tags')]);
    flow('POST /api/v4/projects/:id/repository/tags', [201, () => send('POST', `${P()}/repository/tags`, { tag_name: 't1', ref: 'main' })], [400, () => send('POST', `${P()}/repository/tags`, { tag_name: 'v1', ref: 'main' })]);
    flow('GET /api/v4/projects/:id/repository/tags/:name', [200, () => get(`${P()}/repository/tags/v1`)], [404, () => get(`${P()}/repository/tags/nope`)]);
    flow('DELETE /api/v4/projects/:id/repository/tags/:name', [204, () => send('DELETE', `${P()}/repository/tags/t1`)], [404, () => send('DELETE', `${P()}/repository/tags/t1`)]);
    flow('GET /api/v4/projects/:id/protected_tags', [200, () => get(`${P()}/protected_tags`)], [404, () => get('/api/v4/projects/987654/protected_tags')]);
    flow('POST /api/v4/projects/:id/protected_tags', [201, () => send('POST', `${P()}/protected_tags`, { name: 'v*', create_access_level: 40 })], [422, () => send('POST', `${P()}/protected_tags`, { name: 'v*' })]);
    flow('GET /api/v4/projects/:id/protected_tags/:name', [200, () => get(`${P()}/protected_tags/v*`)], [404, () => get(`${P()}/protected_tags/nope`)]);
    flow('DELETE /api/v4/projects/:id/protected_tags/:name', [204, () => send('DELETE', `${P()}/protected_tags/doomed-*`)], [404, () => send('DELETE', `${P()}/protected_tags/doomed-*`)]);
    const hooks = () => `${P()}/hooks`;
    flow('GET /api/v4/projects/:id/hooks', [200, () => get(hooks())], [404, () => get('/api/v4/projects/987654/hooks')]);
    flow('POST /api/v4/projects/:id/hooks', [201, () => send('POST', hooks(), { url: `${receiver.url}/new`, token: 'openapi-hook-token' })], [422, () => send('POST', hooks(), { url: 'ftp://example.com/' })], [400, () => send('POST', hooks(), {})]);
    flow('GET /api/v4/projects/:id/hooks/:hook_id', [200, () => get(`${hooks()}/${hookId}`)], [404, () => get(`${hooks()}/987654`)]);
    flow('PUT /api/v4/projects/:id/hooks/:hook_id', [200, () => send('PUT', `${hooks()}/${hookId}`, { name: 'renamed' })], [400, () => send('PUT', `${hooks()}/${hookId}`, {})], [422, () => send('PUT', `${hooks()}/${hookId}`, { url: 'ftp://example.com/' })]);
    flow('DELETE /api/v4/projects/:id/hooks/:hook_id', [204, () => send('DELETE', `${hooks()}/${doomedHookId}`)], [404, () => send('DELETE', `${hooks()}/${doomedHookId}`)]);
    flow('POST /api/v4/projects/:id/hooks/:hook_id/test/:trigger', [201, () => send('POST', `${hooks()}/${hookId}/test/releases_events`)], [422, () => send('POST', `${hooks()}/${hookId}/test/push_events`)], [400, () => send('POST', `${hooks()}/${hookId}/test/nope`)]);
    flow('GET /api/v4/projects/:id/hooks/:hook_id/events', [200, () => get(`${hooks()}/${hookId}/events?status=successful`)], [400, () => get(`${hooks()}/${hookId}/events?per_page=21`)]);
    flow('GET /api/v4/projects/:id/audit_events', [200, () => get(`${P()}/audit_events`)], [401, () => get(`${P()}/audit_events`, null)]);

    flow('POST /api/v4/projects/:id/ci/job_tokens', [201, () => send('POST', `${P()}/ci/job_tokens`, {}, developer.token)], [404, () => send('POST', '/api/v4/projects/987654/ci/job_tokens', {})]);
    flow('DELETE /api/v4/projects/:id/ci/job_tokens/:token_id', [204, () => send('DELETE', `${P()}/ci/job_tokens/${jobTokenId}`, undefined, developer.token)], [404, () => send('DELETE', `${P()}/ci/job_tokens/${jobTokenId + 1000}`)]);
    flow('GET /api/v4/projects/:id/job_token_scope/allowlist', [200, () => get(`${P()}/job_token_scope/allowlist`)], [404, () => get('/api/v4/projects/987654/job_token_scope/allowlist')]);
    flow('POST /api/v4/projects/:id/job_token_scope/allowlist', [201, () => send('POST', `${P()}/job_token_scope/allowlist`, { target_project_id: target.id })], [400, () => send('POST', `${P()}/job_token_scope/allowlist`, {})]);
    flow('DELETE /api/v4/projects/:id/job_token_scope/allowlist/:target_project_id', [204, () => send('DELETE', `${P()}/job_token_scope/allowlist/${throwaway.id}`)], [404, () => send('DELETE', `${P()}/job_token_scope/allowlist/987654`)]);

    flow('GET /api/v4/projects/:id/releases/:tag_name/downloads/*', [302, () => get(`${P()}/releases/v1/downloads/bin/app`)], [404, () => get(`${P()}/releases/v1/downloads/bin/nope`)]);
    flow('GET /api/v4/projects/:id/releases/permalink/latest', [302, () => get(`${P()}/releases/permalink/latest`)], [404, () => get('/api/v4/projects/987654/releases/permalink/latest')]);
    flow('GET /api/v4/projects/:id/releases/permalink/latest/*', [302, () => get(`${P()}/releases/permalink/latest/downloads/bin/app`)], [404, () => get('/api/v4/projects/987654/releases/permalink/latest/x')]);
    // Hosted files: two package files (one to delete), a package to delete, an upload.
    const G = (rest: string) => `${P()}/packages/generic/${rest}`;
    const putFile = async (rest: string) => (await fetch(server.url + G(rest) + '?select=package_file', { method: 'PUT', headers: { 'private-token': ROOT_TOKEN }, body: 'bytes' })).json();
    const kept = await putFile('pkg/1.0.0/f.bin');
    const doomedFile = await putFile('pkg/1.0.0/doomed.bin');
    const doomedPackage = await putFile('gone/1.0.0/x.bin');
    const multipart = (field: string) => ({
      headers: { 'content-type': 'multipart/form-data; boundary=XyZ' },
      body: `--XyZ\r\nContent-Disposition: form-data; name="${field}"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--XyZ--\r\n`,
    });
    const uploaded = await (await fetch(`${server.url}${P()}/uploads`, { method: 'POST', headers: { 'private-token': ROOT_TOKEN, ...multipart('file').headers }, body: multipart('file').body })).json();
    const doomedUpload = await (await fetch(`${server.url}${P()}/uploads`, { method: 'POST', headers: { 'private-token': ROOT_TOKEN, ...multipart('file').headers }, body: multipart('file').body })).json();
    const raw = (method: string, path: string, body: string, headers: Record<string, string> = {}): Call => ({ method, path, token: ROOT_TOKEN, headers, body });
    flow('PUT /api/v4/projects/:id/packages/generic/:package_name/:package_version/*', [201, () => raw('PUT', G('pkg/1.0.0/new.bin'), 'new')], [400, () => raw('PUT', G('pkg/1..0/new.bin'), 'new')], [413, () => raw('PUT', G('pkg/1.0.0/huge.bin'), 'x'.repeat(2000))]);
    flow('GET /api/v4/projects/:id/packages/generic/:package_name/:package_version/*', [200, () => get(G('pkg/1.0.0/f.bin'))], [206, () => ({ ...get(G('pkg/1.0.0/f.bin')), headers: { range: 'bytes=0-1' } })], [404, () => get(G('pkg/1.0.0/none.bin'))], [416, () => ({ ...get(G('pkg/1.0.0/f.bin')), headers: { range: 'bytes=99-' } })]);
    flow('GET /api/v4/projects/:id/packages', [200, () => get(`${P()}/packages?order_by=name`)], [400, () => get(`${P()}/packages?sort=sideways`)]);
    flow('GET /api/v4/projects/:id/packages/:package_id', [200, () => get(`${P()}/packages/${kept.package_id}`)], [404, () => get(`${P()}/packages/987654`)]);
    flow('GET /api/v4/projects/:id/packages/:package_id/package_files', [200, () => get(`${P()}/packages/${kept.package_id}/package_files`)], [404, () => get(`${P()}/packages/987654/package_files`)]);
    flow('DELETE /api/v4/projects/:id/packages/:package_id/package_files/:package_file_id', [204, () => send('DELETE', `${P()}/packages/${doomedFile.package_id}/package_files/${doomedFile.id}`)], [404, () => send('DELETE', `${P()}/packages/${doomedFile.package_id}/package_files/${doomedFile.id}`)]);
    flow('DELETE /api/v4/projects/:id/packages/:package_id', [204, () => send('DELETE', `${P()}/packages/${doomedPackage.package_id}`)], [404, () => send('DELETE', `${P()}/packages/${doomedPackage.package_id}`)]);
    flow('GET /api/v4/projects/:id/packages/:package_id/download_counts', [200, () => get(`${P()}/packages/${kept.package_id}/download_counts`)], [404, () => get(`${P()}/packages/987654/download_counts`)]);
    flow('GET /api/v4/projects/:id/releases/:tag_name/assets/download_counts', [200, () => get(`${P()}/releases/v1/assets/download_counts`)], [404, () => get(`${P()}/releases/nope/assets/download_counts`)]);
    flow('POST /api/v4/projects/:id/uploads', [201, () => raw('POST', `${P()}/uploads`, multipart('file').body, multipart('file').headers)], [400, () => raw('POST', `${P()}/uploads`, multipart('other').body, multipart('other').headers)]);
    flow('GET /api/v4/projects/:id/uploads', [200, () => get(`${P()}/uploads`)], [403, () => get(`${P()}/uploads`, newcomer.token)]);
    flow('GET /api/v4/projects/:id/uploads/:upload_id', [200, () => get(`${P()}/uploads/${uploaded.id}`)], [404, () => get(`${P()}/uploads/987654`)]);
    flow('DELETE /api/v4/projects/:id/uploads/:upload_id', [204, () => send('DELETE', `${P()}/uploads/${doomedUpload.id}`)], [404, () => send('DELETE', `${P()}/uploads/${doomedUpload.id}`)]);
    flow('GET /-/project/:id/uploads/:secret/:filename', [200, () => get(uploaded.full_path)], [404, () => get(`/-/project/${project.id}/uploads/0123456789abcdef0123456789abcdef/a.txt`)]);
    flow('GET /*', [302, () => get(`/${project.path_with_namespace}/-/releases/v1/downloads/bin/app`)], [404, () => get(`/${project.path_with_namespace}/-/releases/v1/downloads/bin/nope`)]);
    flow('GET /*', [302, () => get(`/${project.path_with_namespace}/-/releases/v1/downloads/bin/app`)], [404, () => get(`/${project.path_with_namespace}/-/releases/v1/downloads/bin/nope`)],
      [200, () => get(`/${project.path_with_namespace}/-/releases/v1`)], [200, () => ({ ...get(`/${project.path_with_namespace}/-/releases`), headers: { accept: 'text/html' } })],
      [404, () => ({ ...get(`/${project.path_with_namespace}/-/releases/nope`), headers: { accept: 'text/html' } })]);

    // The web pages' forms: a signed-in browser's session cookie and the form's authenticity token.
    const pageUser = await userWithPassword(server, `oasweb${process.pid}`);
    await addMember(server, project.id, pageUser.id, 40);
    const sessions: Browser[] = [];
    for (let i = 0; i < 3; i++) sessions.push(await signIn(server, pageUser.username, pageUser.password));
    const [forms, leaving] = sessions;
    const token = (await forms.get(`/${project.path_with_namespace}/-/releases/new`)).token!;
    const leavingToken = (await leaving.get('/')).token!;
    const fresh = browser(server);
    const signInToken = (await fresh.get('/users/sign_in')).token!;
    const form = (b: Browser, path: string, fields: Record<string, string>, accept = 'text/html'): Call => ({
      method: 'POST', path, token: null, body: new URLSearchParams(fields).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: b.cookieHeader(), accept },
    });
    for (const page of ['/', '/-/web/relinks.css', '/-/web/relinks.js', '/users/sign_in']) {
      flow(`GET ${page}`, [200, () => get(page, null)], [400, () => get(page + nul, null)]);
    }
    flow('POST /users/sign_in',
      [302, () => form(fresh, '/users/sign_in', { authenticity_token: signInToken, login: pageUser.username, password: pageUser.password })],
      [422, () => form(browser(server), '/users/sign_in', { authenticity_token: signInToken, login: pageUser.username, password: pageUser.password }, '*/*')],
      [422, () => form(fresh, '/users/sign_in', { authenticity_token: signInToken, login: pageUser.username, password: 'wrong-password' })]);
    flow('POST /users/sign_out', [302, () => form(leaving, '/users/sign_out', { authenticity_token: leavingToken })], [422, () => form(leaving, '/users/sign_out', {})]);
    flow('POST /-/project/:id/releases',
      [302, () => form(forms, `/-/project/${project.id}/releases`, { authenticity_token: token, tag_name: 'web1', ref: 'main', 'links[0][name]': 'a', 'links[0][url]': 'https://example.com/web1' })],
      [422, () => form(forms, `/-/project/${project.id}/releases`, { authenticity_token: token, tag_name: 'web2', ref: 'main', 'links[0][name]': 'a', 'links[0][url]': 'nope' })],
      [200, () => form(forms, `/-/project/${project.id}/releases`, { authenticity_token: token, add_link: '1' })],
      [404, () => form(forms, '/-/project/987654/releases', { authenticity_token: token, tag_name: 'x' }, '*/*')]);
    flow('POST /-/project/:id/releases/:tag_name',
      [302, () => form(forms, `/-/project/${project.id}/releases/v2`, { authenticity_token: token, name: 'Two', description: 'From the web' })],
      [422, () => form(forms, `/-/project/${project.id}/releases/v2`, { authenticity_token: token, released_at: 'someday' })],
      [404, () => form(forms, `/-/project/${project.id}/releases/nope`, { authenticity_token: token })]);
  });

  test('the flows cover every route', () => {
    const expected = routes().map((r) => `${r.method} ${r.url}`).sort();
    assert.deepEqual([...flows.keys()].sort(), expected);
    for (const [route, calls] of flows) {
      assert.ok(calls.some(([s]) => s < 400) && calls.some(([s]) => s >= 400), `${route}: a success and an error`);
    }
  });

  test('each answers as expected, and every answer matches the document', async () => {
    const before = server.responseProblems.length;
    for (const [route, calls] of flows) {
      for (const [status, make] of calls) {
        const call = make();
        const headers: Record<string, string> = { ...call.headers };
        if (call.token) headers['private-token'] = call.token;
        let res: Response | { status: number; text: string };
        if (call.body !== undefined) {
          const raw = await fetch(server.url + call.path, { method: call.method, headers, body: call.body, redirect: 'manual' });
          res = { status: raw.status, text: await raw.text() };
        } else {
          res = await server.request(call.method, call.path, { headers, json: call.json });
        }
        assert.equal(res.status, status, `${route} → ${call.method} ${call.path}: ${res.text.slice(0, 300)}`);
      }
    }
    assert.deepEqual(server.responseProblems.slice(before), []);
  });
});
