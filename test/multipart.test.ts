import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT_TOKEN, startTestServer, type TestServer } from './helpers/server.js';
import { createProject, createRelease } from './helpers/fixtures.js';
import { mintJobToken, runTool } from './helpers/ci.js';
import { rawClient, type RawClient } from './helpers/raw-http.js';

// multipart/form-data bodies (curl --form), read as GitLab (Rack, then Grape) reads them: fields
// exactly like urlencoded ones, bracketed names included; no file uploads; the same limits and
// error shapes as JSON and urlencoded bodies. The requests are real curl runs.

const MiB = 1024 * 1024;
let server: TestServer;
let client: RawClient;
let projectId: number;
let dir: string;
let seq = 0;

before(async () => {
  server = await startTestServer();
  client = rawClient(server.url);
  projectId = (await createProject(server, `multipart${process.pid}`)).id;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relinks-multipart-'));
});
after(async () => {
  client?.close();
  fs.rmSync(dir, { recursive: true, force: true });
  await server?.close();
});

const api = () => `${server.url}/api/v4/projects/${projectId}`;
const auth = ['--header', `PRIVATE-TOKEN: ${ROOT_TOKEN}`];

interface CurlResult {
  status: number;
  headers: Record<string, string>;
  text: string;
  body: any;
}

/** Runs curl with `args` and parses what it printed (--include: the status line and headers first). */
async function curl(...args: string[]): Promise<CurlResult> {
  const run = await runTool('curl', ['--silent', '--show-error', '--include', ...args], { cwd: dir, env: { PATH: process.env.PATH } });
  assert.equal(run.code, 0, `curl failed: ${run.stderr}`);
  let out = run.stdout;
  // An `Expect: 100-continue` upload shows the interim answer first.
  while (/^HTTP\/1\.1 100 /.test(out)) out = out.slice(out.indexOf('\r\n\r\n') + 4);
  const split = out.indexOf('\r\n\r\n');
  const [statusLine, ...lines] = out.slice(0, split).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  const text = out.slice(split + 4);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: Number(statusLine.split(' ')[1]), headers, text, body };
}

/** A file in the scratch directory, for `--form name=<file` (its content as a field) or `name=@file` (an upload). */
function scratchFile(name: string, content: string | Buffer): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}

async function newRelease(links: object[] = []) {
  const tag = `v${++seq}`;
  await createRelease(server, projectId, tag, links);
  return tag;
}

async function linkCount() {
  const db = server.running.store.db;
  return Number((await db.selectFrom('release_links').select((e) => e.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);
}

function assertError(res: { status: number; headers: Record<string, unknown>; body: unknown; text: string }, status: number, key: 'error' | 'message') {
  assert.equal(res.status, status, res.text);
  assert.equal(res.headers['content-type'], 'application/json');
  assert.deepEqual(Object.keys(res.body as object), [key], res.text);
  assert.doesNotMatch(res.text, /\bat .+:\d+:\d+|node_modules|\/src\//, 'no stack trace');
}

describe('fields as parameters', () => {
  test('create a link with curl --form: 201, as with --data', async () => {
    const tag = await newRelease();
    const res = await curl(...auth, '--form', 'name=hellodarwin-amd64', '--form', 'url=https://example.com/bin/hello', '--form', 'filepath=/bin/hellodarwin-amd64', '--form', 'link_type=package', `${api()}/releases/${tag}/assets/links`);
    assert.equal(res.status, 201, res.text);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.deepEqual(Object.keys(res.body), ['id', 'name', 'url', 'direct_asset_url', 'external', 'link_type']);
    assert.equal(res.body.name, 'hellodarwin-amd64');
    assert.equal(res.body.url, 'https://example.com/bin/hello');
    assert.equal(res.body.link_type, 'package');
    assert.match(res.body.direct_asset_url, new RegExp(`/-/releases/${tag}/downloads/bin/hellodarwin-amd64$`));
  });

  test('update a link with curl -X PUT --form', async () => {
    const tag = await newRelease([{ name: 'old', url: 'https://example.com/old' }]);
    const [link] = (await server.request('GET', `/api/v4/projects/${projectId}/releases/${tag}/assets/links`, { token: ROOT_TOKEN })).body;
    const res = await curl('--request', 'PUT', ...auth, '--form', 'name=new name', '--form', 'link_type=runbook', `${api()}/releases/${tag}/assets/links/${link.id}`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.name, 'new name');
    assert.equal(res.body.url, 'https://example.com/old');
    assert.equal(res.body.link_type, 'runbook');
  });

  test('missing and invalid fields get the same errors as a urlencoded body', async () => {
    const tag = await newRelease();
    const missing = await curl(...auth, '--form', 'filepath=/bin/x', `${api()}/releases/${tag}/assets/links`);
    assertError(missing, 400, 'error');
    assert.deepEqual(missing.body, { error: 'name is missing, url is missing' });
    const badType = await curl(...auth, '--form', 'name=a', '--form', 'url=https://example.com/a', '--form', 'link_type=bad', `${api()}/releases/${tag}/assets/links`);
    assert.deepEqual(badType.body, { error: 'link_type does not have a valid value' });
  });

  test('create a release with assets[links][][name] and [url] fields: one link per name, in order, as Rack reads them', async () => {
    const tag = `rel-${++seq}`;
    const res = await curl(
      ...auth,
      '--form', `tag_name=${tag}`, '--form', 'ref=main', '--form', 'description=Multipart',
      '--form', 'assets[links][][name]=linux', '--form', 'assets[links][][url]=https://example.com/linux',
      '--form', 'assets[links][][name]=mac', '--form', 'assets[links][][url]=https://example.com/mac',
      '--form', 'assets[links][][link_type]=package', '--form', 'assets[links][][filepath]=/bin/mac',
      `${api()}/releases`,
    );
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.tag_name, tag);
    assert.equal(res.body.description, 'Multipart');
    const links = [...res.body.assets.links].sort((a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name));
    assert.deepEqual(links.map((l: { name: string; url: string; link_type: string }) => [l.name, l.url, l.link_type]), [
      ['linux', 'https://example.com/linux', 'other'],
      ['mac', 'https://example.com/mac', 'package'],
    ]);
    assert.match(links[1].direct_asset_url, /\/downloads\/bin\/mac$/);
  });

  test('the same fields urlencoded (curl --data) make the same release; indexed names too', async () => {
    const shapes = [
      ['assets[links][][name]=a', 'assets[links][][url]=https://example.com/a', 'assets[links][][name]=b', 'assets[links][][url]=https://example.com/b'],
      ['assets[links][0][name]=a', 'assets[links][0][url]=https://example.com/a', 'assets[links][1][name]=b', 'assets[links][1][url]=https://example.com/b'],
    ];
    for (const fields of shapes) {
      for (const flag of ['--form', '--data']) {
        const tag = `same-${++seq}`;
        const res = await curl(...auth, flag, `tag_name=${tag}`, flag, 'ref=main', ...fields.flatMap((f) => [flag, f]), `${api()}/releases`);
        assert.equal(res.status, 201, `${flag} ${fields[0]}: ${res.text}`);
        const names = res.body.assets.links.map((l: { name: string; url: string }) => `${l.name} ${l.url}`).sort();
        assert.deepEqual(names, ['a https://example.com/a', 'b https://example.com/b'], `${flag} ${fields[0]}`);
      }
    }
  });

  test('a link of assets[links] missing its url: 400 naming it, nothing written', async () => {
    const before = await linkCount();
    const res = await curl(...auth, '--form', `tag_name=bad-${++seq}`, '--form', 'ref=main', '--form', 'assets[links][][name]=a', '--form', 'assets[links][][url]=https://example.com/a', '--form', 'assets[links][][name]=b', `${api()}/releases`);
    assertError(res, 400, 'error');
    assert.deepEqual(res.body, { error: 'assets[links][1][url] is missing' });
    assert.equal(await linkCount(), before);
  });
});

describe('credentials and headers in a multipart request', () => {
  test('private_token as a form field authenticates; a wrong one is 401', async () => {
    const tag = await newRelease();
    const ok = await curl('--form', `private_token=${ROOT_TOKEN}`, '--form', 'name=by-field', '--form', 'url=https://example.com/by-field', `${api()}/releases/${tag}/assets/links`);
    assert.equal(ok.status, 201, ok.text);
    assert.equal(ok.body.name, 'by-field');
    const deleted = await curl('--request', 'DELETE', '--form', `private_token=${ROOT_TOKEN}`, `${api()}/releases/${tag}/assets/links/${ok.body.id}`);
    assert.equal(deleted.status, 200, deleted.text);
    assert.equal(deleted.body.id, ok.body.id);
    const wrong = await curl('--form', 'private_token=not-a-token', '--form', 'name=x', '--form', 'url=https://example.com/x', `${api()}/releases/${tag}/assets/links`);
    assertError(wrong, 401, 'message');
    assert.deepEqual(wrong.body, { message: '401 Unauthorized' });
  });

  test('job_token as a form field acts as the job user', async () => {
    const tag = await newRelease();
    const job = await mintJobToken(server, projectId);
    const res = await curl('--form', `job_token=${job.token}`, '--form', 'name=by-job', '--form', 'url=https://example.com/by-job', `${api()}/releases/${tag}/assets/links`);
    assert.equal(res.status, 201, res.text);
  });

  test('Idempotency-Key: a repeated multipart create is replayed, written once', async () => {
    const tag = await newRelease();
    const before = await linkCount();
    const args = ['--header', 'Idempotency-Key: multipart-once', '--form', 'name=once', '--form', 'url=https://example.com/once', `${api()}/releases/${tag}/assets/links`];
    // The key matches whatever way the token travels: header first, then a form field.
    const first = await curl(...auth, ...args);
    const second = await curl('--form', `private_token=${ROOT_TOKEN}`, ...args);
    assert.equal(first.status, 201, first.text);
    assert.equal(second.status, 201, second.text);
    assert.equal(second.headers['idempotent-replayed'], 'true');
    assert.deepEqual(second.body, first.body);
    assert.equal(await linkCount(), before + 1);
    const changed = await curl(...auth, '--header', 'Idempotency-Key: multipart-once', '--form', 'name=other', '--form', 'url=https://example.com/other', `${api()}/releases/${tag}/assets/links`);
    assert.equal(changed.status, 422, changed.text);
  });

  test('a NUL byte in a field value: 400, as in any other body', async () => {
    const tag = await newRelease();
    const nul = scratchFile('nul.txt', Buffer.from('a\u0000b'));
    const res = await curl(...auth, '--form', `name=<${nul}`, '--form', 'url=https://example.com/nul', `${api()}/releases/${tag}/assets/links`);
    assertError(res, 400, 'error');
    assert.deepEqual(res.body, { error: '400 Bad request - null bytes are not allowed in parameters' });
  });
});

describe('what multipart may not carry', () => {
  test('a file part: 400 {"error": …}, nothing written, the connection stays usable', async () => {
    const tag = await newRelease();
    const upload = scratchFile('app.bin', Buffer.alloc(4096, 0x61));
    const before = await linkCount();
    for (const fields of [
      ['--form', 'name=a', '--form', 'url=https://example.com/a', '--form', `file=@${upload}`],
      ['--form', 'name=a', '--form', `url=@${upload}`],
      ['--form', `file=@${upload};type=text/plain`, '--form', 'name=a', '--form', 'url=https://example.com/a'],
    ]) {
      const res = await curl(...auth, ...fields, `${api()}/releases/${tag}/assets/links`);
      assertError(res, 400, 'error');
      assert.match(res.body.error, /^400 Bad request - file uploads are not accepted/);
      assert.notEqual(res.headers.connection, 'close');
    }
    assert.equal(await linkCount(), before);
  });

  test('a file input left empty (filename="") is no parameter, as in Rack', async () => {
    const tag = await newRelease();
    const b = 'relinks-boundary';
    const body = [
      `--${b}\r\nContent-Disposition: form-data; name="name"\r\n\r\nwith-empty-file\r\n`,
      `--${b}\r\nContent-Disposition: form-data; name="url"\r\n\r\nhttps://example.com/e\r\n`,
      `--${b}\r\nContent-Disposition: form-data; name="attachment"; filename=""\r\nContent-Type: application/octet-stream\r\n\r\n\r\n`,
      `--${b}--\r\n`,
    ].join('');
    const res = await client.send({ method: 'POST', path: `/api/v4/projects/${projectId}/releases/${tag}/assets/links`, headers: { 'private-token': ROOT_TOKEN, 'content-type': `multipart/form-data; boundary=${b}` }, body });
    assert.equal(res.status, 201, res.text);
  });

  test('over 1 MiB: 413 with the JSON parser\'s body, nothing written (declared length and chunked)', async () => {
    const tag = await newRelease();
    const big = scratchFile('big.txt', 'x'.repeat(MiB + 10));
    const before = await linkCount();
    for (const extra of [[], ['--header', 'Transfer-Encoding: chunked']]) {
      const res = await curl(...auth, ...extra, '--form', 'name=big', '--form', `url=<${big}`, `${api()}/releases/${tag}/assets/links`);
      assertError(res, 413, 'message');
      assert.deepEqual(res.body, { message: '413 Request Entity Too Large' });
    }
    // Many small fields that add up past the limit.
    const b = 'relinks-boundary';
    const part = (i: number) => `--${b}\r\nContent-Disposition: form-data; name="f${i}"\r\n\r\n${'v'.repeat(1000)}\r\n`;
    const many = Array.from({ length: 1100 }, (_, i) => part(i)).join('') + `--${b}--\r\n`;
    const res = await client.send({ method: 'POST', path: `/api/v4/projects/${projectId}/releases/${tag}/assets/links`, headers: { 'private-token': ROOT_TOKEN, 'content-type': `multipart/form-data; boundary=${b}` }, body: many });
    assert.equal(res.status, 413, res.text);
    assert.deepEqual(res.json, { message: '413 Request Entity Too Large' });
    assert.equal(await linkCount(), before);
  });

  test('just under 1 MiB in one field is accepted', async () => {
    const description = scratchFile('description.txt', 'd'.repeat(MiB - 1000));
    const res = await curl(...auth, '--form', `tag_name=big-${++seq}`, '--form', 'ref=main', '--form', `description=<${description}`, `${api()}/releases`);
    assert.equal(res.status, 201, res.text.slice(0, 200));
    assert.equal(res.body.description.length, MiB - 1000);
  });

  test('more parts than a form may have: 413', async () => {
    const tag = await newRelease();
    const b = 'relinks-boundary';
    const body = Array.from({ length: 10_001 }, (_, i) => `--${b}\r\nContent-Disposition: form-data; name="k${i}"\r\n\r\nv\r\n`).join('') + `--${b}--\r\n`;
    assert.ok(body.length < MiB);
    const res = await client.send({ method: 'POST', path: `/api/v4/projects/${projectId}/releases/${tag}/assets/links`, headers: { 'private-token': ROOT_TOKEN, 'content-type': `multipart/form-data; boundary=${b}` }, body });
    assert.equal(res.status, 413, res.text);
    assert.deepEqual(res.json, { message: '413 Request Entity Too Large' });
  });
});

describe('malformed multipart: 400 {"error": …}', () => {
  const linkPath = async () => `/api/v4/projects/${projectId}/releases/${await newRelease()}/assets/links`;
  const b = 'relinks-boundary';
  const good = `--${b}\r\nContent-Disposition: form-data; name="name"\r\n\r\na\r\n--${b}\r\nContent-Disposition: form-data; name="url"\r\n\r\nhttps://example.com/a\r\n--${b}--\r\n`;

  test('no boundary parameter, a boundary the body does not use, a truncated body (curl)', async () => {
    const path = await linkPath();
    const body = scratchFile('body.txt', good);
    const truncated = scratchFile('truncated.txt', good.slice(0, good.length - 30));
    for (const [type, file] of [
      ['multipart/form-data', body],
      [`multipart/form-data; boundary=${b}x`, body],
      [`multipart/form-data; boundary=${b}`, truncated],
    ]) {
      const res = await curl(...auth, '--header', `Content-Type: ${type}`, '--data-binary', `@${file}`, `${server.url}${path}`);
      assertError(res, 400, 'error');
      assert.match(res.body.error, /^400 Bad request - /, res.text);
    }
  });

  test('garbage, bare LF line ends, a part without headers, a truncated field, __proto__, bad JSON: 400, never 5xx', async () => {
    const path = await linkPath();
    for (const body of [
      'garbage',
      good.replace(/\r\n/g, '\n'),
      `--${b}\r\n\r\nno headers\r\n--${b}--\r\n`,
      `--${b}\r\nContent-Disposition: form-data; name="name"\r\n\r\n${'x'.repeat(100)}`,
      `--${b}\r\nContent-Disposition: form-data; name="__proto__"\r\n\r\nx\r\n--${b}--\r\n`,
      `--${b}\r\nContent-Disposition: form-data; name="name"\r\nContent-Type: application/json\r\n\r\n{bad\r\n--${b}--\r\n`,
    ]) {
      const res = await client.send({ method: 'POST', path, headers: { 'private-token': ROOT_TOKEN, 'content-type': `multipart/form-data; boundary=${b}` }, body });
      assert.equal(res.status, 400, `${res.text} for ${JSON.stringify(body.slice(0, 80))}`);
      assert.equal(res.headers['content-type'], 'application/json');
      assert.deepEqual(Object.keys(res.json as object), ['error'], res.text);
    }
    // The server is fine afterwards.
    const res = await client.send({ method: 'POST', path, headers: { 'private-token': ROOT_TOKEN, 'content-type': `multipart/form-data; boundary=${b}` }, body: good });
    assert.equal(res.status, 201, res.text);
  });
});

