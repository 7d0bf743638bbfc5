import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT_TOKEN, type TestServer } from './helpers/server.js';
import { addMember, createGroup, createProject, createUser, type TestUser } from './helpers/fixtures.js';
import { bin, createGitRepo, mintJobToken, runTool, type GitRepo } from './helpers/ci.js';
import { assertServes, startSelfNamedServer, writeRandomFile, type LocalFile } from './helpers/hosted-files.js';

// release-it 20 with its GitLab plugin and `gitlab.assets`: it uploads each file before it creates
// the release, then links it (lib/plugin/gitlab/GitLab.js, uploadAsset):
//   - by default POST /projects/:id/uploads, linked as `${origin}/${repo.repository}${body.url}`,
//     the classic web path /<namespace>/<project>/uploads/<secret>/<file>;
//   - with `useIdsForUrls`, linked as `${origin}${body.full_path}`, /-/project/<id>/uploads/...;
//   - with `useGenericPackageRepositoryForAssets`, PUT (Content-Type: text/plain) to
//     /projects/<path>/packages/generic/<genericPackageRepositoryName>/<version>/<file>, which must
//     answer {"message":"201 Created"}, linked as that same API URL.
// Every link must download the very bytes that were built.

let server: TestServer;
const repos: GitRepo[] = [];
before(async () => {
  server = await startSelfNamedServer();
});
after(async () => {
  for (const r of repos) r.cleanup();
  await server.close();
});

interface Setup {
  project: { id: number; path_with_namespace: string };
  developer: TestUser;
  repo: GitRepo;
  sha: string;
  files: LocalFile[];
}

/** A project and its developer; a repository whose origin is "on relinks' host" (git is pointed at the bare one) configured with `gitlab`. */
async function setup(name: string, gitlab: object): Promise<Setup> {
  const group = await createGroup(server, `${name}-group`);
  const project = await createProject(server, name, { namespaceId: group.id });
  const developer = await createUser(server);
  await addMember(server, project.id, developer.id, 30);
  const repo = createGitRepo(project.path_with_namespace);
  repos.push(repo);
  execFileSync('git', ['config', '--global', `url.file://${path.dirname(path.dirname(repo.remote))}/.insteadOf`, `${server.url}/`], { env: repo.env });
  repo.git('remote', 'set-url', 'origin', `${server.url}/${project.path_with_namespace}.git`);
  repo.commit('feat: countdown');
  fs.writeFileSync(path.join(repo.work, '.gitignore'), 'dist/\n');
  fs.writeFileSync(
    path.join(repo.work, '.release-it.json'),
    JSON.stringify({
      git: { commit: false, tag: true, tagName: 'v${version}', push: true, requireBranch: 'main' },
      npm: false,
      github: { release: false },
      gitlab: { release: true, origin: server.url, releaseName: 'Launcher ${version}', assets: ['dist/*.tgz'], ...gitlab },
    }),
  );
  repo.git('add', '.gitignore');
  const sha = repo.commit('chore: configure release-it', '.release-it.json');
  repo.git('push', '-q', '-u', 'origin', 'main');
  const dist = path.join(repo.work, 'dist');
  const files = [writeRandomFile(dist, 'launcher-linux.tgz', 200_000), writeRandomFile(dist, 'launcher-windows.tgz', 70_000)];
  return { project, developer, repo, sha, files };
}

async function releaseIt(s: Setup, env: NodeJS.ProcessEnv) {
  const result = await runTool(bin('release-it'), ['1.2.0', '--ci'], { cwd: s.repo.work, env: { ...s.repo.env, CI: 'true', ...env } });
  const output = `exit ${result.code}\n${result.stdout}\n${result.stderr}`;
  assert.equal(result.code, 0, output);
  assert.match(result.stdout, /🔗 /, output);
  assert.equal(s.repo.git('--git-dir', s.repo.remote, 'rev-list', '-n', '1', 'v1.2.0'), s.sha);
}

/** The release's links: one per file, named by it, each under relinks and downloading its bytes. */
async function assertHostedLinks(s: Setup, url: (file: LocalFile) => string | RegExp) {
  const ext = server.config.externalUrl;
  const release = await server.request('GET', `/api/v4/projects/${s.project.id}/releases/v1.2.0`, { token: ROOT_TOKEN });
  assert.equal(release.status, 200, release.text);
  assert.equal(release.body.name, 'Launcher 1.2.0');
  assert.equal(release.body.author.username, s.developer.username);
  const links: { name: string; url: string; direct_asset_url: string; external: boolean; link_type: string }[] = release.body.assets.links;
  assert.deepEqual(links.map((l) => l.name).sort(), s.files.map((f) => f.name).sort());
  const job = await mintJobToken(server, s.project.id, { token: s.developer.token });
  const web = `${ext}/${s.project.path_with_namespace}`;
  for (const file of s.files) {
    const link = links.find((l) => l.name === file.name)!;
    const expected = url(file);
    if (typeof expected === 'string') assert.equal(link.url, expected);
    else assert.match(link.url, expected);
    assert.equal(link.direct_asset_url, link.url, 'release-it sends no filepath');
    assert.equal(link.link_type, 'other');
    assert.equal(link.external, !link.url.startsWith(`${web}/`));
    await assertServes(server, link.url, file, { 'PRIVATE-TOKEN': s.developer.token });
    await assertServes(server, link.url, file, { 'JOB-TOKEN': job.token });
  }
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('release-it `useIdsForUrls`: project uploads linked by their full_path download the built files', async () => {
  const s = await setup('launcher', { useIdsForUrls: true });
  await releaseIt(s, { GITLAB_TOKEN: s.developer.token });
  await assertHostedLinks(s, (f) => new RegExp(`^${escape(server.config.externalUrl)}/-/project/${s.project.id}/uploads/[0-9a-f]{32}/${escape(f.name)}$`));
});

test('release-it `useGenericPackageRepositoryForAssets` with a job token: generic package files, linked by their API URL', async () => {
  const s = await setup('packaged', { useGenericPackageRepositoryForAssets: true, tokenRef: 'CI_JOB_TOKEN', tokenHeader: 'Job-Token' });
  const job = await mintJobToken(server, s.project.id, { token: s.developer.token, ref: s.sha });
  await releaseIt(s, { CI_JOB_TOKEN: job.token });
  const byPath = encodeURIComponent(s.project.path_with_namespace);
  await assertHostedLinks(s, (f) => `${server.config.externalUrl}/api/v4/projects/${byPath}/packages/generic/release-it/1.2.0/${f.name}`);

  const pkgs = await server.request('GET', `/api/v4/projects/${s.project.id}/packages?package_name=release-it`, { token: s.developer.token });
  assert.deepEqual(
    pkgs.body.map((p: { name: string; version: string; package_type: string }) => [p.name, p.version, p.package_type]),
    [['release-it', '1.2.0', 'generic']],
  );
  const files = await server.request('GET', `/api/v4/projects/${s.project.id}/packages/${pkgs.body[0].id}/package_files`, { token: s.developer.token });
  assert.deepEqual(
    files.body.map((f: { file_name: string; file_sha256: string }) => [f.file_name, f.file_sha256]).sort(),
    s.files.map((f) => [f.name, f.sha256]).sort(),
  );
});

// NEEDS THE WEB WILDCARD (src/routes/web.ts, added when files12 is merged): release-it's default
// link is the classic web path /<namespace>/<project>/uploads/<secret>/<file>, which GitLab still
// serves. relinks serves an upload at /-/project/<id>/uploads/... today; this test is the check
// that the classic path serves it too.
test('release-it by default: project uploads linked by the classic /<namespace>/<project>/uploads/<secret>/<file> path', async () => {
  const s = await setup('classic', {});
  await releaseIt(s, { GITLAB_TOKEN: s.developer.token });
  await assertHostedLinks(s, (f) => new RegExp(`^${escape(server.config.externalUrl)}/${escape(s.project.path_with_namespace)}/uploads/[0-9a-f]{32}/${escape(f.name)}$`));
});
