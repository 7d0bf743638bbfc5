import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startTestServer, ROOT_TOKEN, type TestServer } from './helpers/server.js';
import { addMember, createProject, createUser, type TestUser } from './helpers/fixtures.js';
import { mintJobToken } from './helpers/ci.js';
import { rememberSecret } from './helpers/secrets.js';
import { rawClient } from './helpers/raw-http.js';

// Generic packages as curl and the client libraries use them: bytes in, the same bytes out (by
// SHA-256), GitLab's names, errors and permissions, downloads that resume, and the packages API.

let server: TestServer;
let developer: TestUser;
let reporter: TestUser;
let guest: TestUser;
let maintainer: TestUser;
let project: { id: number; path_with_namespace: string };
let publicProject: { id: number };
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const G = (id: number, rest: string) => `/api/v4/projects/${id}/packages/generic/${rest}`;

async function put(path: string, body: Buffer | string, headers: Record<string, string> = {}) {
  const res = await fetch(server.url + path, { method: 'PUT', headers, body });
  return { status: res.status, headers: res.headers, body: await res.json().catch(() => null) };
}
async function get(path: string, headers: Record<string, string> = {}, method = 'GET') {
  const res = await fetch(server.url + path, { method, headers });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}
const pat = (u: { token: string }) => ({ 'private-token': u.token });

before(async () => {
  server = await startTestServer({ MAX_PACKAGE_FILE_SIZE: String(4 * 1024 * 1024) });
  developer = await createUser(server);
  reporter = await createUser(server);
  guest = await createUser(server);
  maintainer = await createUser(server);
  project = await createProject(server, 'pkgs', { visibility: 'private' });
  publicProject = await createProject(server, 'pubpkgs', { visibility: 'public' });
  await addMember(server, project.id, developer.id, 30);
  await addMember(server, project.id, reporter.id, 20);
  await addMember(server, project.id, guest.id, 10);
  await addMember(server, project.id, maintainer.id, 40);
});
after(() => server.close());

describe('upload and download', () => {
  const bytes = randomBytes(300_000);

  test('curl --upload-file: 201 with GitLab\'s message; the download is the same bytes with the headers a resumable download needs', async () => {
    const up = await put(G(project.id, 'app/1.0.0/app-linux.tar.gz'), bytes, pat(developer));
    assert.equal(up.status, 201);
    assert.deepEqual(up.body, { message: '201 Created' });
    const down = await get(G(project.id, 'app/1.0.0/app-linux.tar.gz'), pat(reporter));
    assert.equal(down.status, 200);
    assert.equal(sha(down.bytes), sha(bytes));
    assert.equal(down.headers.get('content-length'), String(bytes.length));
    assert.equal(down.headers.get('etag'), `"${sha(bytes)}"`);
    assert.equal(down.headers.get('x-checksum-sha256'), sha(bytes));
    assert.equal(down.headers.get('content-disposition'), 'attachment; filename="app-linux.tar.gz"');
    assert.equal(down.headers.get('content-type'), 'application/octet-stream');
    assert.equal(down.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(down.headers.get('accept-ranges'), 'bytes');
  });

  test('Range gives 206 with Content-Range; a suffix range, an open range, an unsatisfiable one (416); HEAD has the length and no body', async () => {
    const path = G(project.id, 'app/1.0.0/app-linux.tar.gz');
    const part = await get(path, { ...pat(reporter), range: 'bytes=100-199' });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 100-199/${bytes.length}`);
    assert.deepEqual(part.bytes, bytes.subarray(100, 200));
    const tail = await get(path, { ...pat(reporter), range: 'bytes=-10' });
    assert.deepEqual(tail.bytes, bytes.subarray(bytes.length - 10));
    const rest = await get(path, { ...pat(reporter), range: `bytes=${bytes.length - 5}-` });
    assert.deepEqual(rest.bytes, bytes.subarray(bytes.length - 5));
    const beyond = await get(path, { ...pat(reporter), range: `bytes=${bytes.length + 10}-` });
    assert.equal(beyond.status, 416);
    assert.equal(beyond.headers.get('content-range'), `bytes */${bytes.length}`);
    const head = await get(path, pat(reporter), 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(bytes.length));
    assert.equal(head.bytes.length, 0);
    const same = await get(path, { ...pat(reporter), 'if-none-match': `"${sha(bytes)}"` });
    assert.equal(same.status, 304);
    // If-Range with another validator: the whole file, not the range.
    const changed = await get(path, { ...pat(reporter), range: 'bytes=0-9', 'if-range': '"other"' });
    assert.equal(changed.status, 200);
    assert.equal(changed.bytes.length, bytes.length);
  });

  test('select=package_file answers the stored file; a second upload of a name is served from then on (duplicates allowed, as on GitLab)', async () => {
    const first = Buffer.from('first version');
    const second = Buffer.from('second version, longer');
    const a = await put(G(project.id, 'dup/2.0.0/notes.txt?select=package_file'), first, pat(developer));
    assert.equal(a.status, 201);
    assert.equal(a.body.file_name, 'notes.txt');
    assert.equal(a.body.size, first.length);
    assert.equal(a.body.file_sha256, sha(first));
    assert.equal(a.body.file_md5, null);
    assert.ok(Number.isInteger(a.body.package_id));
    await put(G(project.id, 'dup/2.0.0/notes.txt'), second, pat(developer));
    const down = await get(G(project.id, 'dup/2.0.0/notes.txt'), pat(developer));
    assert.deepEqual(down.bytes, second);
    const files = await server.request('GET', `/api/v4/projects/${project.id}/packages/${a.body.package_id}/package_files`, { token: developer.token });
    assert.deepEqual(files.body.map((f: { file_name: string }) => f.file_name), ['notes.txt', 'notes.txt']);
  });

  test('a path before the file name is kept, encoded as GitLab stores it', async () => {
    const up = await put(G(project.id, 'tree/1.0.0/linux/amd64/app?select=package_file'), 'x', pat(developer));
    assert.equal(up.status, 201);
    assert.equal(up.body.file_name, 'linux%2Famd64%2Fapp');
    const down = await get(G(project.id, 'tree/1.0.0/linux/amd64/app'), pat(developer));
    assert.equal(down.bytes.toString(), 'x');
    assert.equal(down.headers.get('content-disposition'), 'attachment; filename="app"');
  });

  test('an empty file is a file', async () => {
    assert.equal((await put(G(project.id, 'empty/1.0.0/nothing'), '', pat(developer))).status, 201);
    const down = await get(G(project.id, 'empty/1.0.0/nothing'), pat(developer));
    assert.equal(down.status, 200);
    assert.equal(down.bytes.length, 0);
    assert.equal(down.headers.get('content-length'), '0');
  });

  test('identical content is stored once', async () => {
    const same = randomBytes(1000);
    await put(G(project.id, 'same/1.0.0/a.bin'), same, pat(developer));
    await put(G(project.id, 'same/1.0.0/b.bin'), same, pat(developer));
    await put(G(project.id, 'same/1.0.1/a.bin'), same, pat(developer));
    const rows = await server.running.store.db.selectFrom('blobs').select('sha256').where('sha256', '=', sha(same)).execute();
    assert.equal(rows.length, 1);
  });
});

describe("GitLab's names and errors", () => {
  const cases: Array<[string, number, object]> = [
    ['bad%20name/1.0.0/f', 400, { error: 'package_name is invalid' }],
    ['name/1..0/f', 400, { error: 'package_version is invalid' }],
    // GitLab's version rule is Maven's, `\A(?!.*\.\.)[\w+.-]+\z` (Gitlab::Regex::Packages
    // generic_package_version_regex → maven_version_regex): tags, SemVer, SHAs pass; `~`, spaces, `..` do not.
    ['name/v1.0.0-rc.1/f', 201, { message: '201 Created' }],
    ['name/1.2g/f', 201, { message: '201 Created' }],
    ['name/d50d836eb3de6177ce6c7a5482f27f9c2c84b672/f', 201, { message: '201 Created' }],
    ['name/1.0_beta+build.7/f', 201, { message: '201 Created' }],
    ['name/1.2.3~rc1/f', 400, { error: 'package_version is invalid' }],
    ['name/1.0%200/f', 400, { error: 'package_version is invalid' }],
    ['name/1.%2E0/f', 400, { error: 'package_version is invalid' }],
    ['name/1.0.0/bad%20file', 400, { error: 'file_name is invalid' }],
    ['name/1.0.0/dir/%2E%2E/f', 400, { error: 'path should be a valid file path' }],
    ['%2E%2E/1.0.0/f', 400, { error: 'package_name should be a valid file path' }],
  ];
  for (const [rest, status, body] of cases) {
    test(`PUT ${rest} → ${status}`, async () => {
      // Sent byte for byte: fetch would resolve `%2E%2E` as a `..` segment before sending.
      const client = rawClient(server.url);
      try {
        const res = await client.send({ method: 'PUT', path: G(project.id, rest), headers: pat(developer), body: 'x' });
        assert.equal(res.status, status);
        assert.deepEqual(res.json, body);
      } finally {
        client.close();
      }
    });
  }

  test('a file over MAX_PACKAGE_FILE_SIZE is refused with 413, by its declared length or while it streams, and nothing is stored', async () => {
    const big = Buffer.alloc(4 * 1024 * 1024 + 1);
    const declared = await put(G(project.id, 'big/1.0.0/declared.bin'), big, pat(developer));
    assert.equal(declared.status, 413);
    // Chunked: no Content-Length, so the limit is found while the bytes arrive.
    const stream = new ReadableStream({
      start(c) {
        for (let i = 0; i < 5; i++) c.enqueue(new Uint8Array(1024 * 1024));
        c.close();
      },
    });
    const res = await fetch(server.url + G(project.id, 'big/1.0.0/chunked.bin'), { method: 'PUT', headers: pat(developer), body: stream, duplex: 'half' } as RequestInit);
    assert.equal(res.status, 413);
    assert.deepEqual(await res.json(), { message: '413 Request Entity Too Large' });
    const packages = await server.request('GET', `/api/v4/projects/${project.id}/packages?package_name=big`, { token: developer.token });
    assert.deepEqual(packages.body, []);
  });

  test('a missing file or package is 404', async () => {
    assert.equal((await get(G(project.id, 'app/1.0.0/nope'), pat(developer))).status, 404);
    assert.equal((await get(G(project.id, 'nope/1.0.0/app-linux.tar.gz'), pat(developer))).status, 404);
  });
});

describe('who may do what', () => {
  test('Developer uploads; Reporter and Guest may not (403); a stranger to a private project sees 404', async () => {
    assert.equal((await put(G(project.id, 'perm/1.0.0/f'), 'x', pat(reporter))).status, 403);
    assert.equal((await put(G(project.id, 'perm/1.0.0/f'), 'x', pat(guest))).status, 403);
    const stranger = await createUser(server);
    const res = await put(G(project.id, 'perm/1.0.0/f'), 'x', pat(stranger));
    assert.equal(res.status, 404);
    assert.deepEqual(res.body, { message: '404 Project Not Found' });
    assert.equal((await put(G(project.id, 'perm/1.0.0/f'), 'x')).status, 401);
  });

  test('Reporter downloads from a private project, Guest may not; anyone downloads from a public one', async () => {
    assert.equal((await get(G(project.id, 'app/1.0.0/app-linux.tar.gz'), pat(guest))).status, 403);
    assert.equal((await get(G(project.id, 'app/1.0.0/app-linux.tar.gz'))).status, 404);
    assert.equal((await put(G(publicProject.id, 'open/1.0.0/f'), 'open', { 'private-token': ROOT_TOKEN })).status, 201);
    const anon = await get(G(publicProject.id, 'open/1.0.0/f'));
    assert.equal(anon.status, 200);
    assert.equal(anon.bytes.toString(), 'open');
  });

  test('tokens as package managers send them: Bearer, HTTP Basic user:PAT, JOB-TOKEN and gitlab-ci-token:<job token>', async () => {
    assert.equal((await put(G(project.id, 'creds/1.0.0/bearer'), 'b', { authorization: `Bearer ${developer.token}` })).status, 201);
    const basic = (user: string, token: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}` });
    assert.equal((await put(G(project.id, 'creds/1.0.0/basic'), 'b', basic(developer.username, developer.token))).status, 201);
    const job = await mintJobToken(server, project.id, { token: developer.token });
    rememberSecret(job.token);
    assert.equal((await put(G(project.id, 'creds/1.0.0/job'), 'j', { 'job-token': job.token })).status, 201);
    const viaBasic = await get(G(project.id, 'creds/1.0.0/job'), basic('gitlab-ci-token', job.token));
    assert.equal(viaBasic.status, 200);
    assert.equal(viaBasic.bytes.toString(), 'j');
    // Basic with a wrong token is 401, not an anonymous read.
    assert.equal((await get(G(project.id, 'creds/1.0.0/job'), basic(developer.username, 'wrong-token-123456789'))).status, 401);
  });

  test('a job token of another project (not on the allowlist) may not publish here', async () => {
    const other = await createProject(server, 'otherci');
    await addMember(server, other.id, developer.id, 30);
    const job = await mintJobToken(server, other.id, { token: developer.token });
    rememberSecret(job.token);
    const res = await put(G(project.id, 'creds/1.0.0/foreign'), 'x', { 'job-token': job.token });
    assert.ok(res.status === 403 || res.status === 404, String(res.status));
  });

  test("a job token of a project on this one's allowlist reaches its packages as its user: a Developer's publishes and downloads, a Reporter's only downloads", async () => {
    // `ci` runs the jobs; its project is private, as is this one. developer is Developer here and
    // there; reporter is Developer in `ci` but only Reporter here.
    const ci = await createProject(server, 'allowedci');
    await addMember(server, ci.id, developer.id, 30);
    await addMember(server, ci.id, reporter.id, 30);
    const devJob = (await mintJobToken(server, ci.id, { token: developer.token })).token;
    const repJob = (await mintJobToken(server, ci.id, { token: reporter.token })).token;
    rememberSecret(devJob);
    rememberSecret(repJob);
    const shared = randomBytes(50_000);
    assert.equal((await put(G(project.id, 'shared/2.1.0/lib.tgz'), shared, pat(developer))).status, 201);
    const basic = (token: string) => ({ authorization: `Basic ${Buffer.from(`gitlab-ci-token:${token}`).toString('base64')}` });

    // Not on the allowlist yet: the private project is not there for the token.
    assert.equal((await get(G(project.id, 'shared/2.1.0/lib.tgz'), { 'job-token': devJob })).status, 404);
    const added = await server.request('POST', `/api/v4/projects/${project.id}/job_token_scope/allowlist`, { token: ROOT_TOKEN, json: { target_project_id: ci.id } });
    assert.equal(added.status, 201, added.text);

    for (const [who, token] of [['developer', devJob], ['reporter', repJob]]) {
      for (const headers of [{ 'job-token': token }, basic(token)]) {
        const down = await get(G(project.id, 'shared/2.1.0/lib.tgz'), headers);
        assert.equal(down.status, 200, who);
        assert.equal(sha(down.bytes), sha(shared), who);
      }
    }
    const published = await put(G(project.id, 'shared/2.1.0/from-ci.bin?select=package_file'), 'from ci', { 'job-token': devJob });
    assert.equal(published.status, 201);
    assert.equal(published.body.file_name, 'from-ci.bin');
    assert.equal((await get(G(project.id, 'shared/2.1.0/from-ci.bin'), { 'job-token': repJob })).bytes.toString(), 'from ci');
    const refused = await put(G(project.id, 'shared/2.1.0/by-reporter.bin'), 'no', { 'job-token': repJob });
    assert.equal(refused.status, 403);

    // Off the list again: the door closes.
    assert.equal((await server.request('DELETE', `/api/v4/projects/${project.id}/job_token_scope/allowlist/${ci.id}`, { token: ROOT_TOKEN })).status, 204);
    assert.equal((await get(G(project.id, 'shared/2.1.0/lib.tgz'), { 'job-token': devJob })).status, 404);
  });
});

describe('the packages API', () => {
  let pkgId: number;
  before(async () => {
    await put(G(project.id, 'zeta/1.0.0/z'), 'z', pat(developer));
    await put(G(project.id, 'zeta/2.0.0/z'), 'z2', pat(developer));
    await put(G(project.id, 'hidden-tool/1.0.0/t?status=hidden'), 't', pat(developer));
    const list = await server.request('GET', `/api/v4/projects/${project.id}/packages?package_name=zeta&sort=desc&order_by=version`, { token: maintainer.token });
    pkgId = list.body[0].id;
  });

  test('lists with filters, order and pagination; hidden packages only with status=hidden', async () => {
    const list = await server.request('GET', `/api/v4/projects/${project.id}/packages?package_name=zeta&sort=desc&order_by=version`, { token: reporter.token });
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.map((p: { version: string }) => p.version), ['2.0.0', '1.0.0']);
    const p = list.body[0];
    assert.deepEqual(Object.keys(p), ['id', 'name', 'version', 'package_type', 'status', '_links', 'created_at', 'last_downloaded_at', 'tags']);
    assert.equal(p.package_type, 'generic');
    assert.equal(p._links.web_path, `/${project.path_with_namespace}/-/packages/${p.id}`);
    assert.equal(p._links.delete_api_path, undefined, 'a Reporter may not delete');
    const asMaintainer = await server.request('GET', `/api/v4/projects/${project.id}/packages?package_name=zeta`, { token: maintainer.token });
    assert.equal(asMaintainer.body[0]._links.delete_api_path, `http://relinks.test/api/v4/projects/${project.id}/packages/${asMaintainer.body[0].id}`);
    const version = await server.request('GET', `/api/v4/projects/${project.id}/packages?package_version=2.0.0&package_type=generic&package_name=et`, { token: reporter.token });
    assert.deepEqual(version.body.map((x: { name: string }) => x.name), ['zeta']);
    const paged = await server.request('GET', `/api/v4/projects/${project.id}/packages?per_page=1&page=2`, { token: reporter.token });
    assert.equal(paged.body.length, 1);
    assert.equal(paged.headers.get('x-page'), '2');
    assert.ok(Number(paged.headers.get('x-total')) >= 5);
    const all = await server.request('GET', `/api/v4/projects/${project.id}/packages?per_page=100`, { token: reporter.token });
    assert.ok(!all.body.some((x: { name: string }) => x.name === 'hidden-tool'));
    const hidden = await server.request('GET', `/api/v4/projects/${project.id}/packages?status=hidden`, { token: reporter.token });
    assert.deepEqual(hidden.body.map((x: { name: string }) => x.name), ['hidden-tool']);
    const other = await server.request('GET', `/api/v4/projects/${project.id}/packages?package_type=npm`, { token: reporter.token });
    assert.deepEqual(other.body, []);
    const bad = await server.request('GET', `/api/v4/projects/${project.id}/packages?order_by=size`, { token: reporter.token });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body, { error: 'order_by does not have a valid value' });
  });

  test('shows a package with its other versions, and its files', async () => {
    const one = await server.request('GET', `/api/v4/projects/${project.id}/packages/${pkgId}`, { token: reporter.token });
    assert.equal(one.status, 200);
    assert.equal(one.body.version, '2.0.0');
    assert.deepEqual(one.body.versions.map((v: { version: string }) => v.version), ['1.0.0']);
    const files = await server.request('GET', `/api/v4/projects/${project.id}/packages/${pkgId}/package_files`, { token: reporter.token });
    assert.deepEqual(Object.keys(files.body[0]), ['id', 'package_id', 'created_at', 'file_name', 'size', 'file_md5', 'file_sha1', 'file_sha256']);
    assert.equal(files.body[0].file_sha256, sha(Buffer.from('z2')));
    assert.equal((await server.request('GET', `/api/v4/projects/${project.id}/packages/987654`, { token: reporter.token })).status, 404);
  });

  test('Maintainer deletes a file, then the package (204); Developer may not (403); audit events say so', async () => {
    const files = await server.request('GET', `/api/v4/projects/${project.id}/packages/${pkgId}/package_files`, { token: reporter.token });
    const fileId = files.body[0].id;
    assert.equal((await server.request('DELETE', `/api/v4/projects/${project.id}/packages/${pkgId}/package_files/${fileId}`, { token: developer.token })).status, 403);
    assert.equal((await server.request('DELETE', `/api/v4/projects/${project.id}/packages/${pkgId}/package_files/${fileId}`, { token: maintainer.token })).status, 204);
    assert.equal((await get(G(project.id, 'zeta/2.0.0/z'), pat(developer))).status, 404);
    assert.equal((await server.request('DELETE', `/api/v4/projects/${project.id}/packages/${pkgId}`, { token: developer.token })).status, 403);
    assert.equal((await server.request('DELETE', `/api/v4/projects/${project.id}/packages/${pkgId}`, { token: maintainer.token })).status, 204);
    assert.equal((await server.request('GET', `/api/v4/projects/${project.id}/packages/${pkgId}`, { token: maintainer.token })).status, 404);
    const events = await server.request('GET', `/api/v4/projects/${project.id}/audit_events?per_page=100`, { token: maintainer.token });
    const names = events.body.map((e: { details: { event_name: string } }) => e.details.event_name);
    for (const name of ['package_file_created', 'package_file_destroyed', 'package_destroyed']) assert.ok(names.includes(name), name);
  });
});
