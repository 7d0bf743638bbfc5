import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestServer, ROOT_TOKEN, type TestServer } from './helpers/server.js';
import { createGroup, createProject, createUser, enc } from './helpers/fixtures.js';
import { local } from './helpers/ci.js';
import type { LinkJson } from '../src/entities/link.js';

// Every `direct_asset_url` relinks hands out must resolve: this test collects each one from every
// response that carries links and follows it.

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => server.close());

test('each direct_asset_url in every response redirects to its link url; deleted links stop resolving', async () => {
  const seen = new Map<string, string>(); // direct_asset_url → url
  const gone = new Set<string>(); // addresses a later change took away
  const collect = (links: LinkJson[]) => {
    for (const l of links) {
      const known = seen.get(l.direct_asset_url);
      assert.ok(known === undefined || known === l.url, `${l.direct_asset_url} named two urls`);
      seen.set(l.direct_asset_url, l.url);
    }
  };
  const ok = async (method: string, path: string, options: Parameters<TestServer['request']>[2] = {}) => {
    const res = await server.request(method, path, { token: ROOT_TOKEN, ...options });
    assert.ok(res.status >= 200 && res.status < 300, `${method} ${path}: ${res.status} ${res.text}`);
    return res.body;
  };

  const owner = await createUser(server);
  const top = await createGroup(server, 'walk');
  const sub = await createGroup(server, 'deeper', { parentId: top.id });
  const deepest = await createGroup(server, 'deepest', { parentId: sub.id });
  const projects = [
    await createProject(server, 'in-user-namespace', { token: owner.token }),
    await createProject(server, 'app', { namespaceId: deepest.id }),
    await createProject(server, 'Mixed.Case_app', { namespaceId: top.id, visibility: 'public' }),
  ];
  const tags = ['v1.0.0', 'release/2024-01', 'v2+build.7', '1.0.0-rc.1', 'ünïcode'];

  let n = 0;
  for (const project of projects) {
    const pid = enc(project.path_with_namespace);
    for (const tag of tags) {
      const t = enc(tag);
      n += 1;
      const release = await ok('POST', `/api/v4/projects/${pid}/releases`, {
        json: {
          tag_name: tag,
          ref: 'main',
          assets: {
            links: [
              { name: 'inline-filepath', url: `https://example.com/${n}/a`, filepath: `/bin/a-${n}.tar.gz`, link_type: 'package' },
              { name: 'inline-direct', url: `https://example.com/${n}/b?x=1&y=2`, direct_asset_path: '/deep/er/path/b.exe' },
              { name: 'no-path', url: `https://example.com/${n}/c` },
            ],
          },
        },
      });
      collect(release.assets.links);
      collect([await ok('POST', `/api/v4/projects/${project.id}/releases/${t}/assets/links`, { form: { name: 'form', url: `ftp://example.com/${n}/d`, filepath: '/d' } })]);
      collect(await ok('GET', `/api/v4/projects/${project.id}/releases/${t}/assets/links?per_page=100`));
      const created: LinkJson = await ok('POST', `/api/v4/projects/${pid}/releases/${t}/assets/links`, {
        json: { name: 'json', url: `https://example.com/${n}/e`, direct_asset_path: '/e/E-1.0_x86-64.AppImage', link_type: 'image' },
      });
      collect([created]);
      gone.add(created.direct_asset_url);
      collect([await ok('PUT', `/api/v4/projects/${pid}/releases/${t}/assets/links/${created.id}`, { json: { url: `https://example.com/${n}/e2`, filepath: '/e/moved' } })]);
      collect([await ok('GET', `/api/v4/projects/${pid}/releases/${t}/assets/links/${created.id}`)]);
      collect((await ok('GET', `/api/v4/projects/${pid}/releases/${t}`)).assets.links);
    }
    for (const r of await ok('GET', `/api/v4/projects/${pid}/releases?per_page=100`)) collect(r.assets.links);
  }

  // A link moved by PUT answers at its new address only.
  for (const direct of gone) {
    assert.equal((await server.request('GET', local(server, direct), { token: ROOT_TOKEN })).status, 404, direct);
    seen.delete(direct);
  }
  let walked = 0;
  for (const [direct, url] of seen) {
    if (!direct.startsWith(server.config.externalUrl)) {
      // No filepath: the direct URL is the link's own.
      assert.equal(direct, url);
      continue;
    }
    const res = await server.request('GET', local(server, direct), { token: ROOT_TOKEN });
    assert.equal(res.status, 302, `${direct}: ${res.text}`);
    assert.equal(res.headers.get('location'), url, direct);
    walked += 1;
  }
  assert.equal(walked, projects.length * tags.length * 4);

  // A deleted link's direct URL is a 404 afterwards.
  const [project] = projects;
  const [newest]: LinkJson[] = await ok('GET', `/api/v4/projects/${project.id}/releases/v1.0.0/assets/links`);
  const deleted: LinkJson = await ok('DELETE', `/api/v4/projects/${project.id}/releases/v1.0.0/assets/links/${newest.id}`);
  assert.ok(deleted.direct_asset_url.startsWith(server.config.externalUrl));
  assert.equal((await server.request('GET', local(server, deleted.direct_asset_url), { token: ROOT_TOKEN })).status, 404);
});
