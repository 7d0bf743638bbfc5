import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, ROOT_TOKEN, type TestServer } from './helpers/server.js';
import { createGroup, createProject, createRelease, enc } from './helpers/fixtures.js';

// Project ids and paths, tag names, direct_asset_url and external (shared/gitlab-behavior.md §1, §2).

const EXTERNAL = 'http://relinks.test';
let server: TestServer;
let project: { id: number; path_with_namespace: string; web_url: string };

const asRoot = (method: string, path: string, json?: unknown) => server.request(method, path, { token: ROOT_TOKEN, json });

before(async () => {
  server = await startTestServer({ EXTERNAL_URL: EXTERNAL });
  const group = await createGroup(server, 'Group');
  const sub = await createGroup(server, 'Sub', { parentId: group.id });
  project = await createProject(server, 'Project', { namespaceId: sub.id });
});
after(async () => server.close());

describe('project by id or URL-encoded full path', () => {
  test('the nested project has its full path and web URL', () => {
    assert.equal(project.path_with_namespace, 'Group/Sub/Project');
    assert.equal(project.web_url, `${EXTERNAL}/Group/Sub/Project`);
  });

  test('id, encoded path in any case, all reach the same project, on every links route', async () => {
    await createRelease(server, project.id, 'v1');
    const created = await asRoot('POST', `/api/v4/projects/${project.id}/releases/v1/assets/links`, { name: 'a', url: 'https://example.com/a' });
    assert.equal(created.status, 201, created.text);
    for (const ref of [
      String(project.id),
      enc('Group/Sub/Project'),
      enc('group/sub/project'),
      enc('GROUP/SUB/PROJECT'),
      'group%2fsub%2fproject',
      enc('gRoUp/sUb/PrOjEcT'),
    ]) {
      const base = `/api/v4/projects/${ref}/releases/v1/assets/links`;
      const list = await asRoot('GET', base);
      assert.equal(list.status, 200, `${ref}: ${list.text}`);
      assert.deepEqual(list.body.map((l: { id: number }) => l.id), [created.body.id], ref);
      assert.deepEqual((await asRoot('GET', `${base}/${created.body.id}`)).body, list.body[0], ref);
      const updated = await asRoot('PUT', `${base}/${created.body.id}`, { name: `a-${ref}` });
      assert.equal(updated.status, 200, `${ref}: ${updated.text}`);
      const shown = await asRoot('GET', `/api/v4/projects/${ref}`);
      assert.equal(shown.body.id, project.id, ref);
      assert.equal(shown.body.path_with_namespace, 'Group/Sub/Project', ref);
      // The responses use the stored case, whatever case the request used.
      assert.equal(updated.body.direct_asset_url, 'https://example.com/a');
    }
    const other = await asRoot('POST', `/api/v4/projects/${enc('group/sub/project')}/releases/v1/assets/links`, { name: 'b', url: 'https://example.com/b', filepath: '/b' + 'x' });
    assert.equal(other.status, 201, other.text);
    assert.equal(other.body.direct_asset_url, `${EXTERNAL}/Group/Sub/Project/-/releases/v1/downloads/bx`);
    const deleted = await asRoot('DELETE', `/api/v4/projects/${enc('GROUP/sub/PROJECT')}/releases/v1/assets/links/${other.body.id}`);
    assert.equal(deleted.status, 200, deleted.text);
  });

  test('a project in a user namespace by path', async () => {
    const own = await createProject(server, 'mine');
    assert.equal(own.path_with_namespace, 'root/mine');
    const res = await asRoot('GET', `/api/v4/projects/${enc('ROOT/Mine')}`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.id, own.id);
  });

  test('anything else is 404 Project Not Found', async () => {
    for (const ref of [enc('Group/Sub'), enc('Group/Sub/Project/extra'), enc('Group/Sub/Projec'), enc('Sub/Project'), 'Project', 'abc', '0', '-1', '1.5', '99999999999', enc(' '), enc('Group/Sub/Project ')]) {
      const res = await asRoot('GET', `/api/v4/projects/${ref}/releases/v1/assets/links`);
      assert.equal(res.status, 404, `${ref}: ${res.text}`);
      assert.equal(res.text, '{"message":"404 Project Not Found"}', ref);
    }
  });

  test('a group path is not a project', async () => {
    const res = await asRoot('GET', `/api/v4/projects/${enc('Group')}`);
    assert.equal(res.status, 404);
    assert.equal(res.text, '{"message":"404 Project Not Found"}');
  });
});

describe('tag names', () => {
  const TAGS = ['rel/1.0', 'v0.1', '1.0.0-rc.1', 'a/b/c', 'v1.2.3+build.7', 'release_2024.01.02', 'UPPER'];

  for (const tag of TAGS) {
    test(`${tag}: release and every link route work through the %2F-encoded tag`, async () => {
      const created = await asRoot('POST', `/api/v4/projects/${project.id}/releases`, { tag_name: tag, ref: 'main', assets: { links: [{ name: 'inline', url: 'https://example.com/inline' }] } });
      assert.equal(created.status, 201, created.text);
      assert.equal(created.body.tag_name, tag);
      const base = `/api/v4/projects/${enc(project.path_with_namespace)}/releases/${enc(tag)}/assets/links`;
      const link = await asRoot('POST', base, { name: 'bin', url: 'https://example.com/bin', filepath: '/bin/app' });
      assert.equal(link.status, 201, link.text);
      assert.equal(link.body.direct_asset_url, `${EXTERNAL}/Group/Sub/Project/-/releases/${tag.replaceAll('/', '%2F')}/downloads/bin/app`);
      const list = await asRoot('GET', base);
      assert.deepEqual(list.body.map((l: { name: string }) => l.name), ['bin', 'inline']);
      assert.equal((await asRoot('GET', `${base}/${link.body.id}`)).status, 200);
      assert.equal((await asRoot('PUT', `${base}/${link.body.id}`, { name: 'bin2' })).body.name, 'bin2');
      assert.equal((await asRoot('DELETE', `${base}/${link.body.id}`)).status, 200);
      const release = await asRoot('GET', `/api/v4/projects/${project.id}/releases/${enc(tag)}`);
      assert.equal(release.status, 200, release.text);
      assert.equal(release.body.tag_name, tag);
      const tagRes = await asRoot('GET', `/api/v4/projects/${project.id}/repository/tags/${enc(tag)}`);
      assert.equal(tagRes.status, 200, tagRes.text);
      assert.equal(tagRes.body.name, tag);
    });
  }

  test('tag match is exact and case-sensitive', async () => {
    await createRelease(server, project.id, 'Case-1.0');
    for (const wrong of ['case-1.0', 'CASE-1.0', 'Case-1.0 ', 'Case-1', 'Case-1.0.0', 'Case-1x0']) {
      const res = await asRoot('GET', `/api/v4/projects/${project.id}/releases/${enc(wrong)}/assets/links`);
      assert.equal(res.status, 404, wrong);
      assert.equal(res.text, '{"message":"404 Not found"}', wrong);
    }
    assert.equal((await asRoot('GET', `/api/v4/projects/${project.id}/releases/Case-1.0/assets/links`)).status, 200);
  });

  test('a tag with a slash must be encoded: rel/1.0 unencoded is another route', async () => {
    await createRelease(server, project.id, 'rel/2.0');
    const res = await asRoot('GET', `/api/v4/projects/${project.id}/releases/rel/2.0/assets/links`);
    assert.equal(res.status, 404);
  });

  test('a dotted tag is not read as a format suffix', async () => {
    await createRelease(server, project.id, 'v9.json');
    const res = await asRoot('GET', `/api/v4/projects/${project.id}/releases/v9.json/assets/links`);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body, []);
  });
});

describe('direct_asset_url and external (§2)', () => {
  let base: string;
  let tag: string;
  before(async () => {
    tag = 'rel/3.0';
    await createRelease(server, project.id, tag);
    base = `/api/v4/projects/${project.id}/releases/${enc(tag)}/assets/links`;
  });

  const create = async (params: Record<string, string>) => {
    const res = await asRoot('POST', base, params);
    assert.equal(res.status, 201, res.text);
    return res.body as { direct_asset_url: string; external: boolean; url: string };
  };

  test('without filepath, direct_asset_url is the url', async () => {
    const link = await create({ name: 'plain', url: 'https://example.com/plain.zip' });
    assert.equal(link.direct_asset_url, 'https://example.com/plain.zip');
  });

  test('with filepath, it is <external URL>/<full path>/-/releases/<tag, / as %2F>/downloads<filepath>', async () => {
    const link = await create({ name: 'direct', url: 'https://example.com/direct.zip', filepath: '/bin/direct.zip' });
    assert.equal(link.direct_asset_url, `${EXTERNAL}/Group/Sub/Project/-/releases/rel%2F3.0/downloads/bin/direct.zip`);
  });

  test('the url is answered as it was sent, query and fragment included', async () => {
    const link = await create({ name: 'q', url: 'https://example.com/a?b=1&c=%20#frag' });
    assert.equal(link.url, 'https://example.com/a?b=1&c=%20#frag');
  });

  const externalCases: [string, string, boolean][] = [
    ['a URL elsewhere', 'https://example.com/file', true],
    ['a URL inside the project', `${EXTERNAL}/Group/Sub/Project/-/jobs/1/artifacts/raw/x`, false],
    ['exactly the project web URL', `${EXTERNAL}/Group/Sub/Project`, false],
    ['a sibling whose path merely starts the same (plain prefix test)', `${EXTERNAL}/Group/Sub/ProjectX/file`, false],
    ['the same server, another project', `${EXTERNAL}/Group/Sub/Other/file`, true],
    ['the project path in another case', `${EXTERNAL}/group/sub/project/file`, true],
    ['another scheme on the same host', `https://relinks.test/Group/Sub/Project/file`, true],
    ['the external URL root', `${EXTERNAL}/`, true],
  ];
  for (const [title, url, external] of externalCases) {
    test(`external is ${external} for ${title}`, async () => {
      const n = title.replace(/\W+/g, '-');
      const link = await create({ name: `ext-${n}`, url });
      assert.equal(link.external, external, url);
    });
  }

  test('external follows the url on update', async () => {
    const link = (await asRoot('POST', base, { name: 'moves', url: 'https://example.com/moves' })).body;
    assert.equal(link.external, true);
    const moved = await asRoot('PUT', `${base}/${link.id}`, { url: `${EXTERNAL}/Group/Sub/Project/moves` });
    assert.equal(moved.body.external, false);
  });

  test('a filepath added, changed by update shows in direct_asset_url; the same link in the release JSON', async () => {
    const link = (await asRoot('POST', base, { name: 'later', url: 'https://example.com/later' })).body;
    const updated = await asRoot('PUT', `${base}/${link.id}`, { name: 'later', filepath: '/later/bin' });
    assert.equal(updated.body.direct_asset_url, `${EXTERNAL}/Group/Sub/Project/-/releases/rel%2F3.0/downloads/later/bin`);
    const release = await asRoot('GET', `/api/v4/projects/${project.id}/releases/${enc(tag)}`);
    assert.deepEqual(
      release.body.assets.links.find((l: { id: number }) => l.id === link.id),
      updated.body,
    );
    assert.equal(release.body._links.self, `${EXTERNAL}/Group/Sub/Project/-/releases/rel%2F3.0`);
  });

  test('a tag with + keeps it in direct_asset_url, as a Rails path segment does', async () => {
    await createRelease(server, project.id, '2.0.0+build.5');
    const res = await asRoot('POST', `/api/v4/projects/${project.id}/releases/${enc('2.0.0+build.5')}/assets/links`, { name: 'b', url: 'https://example.com/b', filepath: '/b1' });
    assert.equal(res.body.direct_asset_url, `${EXTERNAL}/Group/Sub/Project/-/releases/2.0.0+build.5/downloads/b1`);
  });
});
