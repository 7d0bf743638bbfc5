import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startTestServer, ROOT_TOKEN, type TestServer } from './helpers/server.js';
import { addMember, createProject, createUser, type TestUser } from './helpers/fixtures.js';

// Project uploads as glab and semantic-release make them: multipart `file`, GitLab's answer, and
// the web path in that answer serving the same bytes to whoever may see the project.

let server: TestServer;
let developer: TestUser;
let guest: TestUser;
let maintainer: TestUser;
let project: { id: number; path_with_namespace: string };
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function upload(projectId: number, name: string, bytes: Buffer, token?: string, field = 'file') {
  const form = new FormData();
  form.append(field, new Blob([bytes]), name);
  const res = await fetch(`${server.url}/api/v4/projects/${projectId}/uploads`, { method: 'POST', headers: token ? { 'private-token': token } : {}, body: form });
  return { status: res.status, body: await res.json() };
}
async function fetchBytes(path: string, token?: string) {
  const res = await fetch(server.url + path, { headers: token ? { 'private-token': token } : {} });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

before(async () => {
  server = await startTestServer({ MAX_UPLOAD_SIZE: String(1024 * 1024) });
  developer = await createUser(server);
  guest = await createUser(server);
  maintainer = await createUser(server);
  project = await createProject(server, 'ups', { visibility: 'private' });
  await addMember(server, project.id, developer.id, 30);
  await addMember(server, project.id, guest.id, 10);
  await addMember(server, project.id, maintainer.id, 40);
});
after(() => server.close());

test("POST /uploads answers GitLab's JSON; its full_path serves the same bytes as an attachment", async () => {
  const bytes = randomBytes(200_000);
  const res = await upload(project.id, 'app-1.0.tar.gz', bytes, developer.token);
  assert.equal(res.status, 201);
  assert.deepEqual(Object.keys(res.body), ['id', 'alt', 'url', 'full_path', 'markdown']);
  assert.match(res.body.url, /^\/uploads\/[0-9a-f]{32}\/app-1\.0\.tar\.gz$/);
  assert.equal(res.body.full_path, `/-/project/${project.id}${res.body.url}`);
  assert.equal(res.body.alt, 'app-1.0.tar.gz');
  assert.equal(res.body.markdown, `[app-1.0.tar.gz](${res.body.url})`);
  const down = await fetchBytes(res.body.full_path, guest.token);
  assert.equal(down.status, 200);
  assert.equal(sha(down.bytes), sha(bytes));
  assert.equal(down.headers.get('content-disposition'), 'attachment; filename="app-1.0.tar.gz"');
  assert.equal(down.headers.get('x-content-type-options'), 'nosniff');
});

test('an image is embedded in Markdown under its name without extension; a file name is cleaned as GitLab does', async () => {
  const img = await upload(project.id, 'screen shot.png', Buffer.from('png'), developer.token);
  assert.equal(img.body.alt, 'screen_shot');
  assert.match(img.body.markdown, /^!\[screen_shot\]\(\/uploads\/[0-9a-f]{32}\/screen_shot\.png\)$/);
  const down = await fetchBytes(img.body.full_path, developer.token);
  assert.equal(down.headers.get('content-type'), 'image/png');
  const svg = await upload(project.id, 'x.svg', Buffer.from('<svg onload="alert(1)"/>'), developer.token);
  const served = await fetchBytes(svg.body.full_path, developer.token);
  assert.equal(served.headers.get('content-type'), 'application/octet-stream', 'never rendered as SVG');
  assert.match(served.headers.get('content-security-policy') ?? '', /sandbox/);
});

test('who may: a Guest uploads; a stranger to a private project gets 404 for the upload and the file; anonymous may not upload', async () => {
  assert.equal((await upload(project.id, 'g.txt', Buffer.from('g'), guest.token)).status, 201);
  const mine = await upload(project.id, 'secret.txt', Buffer.from('s'), developer.token);
  const stranger = await createUser(server);
  assert.equal((await upload(project.id, 's.txt', Buffer.from('s'), stranger.token)).status, 404);
  assert.equal((await fetchBytes(mine.body.full_path, stranger.token)).status, 404);
  assert.equal((await fetchBytes(mine.body.full_path)).status, 404);
  const pub = await createProject(server, 'pubups', { visibility: 'public' });
  assert.equal((await upload(pub.id, 'a.txt', Buffer.from('a'))).status, 401);
});

test('bad uploads: no file part (400 file is missing), a file over MAX_UPLOAD_SIZE (413), nothing stored', async () => {
  const none = await upload(project.id, 'x.txt', Buffer.from('x'), developer.token, 'other');
  assert.equal(none.status, 400);
  assert.deepEqual(none.body, { error: 'file is missing' });
  const big = await upload(project.id, 'big.bin', Buffer.alloc(1024 * 1024 + 1), developer.token);
  assert.equal(big.status, 413);
  const list = await server.request('GET', `/api/v4/projects/${project.id}/uploads?per_page=100`, { token: maintainer.token });
  assert.ok(!list.body.some((u: { filename: string }) => u.filename === 'big.bin' || u.filename === 'x.txt'));
});

test('Maintainer lists, downloads by id and deletes uploads; a Developer may not; a deleted upload is gone from its web path', async () => {
  const made = await upload(project.id, 'doomed.txt', Buffer.from('doomed'), developer.token);
  assert.equal((await server.request('GET', `/api/v4/projects/${project.id}/uploads`, { token: developer.token })).status, 403);
  const list = await server.request('GET', `/api/v4/projects/${project.id}/uploads`, { token: maintainer.token });
  assert.equal(list.status, 200);
  assert.deepEqual(Object.keys(list.body[0]), ['id', 'size', 'filename', 'created_at', 'uploaded_by']);
  assert.equal(list.body[0].filename, 'doomed.txt');
  assert.equal(list.body[0].uploaded_by.username, developer.username);
  const byId = await fetchBytes(`/api/v4/projects/${project.id}/uploads/${made.body.id}`, maintainer.token);
  assert.equal(byId.bytes.toString(), 'doomed');
  assert.equal((await server.request('DELETE', `/api/v4/projects/${project.id}/uploads/${made.body.id}`, { token: developer.token })).status, 403);
  assert.equal((await server.request('DELETE', `/api/v4/projects/${project.id}/uploads/${made.body.id}`, { token: maintainer.token })).status, 204);
  assert.equal((await fetchBytes(made.body.full_path, maintainer.token)).status, 404);
  assert.equal((await server.request('DELETE', `/api/v4/projects/${project.id}/uploads/${made.body.id}`, { token: ROOT_TOKEN })).status, 404);
});

test('an upload downloads so it can resume: Content-Length, a strong ETag (its SHA-256), Range → 206, an impossible range → 416, HEAD without a body, If-None-Match → 304', async () => {
  const bytes = randomBytes(100_000);
  const made = await upload(project.id, 'resume.bin', bytes, developer.token);
  assert.equal(made.status, 201);
  const at = (path: string, token: string, headers: Record<string, string> = {}, method = 'GET') =>
    fetch(server.url + path, { method, headers: { 'private-token': token, ...headers } }).then(async (r) => ({ status: r.status, headers: r.headers, bytes: Buffer.from(await r.arrayBuffer()) }));
  const etag = `"${sha(bytes)}"`;
  const fullPath = made.body.full_path as string;
  const classic = `/${project.path_with_namespace}${made.body.url}`;
  const byId = `/api/v4/projects/${project.id}/uploads/${made.body.id}`;

  const whole = await at(fullPath, guest.token);
  assert.equal(whole.status, 200);
  assert.equal(whole.headers.get('content-length'), '100000');
  assert.equal(whole.headers.get('etag'), etag);
  assert.equal(whole.headers.get('accept-ranges'), 'bytes');
  assert.equal(sha(whole.bytes), sha(bytes));

  // Each of its three addresses serves ranges: the web path, the classic one, the API's by id.
  for (const [path, token] of [[fullPath, guest.token], [classic, guest.token], [byId, maintainer.token]]) {
    const part = await at(path, token, { range: 'bytes=1000-1999' });
    assert.equal(part.status, 206, path);
    assert.equal(part.headers.get('content-range'), 'bytes 1000-1999/100000', path);
    assert.equal(part.headers.get('content-length'), '1000', path);
    assert.equal(part.headers.get('etag'), etag, path);
    assert.deepEqual(part.bytes, bytes.subarray(1000, 2000), path);
  }
  const tail = await at(fullPath, guest.token, { range: 'bytes=-10' });
  assert.equal(tail.status, 206);
  assert.deepEqual(tail.bytes, bytes.subarray(-10));
  const rest = await at(fullPath, guest.token, { range: 'bytes=99990-' });
  assert.equal(rest.headers.get('content-range'), 'bytes 99990-99999/100000');
  assert.deepEqual(rest.bytes, bytes.subarray(99990));
  const beyond = await at(fullPath, guest.token, { range: 'bytes=200000-' });
  assert.equal(beyond.status, 416);
  assert.equal(beyond.headers.get('content-range'), 'bytes */100000');
  // If-Range naming another version: the whole file, not a piece of something else.
  const changed = await at(fullPath, guest.token, { range: 'bytes=0-9', 'if-range': '"other"' });
  assert.equal(changed.status, 200);
  assert.equal(changed.bytes.length, 100_000);
  const resumed = await at(fullPath, guest.token, { range: 'bytes=50000-', 'if-range': etag });
  assert.equal(resumed.status, 206);
  assert.equal(sha(Buffer.concat([whole.bytes.subarray(0, 50000), resumed.bytes])), sha(bytes));

  for (const [path, token] of [[fullPath, guest.token], [byId, maintainer.token]]) {
    const head = await at(path, token, {}, 'HEAD');
    assert.equal(head.status, 200, path);
    assert.equal(head.headers.get('content-length'), '100000', path);
    assert.equal(head.headers.get('etag'), etag, path);
    assert.equal(head.headers.get('content-disposition'), 'attachment; filename="resume.bin"', path);
    assert.equal(head.bytes.length, 0, path);
    const cached = await at(path, token, { 'if-none-match': etag });
    assert.equal(cached.status, 304, path);
    assert.equal(cached.bytes.length, 0, path);
  }
  // Anyone who may not see the project learns nothing from a HEAD either.
  const stranger = await createUser(server);
  assert.equal((await at(fullPath, stranger.token, {}, 'HEAD')).status, 404);
});

test('a multipart file part is still refused on every other route', async () => {
  const form = new FormData();
  form.append('name', 'x');
  form.append('file', new Blob([Buffer.from('x')]), 'x.bin');
  const res = await fetch(`${server.url}/api/v4/projects/${project.id}/milestones`, { method: 'POST', headers: { 'private-token': ROOT_TOKEN }, body: form });
  assert.equal(res.status, 400);
});
