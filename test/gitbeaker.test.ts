import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Gitlab } from '@gitbeaker/rest';
import { startTestServer, ROOT_TOKEN, type TestServer } from './helpers/server.js';
import { addMember, createGroup, createProject, createUser, type TestUser } from './helpers/fixtures.js';
import type { LinkJson as Link } from '../src/entities/link.js';

// The real @gitbeaker/rest client, unchanged, against relinks: a maintainer of group/sub/project
// releases rel/1.0 with links, then lists (following Link pages), shows, creates, edits, removes.

const PROJECT = 'group/sub/project';
const TAG = 'rel/1.0';

let server: TestServer;
let maintainer: TestUser;
let api: InstanceType<typeof Gitlab>;
let projectId: number;

before(async () => {
  server = await startTestServer();
  const group = await createGroup(server, 'group');
  const sub = await createGroup(server, 'sub', { parentId: group.id });
  projectId = (await createProject(server, 'project', { namespaceId: sub.id })).id;
  maintainer = await createUser(server);
  await addMember(server, projectId, maintainer.id, 40);
  api = new Gitlab({ host: server.url, token: maintainer.token });
});
after(async () => server.close());

/** The same list read without the client, in one page, to compare against. */
async function allLinks(): Promise<Link[]> {
  const res = await server.request('GET', `/api/v4/projects/${encodeURIComponent(PROJECT)}/releases/${encodeURIComponent(TAG)}/assets/links?per_page=100`, { token: ROOT_TOKEN });
  assert.equal(res.status, 200, res.text);
  return res.body;
}

test('ProjectReleases.create makes the release and its tag, with inline links', async () => {
  const release = await api.ProjectReleases.create(PROJECT, {
    tagName: TAG,
    ref: 'main',
    name: 'Release 1.0',
    description: 'first',
    assets: {
      links: [
        { name: 'linux', url: 'https://example.com/linux', directAssetPath: '/bin/linux', linkType: 'package' },
        { name: 'notes', url: 'https://example.com/notes' },
      ],
    },
  });
  assert.equal(release.tag_name, TAG);
  assert.equal(release.name, 'Release 1.0');
  const links = (release.assets as { links: Link[] }).links;
  assert.equal(links.length, 2);
  const linux = links.find((l) => l.name === 'linux')!;
  assert.equal(linux.link_type, 'package');
  assert.equal(linux.direct_asset_url, 'http://relinks.test/group/sub/project/-/releases/rel%2F1.0/downloads/bin/linux');
  assert.deepEqual(Object.keys(linux), ['id', 'name', 'url', 'direct_asset_url', 'external', 'link_type']);
  // The links API shows the same objects.
  assert.deepEqual(await allLinks(), links);

  const shown = await api.ProjectReleases.show(PROJECT, TAG);
  assert.equal(shown.tag_name, TAG);
  const tag = await api.Tags.show(PROJECT, TAG);
  assert.equal(tag.name, TAG);
});

test('ReleaseLinks.create (also by project id), then ReleaseLinks.all with a small perPage follows every Link page', async () => {
  for (let i = 0; i < 11; i++) {
    const link = await api.ReleaseLinks.create(i % 2 ? PROJECT : projectId, TAG, `asset-${i}`, `https://example.com/asset-${i}`, { directAssetPath: `/assets/${i}.bin` });
    assert.equal(link.name, `asset-${i}`);
    assert.equal(link.direct_asset_url, `http://relinks.test/group/sub/project/-/releases/rel%2F1.0/downloads/assets/${i}.bin`);
  }
  const expected = await allLinks();
  assert.equal(expected.length, 13);

  const listed = await api.ReleaseLinks.all(PROJECT, TAG, { perPage: 4 });
  // 13 links at 4 a page: the client must have walked 4 pages to have them all.
  assert.equal(listed.length, 13);
  assert.deepEqual(listed, expected);

  const expanded = await api.ReleaseLinks.all(PROJECT, TAG, { perPage: 5, showExpanded: true });
  assert.deepEqual(expanded.data, expected);
  assert.equal(expanded.paginationInfo.total, 13);
  assert.equal(expanded.paginationInfo.totalPages, 3);
  assert.equal(expanded.paginationInfo.perPage, 5);

  // One page only, when asked for one.
  const page2 = await api.ReleaseLinks.all(PROJECT, TAG, { perPage: 4, page: 2 });
  assert.deepEqual(page2, expected.slice(4, 8));

  // maxPages stops the walk.
  const capped = await api.ReleaseLinks.all(PROJECT, TAG, { perPage: 3, maxPages: 2 });
  assert.deepEqual(capped, expected.slice(0, 6));
});

test('ReleaseLinks.show, edit and remove', async () => {
  const [newest] = await allLinks();
  const shown = await api.ReleaseLinks.show(PROJECT, TAG, newest.id);
  assert.deepEqual(shown, newest);

  const edited = await api.ReleaseLinks.edit(PROJECT, TAG, newest.id, { name: 'renamed', linkType: 'runbook', url: 'https://example.com/renamed' });
  assert.deepEqual(edited, { ...newest, name: 'renamed', link_type: 'runbook', url: 'https://example.com/renamed' });
  const editedPath = await api.ReleaseLinks.edit(PROJECT, TAG, newest.id, { name: 'renamed', directAssetPath: '/moved/here' });
  assert.equal(editedPath.direct_asset_url, 'http://relinks.test/group/sub/project/-/releases/rel%2F1.0/downloads/moved/here');
  assert.equal(editedPath.link_type, 'runbook');

  const removed = (await api.ReleaseLinks.remove(PROJECT, TAG, newest.id)) as unknown as Link;
  assert.deepEqual(removed, { ...editedPath });
  assert.equal((await allLinks()).some((l) => l.id === newest.id), false);
  await assert.rejects(api.ReleaseLinks.show(PROJECT, TAG, newest.id), (error: Error & { cause?: { description: string; response: Response } }) => {
    assert.equal(error.cause?.response.status, 404);
    assert.equal(error.cause?.description, '404 Not found');
    return true;
  });
});

test('gitbeaker\'s filePath option is sent as file_path, which GitLab ignores: the link has no direct asset path', async () => {
  const link = await api.ReleaseLinks.create(PROJECT, TAG, 'file-path-option', 'https://example.com/fpo', { filePath: '/ignored/path' });
  assert.equal(link.direct_asset_url, 'https://example.com/fpo');
});

test('errors reach the client with GitLab\'s status and message', async () => {
  const [first] = await allLinks();
  await assert.rejects(api.ReleaseLinks.create(PROJECT, TAG, first.name, first.url), (error: Error & { cause?: { description: string; response: Response } }) => {
    assert.equal(error.cause?.response.status, 400);
    assert.equal(error.cause?.description, '{"url":["has already been taken"],"name":["has already been taken"]}');
    return true;
  });
  const reporter = await createUser(server);
  await addMember(server, projectId, reporter.id, 20);
  const asReporter = new Gitlab({ host: server.url, token: reporter.token });
  assert.equal((await asReporter.ReleaseLinks.all(PROJECT, TAG)).length, (await allLinks()).length);
  await assert.rejects(asReporter.ReleaseLinks.create(PROJECT, TAG, 'nope', 'https://example.com/nope'), (error: Error & { cause?: { description: string; response: Response } }) => {
    assert.equal(error.cause?.response.status, 403);
    assert.equal(error.cause?.description, '403 Forbidden');
    return true;
  });
  const stranger = new Gitlab({ host: server.url, token: (await createUser(server)).token });
  await assert.rejects(stranger.ReleaseLinks.all(PROJECT, TAG), (error: Error & { cause?: { description: string; response: Response } }) => {
    assert.equal(error.cause?.response.status, 404);
    assert.equal(error.cause?.description, '404 Project Not Found');
    return true;
  });
});

test('ProjectReleases.all, edit and remove round the release off', async () => {
  const releases = await api.ProjectReleases.all(PROJECT, { perPage: 1 });
  assert.deepEqual(releases.map((r) => r.tag_name), [TAG]);
  const edited = await api.ProjectReleases.edit(PROJECT, TAG, { description: 'second' });
  assert.equal(edited.description, 'second');
  const removed = await api.ProjectReleases.remove(PROJECT, TAG);
  assert.equal((removed as unknown as { tag_name: string }).tag_name, TAG);
  const after = await server.request('GET', `/api/v4/projects/${projectId}/releases/${encodeURIComponent(TAG)}/assets/links`, { token: ROOT_TOKEN });
  assert.equal(after.status, 404);
  assert.equal(after.text, '{"message":"404 Not found"}');
});
