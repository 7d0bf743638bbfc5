import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { ROOT_TOKEN, startTestServer, type TestServer } from './helpers/server.js';
import { createProject, createRelease } from './helpers/fixtures.js';
import { rawClient, type RawClient, type RawResponse } from './helpers/raw-http.js';

// Response headers on every path a response can take: X-Content-Type-Options: nosniff everywhere,
// never X-Powered-By, and the browser security headers (CSP, X-Frame-Options, Referrer-Policy) on
// anything a browser might render, JSON or not.

let server: TestServer;
let client: RawClient;
let app: FastifyInstance;
let projectId: number;

before(async () => {
  server = await startTestServer();
  client = rawClient(server.url);
  projectId = (await createProject(server, `headers${process.pid}`, { visibility: 'public' })).id;
  await createRelease(server, projectId, 'v1', [{ name: 'app', url: 'https://example.com/app', filepath: '/bin/app' }]);
  // A second app on the same store, with routes only a test has: an error nobody planned and HTML pages.
  app = await buildApp({ config: server.config, store: server.running.store, logger: false });
  app.get('/boom', { config: { auth: 'public' } }, async () => {
    throw new Error('boom at /work/main/src/secret.ts:12:34');
  });
  app.get('/page', { config: { auth: 'public' } }, async (_request, reply) => reply.type('text/html; charset=utf-8').send('<h1>hi</h1>'));
  app.get('/page-with-policy', { config: { auth: 'public' } }, async (_request, reply) =>
    reply.header('content-security-policy', "default-src 'self'").type('text/html').send('<p>own policy</p>'),
  );
  await app.ready();
});
after(async () => {
  client?.close();
  await app?.close();
  await server?.close();
});

const BROWSER = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

function assertHeaders(label: string, headers: Record<string, unknown>) {
  assert.equal(headers['x-content-type-options'], 'nosniff', `${label}: nosniff`);
  assert.equal(headers['x-powered-by'], undefined, `${label}: X-Powered-By`);
  for (const [name, value] of Object.entries(BROWSER)) assert.equal(headers[name], value, `${label}: ${name}`);
}

test('every status a client can meet carries nosniff, no X-Powered-By and the browser headers', async () => {
  const base = `/api/v4/projects/${projectId}`;
  const auth = { 'private-token': ROOT_TOKEN };
  const json = { ...auth, 'content-type': 'application/json' };
  const cases: Array<[number, Parameters<RawClient['send']>[0]]> = [
    [200, { method: 'GET', path: `${base}/releases`, headers: auth }],
    [200, { method: 'HEAD', path: `${base}/releases`, headers: auth }],
    [201, { method: 'POST', path: `${base}/releases/v1/assets/links`, headers: json, body: JSON.stringify({ name: 'n', url: 'https://example.com/n' }) }],
    [400, { method: 'POST', path: `${base}/releases/v1/assets/links`, headers: json, body: '{"name":' }],
    [400, { method: 'POST', path: `${base}/releases/v1/assets/links`, headers: json, body: '{}' }],
    [400, { method: 'GET', path: `${base}/releases/%zz`, headers: auth }],
    [400, { method: 'GET', path: `${base}/releases/v1%00`, headers: auth }],
    [401, { method: 'GET', path: '/api/v4/user', headers: { 'private-token': 'wrong' } }],
    [403, { method: 'POST', path: `${base}/releases/v1/assets/links`, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x', url: 'https://example.com/x' }) }],
    [404, { method: 'GET', path: '/api/v4/nothing-here', headers: auth }],
    [404, { method: 'GET', path: `${base}/releases/${'t'.repeat(5000)}`, headers: auth }],
    [413, { method: 'POST', path: `${base}/releases/v1/assets/links`, headers: json, body: Buffer.alloc(1024 * 1024 + 1, 0x20) }],
    [415, { method: 'POST', path: `${base}/releases/v1/assets/links`, headers: { ...auth, 'content-type': 'text/csv' }, body: 'a,b' }],
    [200, { method: 'GET', path: '/-/health' }],
  ];
  // A redirect, where the direct asset download route exists.
  if (server.running.app.routeList.some((r) => r.url === '/api/v4/projects/:id/releases/:tag_name/downloads/*')) {
    cases.push([302, { method: 'GET', path: `${base}/releases/v1/downloads/bin/app`, headers: auth }]);
  }
  for (const [status, request] of cases) {
    const res: RawResponse = await client.send(request);
    assert.equal(res.status, status, `${request.method} ${request.path.slice(0, 80)}: ${res.text.slice(0, 200)}`);
    assertHeaders(`${res.status} ${request.method} ${request.path.slice(0, 60)}`, res.headers);
  }
  const health = await client.send({ method: 'GET', path: '/-/health' });
  assert.match(String(health.headers['content-type']), /^text\/plain/);
});

test('a 204 carries them too', async () => {
  const created = await server.request('POST', `/api/v4/projects/${projectId}/protected_tags`, { token: ROOT_TOKEN, json: { name: 'rel-*' } });
  assert.equal(created.status, 201, created.text);
  const res = await client.send({ method: 'DELETE', path: `/api/v4/projects/${projectId}/protected_tags/rel-*`, headers: { 'private-token': ROOT_TOKEN } });
  assert.equal(res.status, 204);
  assertHeaders('204', res.headers);
});

test('an unexpected error is a bare 500 JSON message with the same headers, never a stack trace', async () => {
  const res = await app.inject({ method: 'GET', url: '/boom' });
  assert.equal(res.statusCode, 500);
  assert.deepEqual(res.json(), { message: '500 Internal Server Error' });
  assert.equal(res.headers['content-type'], 'application/json');
  assert.doesNotMatch(res.body, /secret\.ts|boom/);
  assertHeaders('500', res.headers);
});

test('HTML pages get the browser headers; a page that sets its own policy keeps it', async () => {
  const page = await app.inject({ method: 'GET', url: '/page' });
  assert.equal(page.statusCode, 200);
  assert.match(String(page.headers['content-type']), /^text\/html/);
  assertHeaders('HTML page', page.headers);
  const own = await app.inject({ method: 'GET', url: '/page-with-policy' });
  assert.equal(own.headers['content-security-policy'], "default-src 'self'");
  assert.equal(own.headers['x-frame-options'], 'DENY');
  assert.equal(own.headers['x-content-type-options'], 'nosniff');
});

test('requests the HTTP parser rejects are answered with the same headers', async () => {
  const port = Number(new URL(server.url).port);
  const response = await new Promise<string>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    socket.on('data', (d) => (data += d.toString()));
    socket.on('close', () => resolve(data));
    socket.on('error', () => resolve(data));
    socket.write('GET /api/v4/user HTTP/1.1\r\nHost: x\r\nbroken header line\r\n\r\n');
  });
  const [head] = response.split('\r\n\r\n');
  const headers = Object.fromEntries(head.split('\r\n').slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  assert.match(response, /^HTTP\/1\.1 400 /);
  assertHeaders('parser error', headers);
});
