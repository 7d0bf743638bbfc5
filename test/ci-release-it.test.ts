import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startTestServer, ROOT_TOKEN, type TestServer } from './helpers/server.js';
import { addMember, createGroup, createProject, createUser } from './helpers/fixtures.js';
import { bin, createGitRepo, local, runTool, type GitRepo } from './helpers/ci.js';

// release-it 20 with its GitLab plugin against relinks (gitlab.origin), with a personal token.
// release-it makes asset links only for files it uploads to GitLab (uploads or generic
// packages), which relinks does not host; links to assets stored elsewhere are added by a
// release-it hook through relinks' links API, as docs/ci.md shows.

let server: TestServer;
let repo: GitRepo;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  repo?.cleanup();
  await server.close();
});

test('release-it creates a GitLab release in relinks, and its hook adds the asset links', async () => {
  const group = await createGroup(server, 'acme');
  const project = await createProject(server, 'launcher', { namespaceId: group.id });
  const developer = await createUser(server);
  await addMember(server, project.id, developer.id, 30);

  repo = createGitRepo(project.path_with_namespace);
  repo.commit('feat: countdown');
  const linkCommand = (name: string, url: string, extra: string) =>
    `curl --fail --silent --show-error --request POST --header "PRIVATE-TOKEN: $GITLAB_TOKEN" ` +
    `--data-urlencode "name=${name}" --data-urlencode "url=${url}" ${extra} ` +
    `"$RELINKS_API/projects/${encodeURIComponent(project.path_with_namespace)}/releases/\${tagName}/assets/links"`;
  fs.writeFileSync(
    path.join(repo.work, '.release-it.json'),
    JSON.stringify({
      git: { commit: false, tag: true, tagName: 'v${version}', push: true, requireBranch: 'main' },
      npm: false,
      github: { release: false },
      gitlab: { release: true, origin: server.url, releaseName: 'Launcher ${version}' },
      hooks: {
        'after:gitlab:release': [
          linkCommand('launcher-${version}-linux.tar.gz', 'https://downloads.example.com/launcher/${version}/linux.tar.gz', '--data filepath=/bin/launcher-linux.tar.gz --data link_type=package'),
          linkCommand('Runbook', 'https://wiki.example.com/launcher', '--data link_type=runbook'),
        ],
      },
    }),
  );
  const sha = repo.commit('chore: configure release-it', '.release-it.json');
  repo.git('push', '-q', '-u', 'origin', 'main');

  const result = await runTool(bin('release-it'), ['1.2.0', '--ci'], {
    cwd: repo.work,
    env: { ...repo.env, CI: 'true', GITLAB_TOKEN: developer.token, RELINKS_API: `${server.url}/api/v4` },
  });
  const output = `exit ${result.code}\n${result.stdout}\n${result.stderr}`;
  assert.equal(result.code, 0, output);
  assert.match(result.stdout, /🔗 .*\/acme\/launcher\/-\/releases\/v1\.2\.0/, output);

  assert.equal(repo.git('--git-dir', repo.remote, 'rev-list', '-n', '1', 'v1.2.0'), sha);
  const release = await server.request('GET', `/api/v4/projects/${project.id}/releases/v1.2.0`, { token: ROOT_TOKEN });
  assert.equal(release.status, 200, release.text);
  assert.equal(release.body.name, 'Launcher 1.2.0');
  assert.equal(release.body.author.username, developer.username);
  assert.match(release.body.description, /\* chore: configure release-it \(/);
  // release-it sends ref (the branch) and tag_message: relinks records the tag with that message.
  assert.equal(release.body.commit.message, 'Release 1.2.0');

  const web = `${server.config.externalUrl}/${project.path_with_namespace}/-/releases/v1.2.0/downloads`;
  const links = release.body.assets.links.map(({ id: _id, ...rest }: { id: number }) => rest);
  assert.deepEqual(links, [
    { name: 'Runbook', url: 'https://wiki.example.com/launcher', direct_asset_url: 'https://wiki.example.com/launcher', external: true, link_type: 'runbook' },
    {
      name: 'launcher-1.2.0-linux.tar.gz',
      url: 'https://downloads.example.com/launcher/1.2.0/linux.tar.gz',
      direct_asset_url: `${web}/bin/launcher-linux.tar.gz`,
      external: true,
      link_type: 'package',
    },
  ]);
  const download = await server.request('GET', local(server, `${web}/bin/launcher-linux.tar.gz`), { token: developer.token });
  assert.equal(download.headers.get('location'), 'https://downloads.example.com/launcher/1.2.0/linux.tar.gz');
});

test("release-it's collaborator check is honoured: a reporter's token is refused before anything is tagged", async () => {
  const project = await createProject(server, 'refused', { namespaceId: (await server.request('GET', '/api/v4/groups/acme', { token: ROOT_TOKEN })).body.id });
  const reporter = await createUser(server);
  await addMember(server, project.id, reporter.id, 20);
  const other = createGitRepo(project.path_with_namespace);
  try {
    other.commit('feat: nothing');
    fs.writeFileSync(
      path.join(other.work, '.release-it.json'),
      JSON.stringify({ git: { commit: false, tagName: 'v${version}' }, npm: false, gitlab: { release: true, origin: server.url } }),
    );
    other.commit('chore: configure', '.release-it.json');
    other.git('push', '-q', '-u', 'origin', 'main');
    const result = await runTool(bin('release-it'), ['0.1.0', '--ci'], { cwd: other.work, env: { ...other.env, CI: 'true', GITLAB_TOKEN: reporter.token } });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr + result.stdout, /is not a collaborator for acme\/refused/);
    assert.equal(other.git('--git-dir', other.remote, 'tag', '--list'), '');
    assert.equal((await server.request('GET', `/api/v4/projects/${project.id}/releases`, { token: ROOT_TOKEN })).body.length, 0);
  } finally {
    other.cleanup();
  }
});
