import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT_TOKEN, type TestServer } from './helpers/server.js';
import { addMember, createGroup, createProject, createUser, type TestUser } from './helpers/fixtures.js';
import { bin, createGitRepo, FETCH_JOB_TOKEN, mintJobToken, runTool, type GitRepo } from './helpers/ci.js';
import { assertServes, sha256, startSelfNamedServer, writeRandomFile, type LocalFile } from './helpers/hosted-files.js';

// semantic-release 24 with @semantic-release/gitlab 13 publishing FILE assets to relinks: the
// plugin uploads each file (POST /projects/:id/uploads, or with `target: "generic_package"` PUT
// .../packages/generic/<packageName>/<version>/<label>?select=package_file), then creates the
// release with links to what relinks answered: `gitlabUrl + full_path` for an upload, the generic
// package's API URL for a package file. Every link must download the very bytes that were built.

let server: TestServer;
const repos: GitRepo[] = [];
before(async () => {
  server = await startSelfNamedServer();
});
after(async () => {
  for (const r of repos) r.cleanup();
  await server.close();
});

/** docs/ci.md's GitLab CI `script:` (with `npx semantic-release` as $SEMANTIC_RELEASE). */
const GITLAB_CI_SCRIPT = `${FETCH_JOB_TOKEN}
export CI_API_V4_URL="$RELINKS_URL/api/v4" CI_PROJECT_ID="$RELINKS_PROJECT_ID" \\
  CI_PROJECT_PATH="$RELINKS_PROJECT_PATH" CI_PROJECT_URL="$RELINKS_URL/$RELINKS_PROJECT_PATH"
"$SEMANTIC_RELEASE"
`;

interface Setup {
  project: { id: number; path_with_namespace: string };
  developer: TestUser;
  repo: GitRepo;
  files: Record<string, LocalFile>;
}

/** A project, a developer of it, a repository configured with `gitlab` (the plugin's options), and the built files in dist/. */
async function setup(groupPath: string, gitlab: object): Promise<Setup> {
  const group = await createGroup(server, groupPath);
  const project = await createProject(server, 'rocket', { namespaceId: group.id });
  const developer = await createUser(server);
  await addMember(server, project.id, developer.id, 30);
  const repo = createGitRepo(project.path_with_namespace);
  repos.push(repo);
  repo.commit('feat: launch the rocket');
  fs.writeFileSync(path.join(repo.work, '.gitignore'), 'dist/\nrelinks-job-token-id\n');
  fs.writeFileSync(
    path.join(repo.work, '.releaserc.json'),
    JSON.stringify({
      branches: ['main'],
      plugins: ['@semantic-release/commit-analyzer', '@semantic-release/release-notes-generator', ['@semantic-release/gitlab', gitlab]],
    }),
  );
  repo.git('add', '.gitignore');
  repo.commit('chore: configure semantic-release', '.releaserc.json');
  repo.git('push', '-q', 'origin', 'main');
  // What the build left behind: two archives (one over the 64 KiB a stream chunk holds) and their sums.
  const dist = path.join(repo.work, 'dist');
  const files = {
    linux: writeRandomFile(dist, 'rocket-linux-amd64.tgz', 300_000),
    darwin: writeRandomFile(dist, 'rocket-darwin-arm64.tgz', 1_000),
  };
  const sums = Object.values(files).map((f) => `${f.sha256}  ${f.name}\n`).join('');
  fs.writeFileSync(path.join(dist, 'SHA256SUMS.txt'), sums);
  const sumsFile: LocalFile = { path: path.join(dist, 'SHA256SUMS.txt'), name: 'SHA256SUMS.txt', bytes: Buffer.from(sums), sha256: sha256(Buffer.from(sums)) };
  return { project, developer, repo, files: { ...files, sums: sumsFile } };
}

async function release(s: Setup, script: string, env: NodeJS.ProcessEnv) {
  const result = await runTool('sh', ['-euc', script], {
    cwd: s.repo.work,
    env: {
      ...s.repo.env,
      ...env,
      SEMANTIC_RELEASE: bin('semantic-release'),
      RELINKS_URL: server.url,
      RELINKS_TOKEN: s.developer.token,
      RELINKS_PROJECT_ID: String(s.project.id),
      RELINKS_PROJECT_PATH: s.project.path_with_namespace,
    },
  });
  const output = `exit ${result.code}\n${result.stdout}\n${result.stderr}`;
  assert.equal(result.code, 0, output);
  assert.match(result.stdout, /Published GitLab release: v1\.0\.0/, output);
  return result.stdout;
}

/** What GitLab CI sets for a job, pointing at a GitLab that is not there: docs/ci.md's script overrides it. */
const gitlabCiEnv = (s: Setup): NodeJS.ProcessEnv => {
  const sha = s.repo.git('rev-parse', 'HEAD');
  const gitlab = 'http://127.0.0.1:9';
  return {
    CI: 'true',
    GITLAB_CI: 'true',
    CI_COMMIT_REF_NAME: 'main',
    CI_COMMIT_BRANCH: 'main',
    CI_DEFAULT_BRANCH: 'main',
    CI_COMMIT_SHA: sha,
    CI_PROJECT_DIR: s.repo.work,
    CI_PROJECT_ID: '9999',
    CI_PROJECT_PATH: 'gitlab/elsewhere',
    CI_PROJECT_URL: `${gitlab}/gitlab/elsewhere`,
    CI_SERVER_URL: gitlab,
    CI_API_V4_URL: `${gitlab}/api/v4`,
    CI_JOB_ID: '688',
    CI_PIPELINE_ID: '77',
    CI_JOB_TOKEN: 'gitlab-own-job-token',
  };
};

interface ExpectedLink {
  name: string;
  file: LocalFile;
  /** The whole `url`, or a pattern for an upload's (its secret is relinks' to choose). */
  url: string | RegExp;
  link_type: string;
  filepath?: string;
}

/**
 * The release has exactly these links, each pointing at relinks, and each link's `url` and
 * `direct_asset_url` give the file's bytes to a job token (header and HTTP Basic, as package
 * clients send it) and to the developer's personal token.
 */
async function assertHostedLinks(s: Setup, expected: ExpectedLink[]) {
  const ext = server.config.externalUrl;
  const res = await server.request('GET', `/api/v4/projects/${s.project.id}/releases/v1.0.0`, { token: ROOT_TOKEN });
  assert.equal(res.status, 200, res.text);
  const links: { name: string; url: string; direct_asset_url: string; external: boolean; link_type: string }[] = res.body.assets.links;
  assert.deepEqual(links.map((l) => l.name).sort(), expected.map((e) => e.name).sort());
  const job = await mintJobToken(server, s.project.id, { token: s.developer.token });
  const web = `${ext}/${s.project.path_with_namespace}`;
  for (const e of expected) {
    const link = links.find((l) => l.name === e.name)!;
    if (typeof e.url === 'string') assert.equal(link.url, e.url);
    else assert.match(link.url, e.url);
    assert.ok(link.url.startsWith(`${ext}/`), `${link.url} points at relinks`);
    assert.equal(link.link_type, e.link_type);
    // GitLab's rule: only a URL under the project's web URL is not external.
    assert.equal(link.external, !link.url.startsWith(`${web}/`));
    assert.equal(link.direct_asset_url, e.filepath ? `${web}/-/releases/v1.0.0/downloads${e.filepath}` : link.url);
    for (const url of new Set([link.url, link.direct_asset_url])) {
      await assertServes(server, url, e.file, { 'JOB-TOKEN': job.token });
      await assertServes(server, url, e.file, { 'PRIVATE-TOKEN': s.developer.token });
    }
    if (link.url.includes('/packages/generic/')) {
      const basic = Buffer.from(`gitlab-ci-token:${job.token}`).toString('base64');
      await assertServes(server, link.url, e.file, { Authorization: `Basic ${basic}` });
    }
  }
  // A stranger to the private project gets none of it.
  const stranger = await createUser(server);
  for (const link of links) {
    const res = await fetch(link.url, { headers: { 'PRIVATE-TOKEN': stranger.token } });
    assert.equal(res.status, 404, `${link.url} is hidden from a non-member`);
  }
}

const uploadUrl = (s: Setup, name: string) => new RegExp(`^${server.config.externalUrl.replace(/\./g, '\\.')}/-/project/${s.project.id}/uploads/[0-9a-f]{32}/${name.replace(/\./g, '\\.')}$`);
const genericUrl = (projectRef: string | number, pkg: string, version: string, file: string) =>
  `${server.config.externalUrl}/api/v4/projects/${projectRef}/packages/generic/${pkg}/${version}/${file}`;

test('GitLab CI, job token: `assets: [{path: "dist/*.tgz"}]` become project uploads that the links download', async () => {
  const s = await setup('acme', {
    useJobToken: true,
    assets: [{ path: 'dist/*.tgz' }, { path: 'dist/SHA256SUMS.txt', label: 'Checksums', type: 'other', filepath: '/SHA256SUMS.txt' }],
  });
  const stdout = await release(s, GITLAB_CI_SCRIPT, gitlabCiEnv(s));
  assert.match(stdout, new RegExp(`Uploaded file: ${server.url}/-/project/${s.project.id}/uploads/`));

  await assertHostedLinks(s, [
    { name: 'rocket-linux-amd64.tgz', file: s.files.linux, url: uploadUrl(s, 'rocket-linux-amd64.tgz'), link_type: 'other' },
    { name: 'rocket-darwin-arm64.tgz', file: s.files.darwin, url: uploadUrl(s, 'rocket-darwin-arm64.tgz'), link_type: 'other' },
    { name: 'Checksums', file: s.files.sums, url: uploadUrl(s, 'SHA256SUMS.txt'), link_type: 'other', filepath: '/SHA256SUMS.txt' },
  ]);

  // Stored as uploads of the project, by the developer whose job token sent them.
  const uploads = await server.request('GET', `/api/v4/projects/${s.project.id}/uploads`, { token: ROOT_TOKEN });
  assert.equal(uploads.status, 200, uploads.text);
  assert.deepEqual(
    uploads.body.map((u: { filename: string; size: number; uploaded_by: { username: string } }) => [u.filename, u.size, u.uploaded_by.username]).sort(),
    [
      ['SHA256SUMS.txt', s.files.sums.bytes.length, s.developer.username],
      ['rocket-darwin-arm64.tgz', 1_000, s.developer.username],
      ['rocket-linux-amd64.tgz', 300_000, s.developer.username],
    ],
  );
});

test('GitLab CI, job token: `target: "generic_package"` puts the files in the package registry, the links download them', async () => {
  const s = await setup('acme-pkg', {
    useJobToken: true,
    assets: [
      // Uploaded side by side (the plugin sends every asset at once) into one package.
      { path: 'dist/*.tgz', target: 'generic_package', packageName: 'rocket' },
      { path: 'dist/SHA256SUMS.txt', target: 'generic_package', packageName: 'rocket-sums', status: 'hidden', label: 'SHA256SUMS', filepath: '/checksums' },
    ],
  });
  const stdout = await release(s, GITLAB_CI_SCRIPT, gitlabCiEnv(s));
  // The plugin logs the package file's `file.url` from the select=package_file answer.
  const logged = genericUrl(s.project.id, 'rocket', '1.0.0', 'rocket-linux-amd64.tgz');
  assert.ok(stdout.includes(`Uploaded file: ${logged} (${logged})`), stdout);

  await assertHostedLinks(s, [
    { name: 'rocket-linux-amd64.tgz', file: s.files.linux, url: genericUrl(s.project.id, 'rocket', '1.0.0', 'rocket-linux-amd64.tgz'), link_type: 'package' },
    { name: 'rocket-darwin-arm64.tgz', file: s.files.darwin, url: genericUrl(s.project.id, 'rocket', '1.0.0', 'rocket-darwin-arm64.tgz'), link_type: 'package' },
    { name: 'SHA256SUMS', file: s.files.sums, url: genericUrl(s.project.id, 'rocket-sums', '1.0.0', 'SHA256SUMS'), link_type: 'package', filepath: '/checksums' },
  ]);

  // One package `rocket` 1.0.0 holding both archives with their SHA-256, and the hidden one apart.
  const pkgs = await server.request('GET', `/api/v4/projects/${s.project.id}/packages?package_type=generic&sort=asc&order_by=name`, { token: s.developer.token });
  assert.equal(pkgs.status, 200, pkgs.text);
  const rocket = pkgs.body.find((p: { name: string }) => p.name === 'rocket');
  assert.deepEqual([rocket.version, rocket.package_type, rocket.status], ['1.0.0', 'generic', 'default']);
  const files = await server.request('GET', `/api/v4/projects/${s.project.id}/packages/${rocket.id}/package_files`, { token: s.developer.token });
  assert.deepEqual(
    files.body.map((f: { file_name: string; size: number; file_sha256: string }) => [f.file_name, f.size, f.file_sha256]).sort(),
    [
      ['rocket-darwin-arm64.tgz', 1_000, s.files.darwin.sha256],
      ['rocket-linux-amd64.tgz', 300_000, s.files.linux.sha256],
    ],
  );
  // `status: "hidden"` kept the sums out of the list (as GitLab does), unless asked for by status.
  const listed = await server.request('GET', `/api/v4/projects/${s.project.id}/packages?package_name=rocket-sums`, { token: s.developer.token });
  assert.deepEqual(listed.body, []);
  const hidden = await server.request('GET', `/api/v4/projects/${s.project.id}/packages?package_name=rocket-sums&status=hidden`, { token: s.developer.token });
  assert.deepEqual(
    hidden.body.map((p: { name: string; version: string; status: string }) => [p.name, p.version, p.status]),
    [['rocket-sums', '1.0.0', 'hidden']],
  );
});

test('GitHub Actions, job token: the project found by its path on GITLAB_URL, both targets in one release', async () => {
  // The repository lives "on relinks' host" (as on a GitLab); git is pointed at the bare repository.
  const s = await setup('octo-org', {
    useJobToken: true,
    assets: [{ path: 'dist/*.tgz' }, { path: 'dist/SHA256SUMS.txt', target: 'generic_package', packageName: 'rocket' }],
  });
  execFileSync('git', ['config', '--global', `url.file://${path.dirname(path.dirname(s.repo.remote))}/.insteadOf`, `${server.url}/`], { env: s.repo.env });
  s.repo.git('remote', 'set-url', 'origin', `${server.url}/${s.project.path_with_namespace}.git`);
  const sha = s.repo.git('rev-parse', 'HEAD');
  // docs/ci.md's GitHub Actions steps: a job token for the commit, then the tool with GITLAB_URL.
  await release(s, `${FETCH_JOB_TOKEN}\nGITLAB_URL="$RELINKS_URL" "$SEMANTIC_RELEASE"\n`, {
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_EVENT_NAME: 'push',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_REF_NAME: 'main',
    GITHUB_SHA: sha,
    GITHUB_REPOSITORY: 'octo-org/rocket',
    GITHUB_WORKSPACE: s.repo.work,
    CI_COMMIT_SHA: sha,
  });

  // Without GitLab CI's CI_PROJECT_ID the plugin addresses the project by its path.
  const byPath = encodeURIComponent(s.project.path_with_namespace);
  await assertHostedLinks(s, [
    { name: 'rocket-linux-amd64.tgz', file: s.files.linux, url: uploadUrl(s, 'rocket-linux-amd64.tgz'), link_type: 'other' },
    { name: 'rocket-darwin-arm64.tgz', file: s.files.darwin, url: uploadUrl(s, 'rocket-darwin-arm64.tgz'), link_type: 'other' },
    { name: 'SHA256SUMS.txt', file: s.files.sums, url: genericUrl(byPath, 'rocket', '1.0.0', 'SHA256SUMS.txt'), link_type: 'package' },
  ]);
  const release1 = await server.request('GET', `/api/v4/projects/${s.project.id}/releases/v1.0.0`, { token: ROOT_TOKEN });
  assert.equal(release1.body.commit.id, sha);
  assert.equal(release1.body.author.username, s.developer.username);
});
