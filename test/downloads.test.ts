import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { startTestServer, ROOT_TOKEN, type TestServer } from './helpers/server.js';
import { addMember, createGroup, createProject, createRelease, createUser, enc, type TestUser } from './helpers/fixtures.js';
import { local, mintJobToken } from './helpers/ci.js';

// Direct asset downloads and latest-release permalinks (gitlab-behavior §8, §9), by API and by
// the web URLs relinks hands out in `direct_asset_url`.

let server: TestServer;
let guest: TestUser;
let reporter: TestUser;
type P = { id: number; path_with_namespace: string };
let nested: P; // private, three levels deep
let open: P; // public

before(async () => {
  server = await startTestServer();
  guest = await createUser(server);
  reporter = await createUser(server);
  const top = await createGroup(server, 'dl-top');
  const mid = await createGroup(server, 'dl-mid', { parentId: top.id });
  nested = await createProject(server, 'dl-app', { namespaceId: mid.id });
  open = await createProject(server, 'dl-open', { visibility: 'public' });
  await addMember(server, nested.id, guest.id, 10);
  await addMember(server, nested.id, reporter.id, 20);
  await createRelease(server, nested.id, 'v1.0/rc', [
    { name: 'linux', url: 'https://cdn.example.com/app/linux?sig=abc', filepath: '/bin/app-linux.tar.gz', link_type: 'package' },
    { name: 'notes', url: 'https://example.com/notes' },
  ]);
  await createRelease(server, open.id, 'v2', [{ name: 'zip', url: 'ftp://files.example.com/v2.zip', direct_asset_path: '/dist/v2.zip' }]);
});
after(async () => server.close());

const web = (p: P, rest: string) => `/${p.path_with_namespace}/-/releases/${rest}`;

/** A GET exactly as written: fetch would resolve `..` segments before sending. */
function rawGet(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    http
      .get({ host: url.hostname, port: url.port, path, headers }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      })
      .on('error', reject);
  });
}

describe('GET /api/v4/projects/:id/releases/:tag_name/downloads/*direct_asset_path', () => {
  const api = (rest: string) => `/api/v4/projects/${nested.id}/releases/${enc('v1.0/rc')}/downloads/${rest}`;

  test('302 to the link url, by id or by path', async () => {
    for (const path of [api('bin/app-linux.tar.gz'), `/api/v4/projects/${enc(nested.path_with_namespace)}/releases/v1.0%2Frc/downloads/bin/app-linux.tar.gz`]) {
      const res = await server.request('GET', path, { token: reporter.token });
      assert.equal(res.status, 302, res.text);
      assert.equal(res.headers.get('location'), 'https://cdn.example.com/app/linux?sig=abc');
    }
  });

  test("GitLab's answers: unknown release, unknown filepath, guests of a private project, anonymous", async () => {
    const noRelease = await server.request('GET', `/api/v4/projects/${nested.id}/releases/v9/downloads/bin/app-linux.tar.gz`, { token: reporter.token });
    assert.equal(noRelease.status, 404);
    assert.deepEqual(noRelease.body, { message: '404 Not Found' });
    const noFile = await server.request('GET', api('bin/missing.exe'), { token: reporter.token });
    assert.equal(noFile.status, 404);
    assert.deepEqual(noFile.body, { message: '404 Not found' });
    // Downloading needs the code: a guest of a private project is refused.
    assert.deepEqual((await server.request('GET', api('bin/app-linux.tar.gz'), { token: guest.token })).body, { message: '403 Forbidden' });
    const anonymous = await server.request('GET', api('bin/app-linux.tar.gz'));
    assert.equal(anonymous.status, 404);
    assert.deepEqual(anonymous.body, { message: '404 Project Not Found' });
    // A public project's assets are anyone's.
    const pub = await server.request('GET', `/api/v4/projects/${open.id}/releases/v2/downloads/dist/v2.zip`);
    assert.equal(pub.status, 302);
    assert.equal(pub.headers.get('location'), 'ftp://files.example.com/v2.zip');
  });

  test('a path that climbs out is 400', async () => {
    for (const rest of ['bin/../../x', 'bin/%2E%2E/x', './bin']) {
      const res = await rawGet(api(rest), { 'private-token': ROOT_TOKEN });
      assert.equal(res.status, 400, rest);
      assert.deepEqual(JSON.parse(res.body), { error: 'direct_asset_path should be a valid file path' });
    }
  });
});

describe('GET /<full path>/-/releases/<tag>/downloads/<filepath>', () => {
  test('302 to the link url with a token by header, private_token parameter or job token', async () => {
    const path = web(nested, 'v1.0%2Frc/downloads/bin/app-linux.tar.gz');
    const job = await mintJobToken(server, nested.id);
    for (const res of [
      await server.request('GET', path, { token: guest.token }),
      await server.request('GET', `${path}?private_token=${guest.token}`),
      await server.request('GET', path, { headers: { authorization: `Bearer ${guest.token}` } }),
      await server.request('GET', path, { headers: { 'job-token': job.token } }),
      await server.request('HEAD', path, { token: guest.token }),
    ]) {
      assert.equal(res.status, 302);
      assert.equal(res.headers.get('location'), 'https://cdn.example.com/app/linux?sig=abc');
    }
    // The full path is matched without regard to case, like GitLab's.
    const upper = await server.request('GET', web({ ...nested, path_with_namespace: nested.path_with_namespace.toUpperCase() }, 'v1.0%2Frc/downloads/bin/app-linux.tar.gz'), { token: guest.token });
    assert.equal(upper.status, 302);
  });

  test("a private project's asset is never revealed: every miss is the same 404 as a path relinks does not serve", async () => {
    const nothing = await server.request('GET', '/no/such/page');
    assert.equal(nothing.status, 404);
    const stranger = await createUser(server);
    const misses = [
      await server.request('GET', web(nested, 'v1.0%2Frc/downloads/bin/app-linux.tar.gz')),
      await server.request('GET', web(nested, 'v1.0%2Frc/downloads/bin/app-linux.tar.gz'), { token: stranger.token }),
      await server.request('GET', web(nested, 'v9/downloads/bin/app-linux.tar.gz'), { token: guest.token }),
      await server.request('GET', web(nested, 'v1.0%2Frc/downloads/bin/nope'), { token: guest.token }),
      await server.request('GET', '/dl-top/no-project/-/releases/v1/downloads/x', { token: ROOT_TOKEN }),
      await rawGet(web(nested, 'v1.0%2Frc/downloads/bin/../bin/app-linux.tar.gz'), { 'private-token': ROOT_TOKEN }),
    ];
    for (const res of misses) {
      assert.equal(res.status, 404);
      assert.deepEqual(typeof res.body === 'string' ? JSON.parse(res.body) : res.body, nothing.body);
    }
    // A wrong token is still 401, as everywhere.
    assert.equal((await server.request('GET', web(nested, 'v1.0%2Frc/downloads/bin/app-linux.tar.gz'), { token: 'wrong' })).status, 401);
  });

  test('anonymous downloads work on a public project', async () => {
    const res = await server.request('GET', web(open, 'v2/downloads/dist/v2.zip'));
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), 'ftp://files.example.com/v2.zip');
  });
});

describe('latest release permalinks', () => {
  let project: P;
  before(async () => {
    project = await createProject(server, 'dl-latest', { visibility: 'public' });
  });

  test('404 while the project has no release', async () => {
    const api = await server.request('GET', `/api/v4/projects/${project.id}/releases/permalink/latest`, { token: ROOT_TOKEN });
    assert.equal(api.status, 404);
    assert.deepEqual(api.body, { message: '404 Not Found' });
    assert.equal((await server.request('GET', web(project, 'permalink/latest/downloads/x'))).status, 404);
  });

  test('the latest by released_at wins, not the newest created; suffix and query (minus order_by) follow', async () => {
    const create = (tag: string, released_at: string, filepath: string) =>
      server.request('POST', `/api/v4/projects/${project.id}/releases`, {
        token: ROOT_TOKEN,
        json: { tag_name: tag, ref: 'main', released_at, assets: { links: [{ name: tag, url: `https://example.com/${tag}`, filepath }] } },
      });
    assert.equal((await create('v2.0', '2024-06-01T00:00:00Z', '/pkg')).status, 201);
    assert.equal((await create('v1.9', '2024-01-01T00:00:00Z', '/pkg')).status, 201); // created later, released earlier

    const bare = await server.request('GET', `/api/v4/projects/${project.id}/releases/permalink/latest`, { token: ROOT_TOKEN });
    assert.equal(bare.status, 302);
    assert.equal(bare.headers.get('location'), `/api/v4/projects/${project.id}/releases/v2.0`);

    const deep = await server.request('GET', `/api/v4/projects/${enc(project.path_with_namespace)}/releases/permalink/latest/downloads/pkg?order_by=x&include_html_description=true&b=1`);
    assert.equal(deep.status, 302);
    assert.equal(deep.headers.get('location'), `/api/v4/projects/${project.id}/releases/v2.0/downloads/pkg?include_html_description=true&b=1`);
    // Followed, the chain ends at the asset.
    const followed = await server.request('GET', deep.headers.get('location')!);
    assert.equal(followed.headers.get('location'), 'https://example.com/v2.0');

    const list = await server.request('GET', `/api/v4/projects/${project.id}/releases/permalink/latest/assets/links`);
    assert.equal(list.headers.get('location'), `/api/v4/projects/${project.id}/releases/v2.0/assets/links`);

    const climbing = await rawGet(`/api/v4/projects/${project.id}/releases/permalink/latest/downloads/../../x`);
    assert.equal(climbing.status, 400);
    assert.deepEqual(JSON.parse(climbing.body), { error: 'suffix_path should be a valid file path' });
  });

  test('the web permalink sends to the direct asset URL of the latest release', async () => {
    const res = await server.request('GET', web(project, 'permalink/latest/downloads/pkg'));
    assert.equal(res.status, 302);
    const latest = await server.request('GET', `/api/v4/projects/${project.id}/releases/v2.0`);
    assert.equal(res.headers.get('location'), latest.body.assets.links[0].direct_asset_url);
    const asset = await server.request('GET', local(server, res.headers.get('location')!));
    assert.equal(asset.headers.get('location'), 'https://example.com/v2.0');
  });

  test('the web permalink escapes the tag as direct_asset_url does (a + stays, a / is %2F)', async () => {
    const odd = await createProject(server, 'dl-latest-odd', { visibility: 'public' });
    await createRelease(server, odd.id, 'rel/1.0+build.7', [{ name: 'a', url: 'https://example.com/odd', filepath: '/a' }]);
    const res = await server.request('GET', web(odd, 'permalink/latest/downloads/a'));
    assert.equal(res.status, 302);
    const release = await server.request('GET', `/api/v4/projects/${odd.id}/releases/${enc('rel/1.0+build.7')}`);
    assert.equal(res.headers.get('location'), release.body.assets.links[0].direct_asset_url);
    assert.match(res.headers.get('location')!, /\/-\/releases\/rel%2F1\.0\+build\.7\/downloads\/a$/);
    const asset = await server.request('GET', local(server, res.headers.get('location')!));
    assert.equal(asset.headers.get('location'), 'https://example.com/odd');
  });

  test('permalinks need read access like everything else', async () => {
    const hidden = await createProject(server, 'dl-latest-private');
    await createRelease(server, hidden.id, 'v1', [{ name: 'a', url: 'https://example.com/a', filepath: '/a' }]);
    assert.deepEqual((await server.request('GET', `/api/v4/projects/${hidden.id}/releases/permalink/latest`)).body, { message: '404 Project Not Found' });
    assert.deepEqual((await server.request('GET', `/api/v4/projects/${nested.id}/releases/permalink/latest`, { token: guest.token })).body, { message: '403 Forbidden' });
    assert.equal((await server.request('GET', web(hidden, 'permalink/latest/downloads/a'))).status, 404);
    assert.equal((await server.request('GET', web(hidden, 'permalink/latest/downloads/a'), { token: ROOT_TOKEN })).status, 302);
  });
});
