import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ROOT_TOKEN, startTestServer, type TestServer } from './helpers/server.js';
import { createProject, createRelease } from './helpers/fixtures.js';
import { rawClient, type RawClient, type RawResponse } from './helpers/raw-http.js';

// Bounded resources with clear errors: body size, link name and url length, per_page, links per
// release; malformed requests answered in GitLab's JSON shape, never with a stack trace.

let server: TestServer;
let client: RawClient;
let projectId: number;
let seq = 0;
const MiB = 1024 * 1024;

before(async () => {
  server = await startTestServer();
  client = rawClient(server.url);
  projectId = (await createProject(server, `limits${process.pid}`)).id;
});
after(async () => {
  client?.close();
  await server?.close();
});

const base = () => `/api/v4/projects/${projectId}`;
const auth = { 'private-token': ROOT_TOKEN };

async function newRelease(links: object[] = []) {
  const tag = `v${++seq}`;
  await createRelease(server, projectId, tag, links);
  return tag;
}

const linksOf = (n: number, prefix = 'l') => Array.from({ length: n }, (_, i) => ({ name: `${prefix}${i}`, url: `https://example.com/${prefix}/${i}` }));

async function rowCounts() {
  const db = server.running.store.db;
  const count = async (table: 'releases' | 'tags' | 'release_links') => Number((await db.selectFrom(table).select((e) => e.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);
  return { releases: await count('releases'), tags: await count('tags'), release_links: await count('release_links') };
}

function assertJson(res: RawResponse) {
  assert.equal(res.headers['content-type'], 'application/json', `${res.status} ${res.text.slice(0, 200)}`);
  assert.equal(res.headers['x-content-type-options'], 'nosniff');
  assert.doesNotMatch(res.text, /\bat .+:\d+:\d+|node_modules|\/src\//, 'no stack trace');
}

describe('request bodies over 1 MiB', () => {
  const cases: Array<[string, string, () => Buffer]> = [
    ['JSON', 'application/json', () => Buffer.from(JSON.stringify({ name: 'big', url: 'https://example.com/' + 'x'.repeat(MiB) }))],
    ['form', 'application/x-www-form-urlencoded', () => Buffer.from('name=big&url=' + 'x'.repeat(MiB))],
  ];
  for (const [label, type, body] of cases) {
    test(`${label}: 413 with a JSON message, nothing written`, async () => {
      const tag = await newRelease();
      const before = await rowCounts();
      const res = await client.send({ method: 'POST', path: `${base()}/releases/${tag}/assets/links`, headers: { ...auth, 'content-type': type }, body: body() });
      assert.equal(res.status, 413);
      assertJson(res);
      assert.deepEqual(res.json, { message: '413 Request Entity Too Large' });
      assert.deepEqual(await rowCounts(), before);
    });
  }

  test('a type no parser takes is 415, whatever its size', async () => {
    const tag = await newRelease();
    for (const size of [10, MiB + 1]) {
      const res = await client.send({ method: 'POST', path: `${base()}/releases/${tag}/assets/links`, headers: { ...auth, 'content-type': 'application/octet-stream' }, body: Buffer.alloc(size, 0x61) });
      assert.equal(res.status, 415);
      assertJson(res);
      assert.deepEqual(res.json, { message: '415 Unsupported Media Type' });
    }
  });

  test('without Content-Length (chunked), the limit holds while the body streams', async () => {
    const tag = await newRelease();
    const port = new URL(server.url).port;
    const response = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(port), '127.0.0.1');
      let data = '';
      socket.on('data', (d) => (data += d.toString()));
      socket.on('close', () => resolve(data));
      socket.on('error', (e) => (data ? resolve(data) : reject(e)));
      socket.write(`POST ${base()}/releases/${tag}/assets/links HTTP/1.1\r\nHost: x\r\nprivate-token: ${ROOT_TOKEN}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n`);
      const chunk = 'x'.repeat(64 * 1024);
      socket.write(`1\r\n{\r\n`);
      for (let i = 0; i < 20 && !socket.destroyed; i++) socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
      socket.end('0\r\n\r\n');
    });
    assert.match(response, /^HTTP\/1\.1 413 /);
    assert.match(response, /\{"message":"413 Request Entity Too Large"\}/);
  });

  test('just under 1 MiB is accepted', async () => {
    const description = 'd'.repeat(MiB - 200);
    const res = await client.send({
      method: 'POST',
      path: `${base()}/releases`,
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ tag_name: `big-${++seq}`, ref: 'main', description }),
    });
    assert.equal(res.status, 201, res.text.slice(0, 200));
    assert.equal((res.json as { description: string }).description.length, description.length);
  });
});

describe('link name ≤ 255 and url ≤ 2048 characters', () => {
  const url2048 = 'https://example.com/' + 'u'.repeat(2048 - 'https://example.com/'.length);

  test('at the limits: created', async () => {
    const tag = await newRelease();
    const res = await server.request('POST', `${base()}/releases/${tag}/assets/links`, { token: ROOT_TOKEN, json: { name: 'n'.repeat(255), url: url2048 } });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.name.length, 255);
    assert.equal(res.body.url.length, 2048);
  });

  test('one past the limits: 400 with field messages, nothing written (create and update)', async () => {
    const tag = await newRelease([{ name: 'keep', url: 'https://example.com/keep' }]);
    const before = await rowCounts();
    const create = await server.request('POST', `${base()}/releases/${tag}/assets/links`, { token: ROOT_TOKEN, json: { name: 'n'.repeat(256), url: url2048 + 'u' } });
    assert.equal(create.status, 400);
    assert.deepEqual(create.body, {
      message: { url: ['is too long (maximum is 2048 characters)'], name: ['is too long (maximum is 255 characters)'] },
    });
    const form = await server.request('POST', `${base()}/releases/${tag}/assets/links`, { token: ROOT_TOKEN, form: { name: 'n'.repeat(256), url: 'https://example.com/ok' } });
    assert.equal(form.status, 400);
    assert.deepEqual(form.body, { message: { name: ['is too long (maximum is 255 characters)'] } });

    const [link] = (await server.request('GET', `${base()}/releases/${tag}/assets/links`, { token: ROOT_TOKEN })).body;
    const update = await server.request('PUT', `${base()}/releases/${tag}/assets/links/${link.id}`, { token: ROOT_TOKEN, json: { url: url2048 + 'u' } });
    assert.equal(update.status, 400);
    assert.deepEqual(update.body, { message: { url: ['is too long (maximum is 2048 characters)'] } });
    assert.deepEqual(await rowCounts(), before);
    const after = await server.request('GET', `${base()}/releases/${tag}/assets/links/${link.id}`, { token: ROOT_TOKEN });
    assert.equal(after.body.url, 'https://example.com/keep');
  });

  test('inline links of a release: 400 and no release, tag or link written', async () => {
    const before = await rowCounts();
    const res = await server.request('POST', `${base()}/releases`, {
      token: ROOT_TOKEN,
      json: { tag_name: `long-${++seq}`, ref: 'main', assets: { links: [{ name: 'ok', url: 'https://example.com/ok' }, { name: 'x'.repeat(256), url: 'https://example.com/x' }] } },
    });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, { message: 'Validation failed: Links name is too long (maximum is 255 characters)' });
    assert.deepEqual(await rowCounts(), before);
  });
});

describe('per_page is capped at 100', () => {
  test('links, releases and tags lists return at most 100 items and say so', async () => {
    const tag = await newRelease(linksOf(150));
    for (const path of [`${base()}/releases/${tag}/assets/links`, `${base()}/releases`, `${base()}/repository/tags`]) {
      const res = await server.request('GET', `${path}?per_page=1000`, { token: ROOT_TOKEN });
      assert.equal(res.status, 200, `${path}: ${res.text.slice(0, 200)}`);
      assert.equal(res.headers.get('x-per-page'), '100', path);
      assert.ok(res.body.length <= 100, path);
    }
    const links = await server.request('GET', `${base()}/releases/${tag}/assets/links?per_page=1000`, { token: ROOT_TOKEN });
    assert.equal(links.body.length, 100);
    assert.equal(links.headers.get('x-total'), '150');
    assert.equal(links.headers.get('x-total-pages'), '2');
  });

  test('absurd page numbers are an empty page, not a database error', async () => {
    const tag = await newRelease(linksOf(2));
    for (const page of ['99999999999999999999', '1e300', '2147483648']) {
      const res = await client.send({ method: 'GET', path: `${base()}/releases/${tag}/assets/links?page=${page}`, headers: auth });
      assert.equal(res.status, 200, `page=${page}: ${res.text}`);
      assert.deepEqual(res.json, []);
      assert.equal(res.headers['x-total'], '2');
    }
  });
});

describe('at most 1,000 links per release', () => {
  test('a release made with 1,000 links takes no 1,001st', async () => {
    const tag = await newRelease(linksOf(1000));
    const before = await rowCounts();
    const res = await server.request('POST', `${base()}/releases/${tag}/assets/links`, { token: ROOT_TOKEN, json: { name: 'one-more', url: 'https://example.com/one-more' } });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, { message: { base: ['Release can have at most 1000 links'] } });
    assert.deepEqual(await rowCounts(), before);
  });

  test('a release create with 1,001 inline links: 400, and nothing written', async () => {
    const before = await rowCounts();
    const tag = `many-${++seq}`;
    const res = await server.request('POST', `${base()}/releases`, { token: ROOT_TOKEN, json: { tag_name: tag, ref: 'main', assets: { links: linksOf(1001) } } });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, { message: 'Validation failed: Links is too long (maximum is 1000 links per release)' });
    assert.deepEqual(await rowCounts(), before);
    const release = await server.request('GET', `${base()}/releases/${tag}`, { token: ROOT_TOKEN });
    assert.equal(release.status, 404);
    const tagRes = await server.request('GET', `${base()}/repository/tags/${tag}`, { token: ROOT_TOKEN });
    assert.equal(tagRes.status, 404);
  });

  test('creates racing for the last places never pass 1,000', async () => {
    const tag = await newRelease(linksOf(990));
    const results = await Promise.all(
      Array.from({ length: 32 }, (_, i) =>
        client.send({
          method: 'POST',
          path: `${base()}/releases/${tag}/assets/links`,
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify({ name: `race-${i}`, url: `https://example.com/race/${i}` }),
        }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    assert.equal(statuses.filter((s) => s === 201).length, 10, JSON.stringify(statuses));
    assert.equal(statuses.filter((s) => s === 400).length, 22, JSON.stringify(statuses));
    const list = await server.request('GET', `${base()}/releases/${tag}/assets/links?per_page=1`, { token: ROOT_TOKEN });
    assert.equal(list.headers.get('x-total'), '1000');
  });
});

describe('malformed requests get GitLab-shaped errors', () => {
  const linkPath = async () => `${base()}/releases/${await newRelease()}/assets/links`;

  for (const [label, body] of [
    ['truncated JSON', '{"name":"a","url":'],
    ['not JSON at all', 'name=a&url=b'],
    ['invalid UTF-8 in a truncated body', Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xff, 0xfe]), Buffer.from('","url":1')])],
    ['prototype pollution', '{"__proto__":{"is_admin":1},"name":"a","url":"https://e.com/"}'],
  ] as const) {
    test(`${label}: 400 {"error": …}`, async () => {
      const res = await client.send({ method: 'POST', path: await linkPath(), headers: { ...auth, 'content-type': 'application/json' }, body });
      assert.equal(res.status, 400);
      assertJson(res);
      const keys = Object.keys(res.json as object);
      assert.deepEqual(keys, ['error']);
      assert.match((res.json as { error: string }).error, /^400 Bad request - /);
    });
  }

  test('a NUL byte anywhere in the parameters: 400, on both stores alike', async () => {
    const path = await linkPath();
    const inBody = await server.request('POST', path, { token: ROOT_TOKEN, json: { name: 'a\u0000b', url: 'https://example.com/n' } });
    assert.equal(inBody.status, 400);
    assert.deepEqual(inBody.body, { error: '400 Bad request - null bytes are not allowed in parameters' });
    const inPath = await client.send({ method: 'GET', path: `${base()}/releases/v1%00`, headers: auth });
    assert.equal(inPath.status, 400);
    assertJson(inPath);
    const inQuery = await client.send({ method: 'GET', path: `${path}?page=%00`, headers: auth });
    assert.equal(inQuery.status, 400);
  });

  test('bad percent-encoding in the path: 400; an absurdly long segment: 404', async () => {
    const bad = await client.send({ method: 'GET', path: `${base()}/releases/%zz`, headers: auth });
    assert.equal(bad.status, 400);
    assertJson(bad);
    assert.deepEqual(Object.keys(bad.json as object), ['error']);
    const long = await client.send({ method: 'GET', path: `${base()}/releases/${'a'.repeat(5000)}`, headers: auth });
    assert.equal(long.status, 404);
    assertJson(long);
    assert.deepEqual(long.json, { error: '404 Not Found' });
  });

  test('a bad request right behind the unread tail of an earlier body: 400, with no body for HEAD', async () => {
    const port = Number(new URL(server.url).port);
    // The tail runs straight into the method: digits, or letters of either case ("…aaaGET").
    const cases = ['0123456789', 'aaaaaaaaaa', 'ZZZZZZZZZZ'].flatMap((tail) =>
      ([['HEAD', ''], ['GET', '{"error":"400 Bad request - malformed HTTP request"}']] as const).map(([method, body]) => [tail, method, body] as const),
    );
    for (const [tail, method, body] of cases) {
      const response = await new Promise<string>((resolve) => {
        const socket = net.connect(port, '127.0.0.1');
        let data = '';
        let sent = false;
        socket.on('data', (d) => {
          data += d.toString('latin1');
          // The 415 comes before the body is read; the body's tail and the next (bad) request then arrive together.
          if (!sent && data.includes('\r\n\r\n')) {
            sent = true;
            socket.write(Buffer.from(`${tail}${method} /-/liveness?x=\u00fc HTTP/1.1\r\nHost: x\r\n\r\n`, 'latin1'));
          }
        });
        socket.on('close', () => resolve(data));
        socket.on('error', () => resolve(data));
        socket.write(`POST ${base()}/releases HTTP/1.1\r\nHost: x\r\nprivate-token: ${ROOT_TOKEN}\r\ncontent-type: text/csv\r\ncontent-length: 10\r\n\r\n`);
      });
      assert.match(response, /^HTTP\/1\.1 415 /);
      const second = response.slice(response.indexOf('HTTP/1.1 400 Bad Request'));
      assert.match(second, /^HTTP\/1\.1 400 Bad Request\r\n/, response);
      assert.equal(second.slice(second.indexOf('\r\n\r\n') + 4), body, `${tail}${method}`);
      assert.match(second, new RegExp(`\r\ncontent-length: ${body.length}\r\n`));
    }
  });

  test('what the HTTP parser refuses (bad method, oversized headers): 400 JSON, then the connection closes', async () => {
    const port = Number(new URL(server.url).port);
    const raw = (request: string) =>
      new Promise<string>((resolve) => {
        const socket = net.connect(port, '127.0.0.1');
        let data = '';
        socket.on('data', (d) => (data += d.toString()));
        socket.on('close', () => resolve(data));
        socket.on('error', () => resolve(data));
        socket.write(request);
      });
    for (const request of [
      'BREW /api/v4/user HTTP/1.1\r\nHost: x\r\n\r\n',
      `GET /api/v4/user HTTP/1.1\r\nHost: x\r\nx-big: ${'b'.repeat(20_000)}\r\n\r\n`,
      'GET /api/v4/user HTTP/1.1\r\nHost: x\r\nbad header\r\n\r\n',
    ]) {
      const response = await raw(request);
      assert.match(response, /^HTTP\/1\.1 400 Bad Request\r\n/, response);
      assert.match(response, /\r\ncontent-type: application\/json\r\n/);
      assert.match(response, /\r\nx-content-type-options: nosniff\r\n/);
      assert.match(response, /\r\n\r\n\{"error":"400 Bad request - malformed HTTP request"\}$/);
    }
  });
});
