import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Gitlab } from '@gitbeaker/rest';
import { startTestServer, type TestServer } from './helpers/server.js';
import { addMember, createGroup, createProject, createRelease, createUser } from './helpers/fixtures.js';
import { mintJobToken } from './helpers/ci.js';

// @gitbeaker/rest 43 with `jobToken` (sent as the job-token header): all five link endpoints.

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => server.close());

test('gitbeaker with a job token lists, creates, shows, edits and removes links', async () => {
  const group = await createGroup(server, 'beaker');
  const project = await createProject(server, 'app', { namespaceId: group.id });
  const developer = await createUser(server);
  await addMember(server, project.id, developer.id, 30);
  await createRelease(server, project.id, 'v1.0/beta');
  const job = await mintJobToken(server, project.id, { token: developer.token });
  const api = new Gitlab({ host: server.url, jobToken: job.token });
  const web = `${server.config.externalUrl}/${project.path_with_namespace}/-/releases/v1.0%2Fbeta/downloads`;

  // By path and tag with a slash: gitbeaker encodes both.
  const created = await api.ReleaseLinks.create(project.path_with_namespace, 'v1.0/beta', 'app.dmg', 'https://example.com/app.dmg', {
    directAssetPath: '/bin/app.dmg',
    linkType: 'package',
  });
  assert.deepEqual(created, {
    id: created.id,
    name: 'app.dmg',
    url: 'https://example.com/app.dmg',
    direct_asset_url: `${web}/bin/app.dmg`,
    external: true,
    link_type: 'package',
  });
  // `filePath` arrives as `file_path`, which GitLab (and relinks) ignore.
  const second = await api.ReleaseLinks.create(project.id, 'v1.0/beta', 'notes', 'https://example.com/notes', { filePath: '/ignored' });
  assert.equal(second.direct_asset_url, 'https://example.com/notes');

  assert.deepEqual(await api.ReleaseLinks.show(project.id, 'v1.0/beta', created.id), created);
  const all = await api.ReleaseLinks.all(project.path_with_namespace, 'v1.0/beta');
  assert.deepEqual(all.map((l) => l.id), [second.id, created.id]);

  const edited = await api.ReleaseLinks.edit(project.id, 'v1.0/beta', created.id, { name: 'app-universal.dmg', directAssetPath: '/bin/app-universal.dmg' });
  assert.equal(edited.name, 'app-universal.dmg');
  assert.equal(edited.direct_asset_url, `${web}/bin/app-universal.dmg`);
  assert.equal(edited.link_type, 'package');

  const removed = await api.ReleaseLinks.remove(project.id, 'v1.0/beta', second.id);
  assert.equal((removed as unknown as { id: number }).id, second.id);
  assert.deepEqual((await api.ReleaseLinks.all(project.id, 'v1.0/beta')).map((l) => l.id), [created.id]);

  // gitbeaker reads Link rel="next" for `all`: every page is fetched with the job token too.
  for (let i = 0; i < 25; i++) await api.ReleaseLinks.create(project.id, 'v1.0/beta', `bulk-${i}`, `https://example.com/bulk/${i}`);
  assert.equal((await api.ReleaseLinks.all(project.id, 'v1.0/beta', { perPage: 10 })).length, 26);

  // A job token that is not one relinks issued is GitLab's 401.
  const forged = new Gitlab({ host: server.url, jobToken: `${job.token}x` });
  await assert.rejects(forged.ReleaseLinks.all(project.id, 'v1.0/beta'), (error: Error & { cause?: { response?: { status: number } } }) => {
    assert.equal(error.cause?.response?.status, 401);
    return true;
  });
});
