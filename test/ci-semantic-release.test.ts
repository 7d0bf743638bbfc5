import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startTestServer, ROOT_TOKEN, type TestServer } from './helpers/server.js';
import { addMember, createGroup, createProject, createUser, type TestUser } from './helpers/fixtures.js';
import { bin, createGitRepo, END_JOB_TOKEN, FETCH_JOB_TOKEN, local, runTool, type GitRepo } from './helpers/ci.js';

// semantic-release 24 with @semantic-release/gitlab 13 (`useJobToken: true`), run the way the
// docs/ci.md's GitLab CI and GitHub Actions jobs run it: a job token fetched from relinks is exported
// as CI_JOB_TOKEN, and the release lands in relinks with its URL assets, at the job's commit.

let server: TestServer;
let repo: GitRepo;
const repos: GitRepo[] = [];
before(async () => {
  server = await startTestServer();
});
after(async () => {
  for (const r of repos) r.cleanup();
  await server.close();
});

const ASSETS = [
  { url: 'https://downloads.example.com/app/${nextRelease.version}/app-linux-amd64.tar.gz', label: 'App ${nextRelease.gitTag} (linux)', type: 'package', filepath: '/bin/app-linux-amd64.tar.gz' },
  { url: 'https://wiki.example.com/runbooks/app', label: 'Runbook', type: 'runbook' },
  { url: 'https://img.example.com/app/screenshot.png', label: 'Screenshot', type: 'image', filepath: '/img/screenshot.png' },
  { url: 'https://example.com/changelog', label: 'Changelog', type: 'other' },
];

/** docs/ci.md's GitLab CI `script:` (with `npx semantic-release` as $SEMANTIC_RELEASE). */
const GITLAB_CI_SCRIPT = `${FETCH_JOB_TOKEN}
export CI_API_V4_URL="$RELINKS_URL/api/v4" CI_PROJECT_ID="$RELINKS_PROJECT_ID" \\
  CI_PROJECT_PATH="$RELINKS_PROJECT_PATH" CI_PROJECT_URL="$RELINKS_URL/$RELINKS_PROJECT_PATH"
"$SEMANTIC_RELEASE"
`;

/** docs/ci.md's GitHub Actions steps, run one after the other in one shell. */
const GITHUB_ACTIONS_SCRIPT = `${FETCH_JOB_TOKEN}
GITLAB_URL="$RELINKS_URL" "$SEMANTIC_RELEASE"
${END_JOB_TOKEN}
`;

interface Setup {
  project: { id: number; path_with_namespace: string };
  developer: TestUser;
  sha: string;
}

/** A project on relinks, a developer of it, and a repository with conventional commits and the config. */
async function setup(groupPath: string, origin?: (repo: GitRepo) => string): Promise<Setup> {
  const group = await createGroup(server, groupPath);
  const project = await createProject(server, 'rocket', { namespaceId: group.id });
  const developer = await createUser(server);
  await addMember(server, project.id, developer.id, 30);
  repo = createGitRepo(project.path_with_namespace);
  repos.push(repo);
  if (origin) repo.git('remote', 'set-url', 'origin', origin(repo));
  repo.commit('feat: launch the rocket');
  repo.commit('fix: keep the fuel in');
  fs.writeFileSync(
    path.join(repo.work, '.releaserc.json'),
    JSON.stringify({
      branches: ['main'],
      // Listed explicitly: the defaults include the npm and GitHub plugins.
      plugins: ['@semantic-release/commit-analyzer', '@semantic-release/release-notes-generator', ['@semantic-release/gitlab', { useJobToken: true, assets: ASSETS }]],
    }),
  );
  const sha = repo.commit('chore: configure semantic-release', '.releaserc.json');
  repo.git('push', '-q', 'origin', 'main');
  return { project, developer, sha };
}

async function release(script: string, env: NodeJS.ProcessEnv, { project, developer }: Setup) {
  const result = await runTool('sh', ['-euc', script], {
    cwd: repo.work,
    env: {
      ...repo.env,
      ...env,
      SEMANTIC_RELEASE: bin('semantic-release'),
      RELINKS_URL: server.url,
      RELINKS_TOKEN: developer.token,
      RELINKS_PROJECT_ID: String(project.id),
      RELINKS_PROJECT_PATH: project.path_with_namespace,
    },
  });
  const output = `exit ${result.code}\n${result.stdout}\n${result.stderr}`;
  assert.equal(result.code, 0, output);
  assert.match(result.stdout, /Published GitLab release: v1\.0\.0/, output);
}

/** After the run: the tag in git, and the release and links in relinks exactly as configured. */
async function assertReleased({ project, developer, sha }: Setup) {
  assert.equal(repo.git('--git-dir', repo.remote, 'rev-list', '-n', '1', 'v1.0.0'), sha);
  const release = await server.request('GET', `/api/v4/projects/${project.id}/releases/v1.0.0`, { token: ROOT_TOKEN });
  assert.equal(release.status, 200, release.text);
  assert.equal(release.body.tag_name, 'v1.0.0');
  assert.equal(release.body.commit.id, sha, "the tag is recorded at the job's commit");
  assert.equal(release.body.author.username, developer.username);
  assert.match(release.body.description, /^# 1\.0\.0 /);
  assert.match(release.body.description, /### Features\n\n\* launch the rocket /);
  assert.match(release.body.description, /### Bug Fixes\n\n\* keep the fuel in /);

  const web = `${server.config.externalUrl}/${project.path_with_namespace}/-/releases/v1.0.0/downloads`;
  const expected = [
    { name: 'App v1.0.0 (linux)', url: 'https://downloads.example.com/app/1.0.0/app-linux-amd64.tar.gz', direct_asset_url: `${web}/bin/app-linux-amd64.tar.gz`, external: true, link_type: 'package' },
    { name: 'Runbook', url: 'https://wiki.example.com/runbooks/app', direct_asset_url: 'https://wiki.example.com/runbooks/app', external: true, link_type: 'runbook' },
    { name: 'Screenshot', url: 'https://img.example.com/app/screenshot.png', direct_asset_url: `${web}/img/screenshot.png`, external: true, link_type: 'image' },
    { name: 'Changelog', url: 'https://example.com/changelog', direct_asset_url: 'https://example.com/changelog', external: true, link_type: 'other' },
  ];
  const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
  const links = release.body.assets.links.map(({ id: _id, ...rest }: { id: number }) => rest);
  assert.deepEqual([...links].sort(byName), [...expected].sort(byName));
  for (const link of expected.filter((l) => l.direct_asset_url !== l.url)) {
    const res = await server.request('GET', local(server, link.direct_asset_url), { token: developer.token });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), link.url);
  }
}

test('GitLab CI: semantic-release publishes through a relinks job token exported as CI_JOB_TOKEN', async () => {
  const s = await setup('acme');
  // What GitLab itself sets for the job: its own API and ids, which docs/ci.md's script overrides.
  // (Loopback with a closed port, so a missed override fails fast instead of leaving the machine.)
  const gitlab = 'http://127.0.0.1:9';
  await release(
    GITLAB_CI_SCRIPT,
    {
      CI: 'true',
      GITLAB_CI: 'true',
      CI_COMMIT_REF_NAME: 'main',
      CI_COMMIT_BRANCH: 'main',
      CI_DEFAULT_BRANCH: 'main',
      CI_COMMIT_SHA: s.sha,
      CI_PROJECT_DIR: repo.work,
      CI_PROJECT_ID: '9999',
      CI_PROJECT_PATH: 'gitlab/elsewhere',
      CI_PROJECT_URL: `${gitlab}/gitlab/elsewhere`,
      CI_SERVER_URL: gitlab,
      CI_API_V4_URL: `${gitlab}/api/v4`,
      CI_JOB_ID: '688',
      CI_PIPELINE_ID: '77',
      CI_JOB_TOKEN: 'gitlab-own-job-token',
    },
    s,
  );
  await assertReleased(s);

  // docs/ci.md's after_script ends the token; it is refused from then on.
  const id = fs.readFileSync(path.join(repo.work, 'relinks-job-token-id'), 'utf8').trim();
  const ended = await runTool('sh', ['-euc', END_JOB_TOKEN], {
    cwd: repo.work,
    env: { ...repo.env, RELINKS_URL: server.url, RELINKS_TOKEN: s.developer.token, RELINKS_PROJECT_ID: String(s.project.id) },
  });
  assert.equal(ended.code, 0, ended.stderr);
  const row = await server.running.store.db.selectFrom('ci_job_tokens').selectAll().where('id', '=', Number(id)).executeTakeFirstOrThrow();
  assert.ok(row.ended_at !== null);
  assert.equal(row.ref, s.sha);
});

test('GitHub Actions: the same with GITLAB_URL, the relinks project named like the GitHub repository', async () => {
  // The repository "lives on GitHub"; git is pointed at the local bare repository instead.
  const s = await setup('octo-org', (r) => {
    execFileSync('git', ['config', '--global', `url.file://${path.dirname(path.dirname(r.remote))}/.insteadOf`, 'https://github.com/'], { env: r.env });
    return `https://github.com/${path.basename(path.dirname(r.remote))}/rocket.git`;
  });
  await release(
    GITHUB_ACTIONS_SCRIPT,
    {
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      GITHUB_ACTION: 'release',
      GITHUB_EVENT_NAME: 'push',
      GITHUB_REF: 'refs/heads/main',
      GITHUB_REF_NAME: 'main',
      GITHUB_SHA: s.sha,
      GITHUB_REPOSITORY: 'octo-org/rocket',
      GITHUB_WORKSPACE: repo.work,
      GITHUB_RUN_ID: '1234',
      CI_COMMIT_SHA: s.sha,
    },
    s,
  );
  await assertReleased(s);
  const row = await server.running.store.db.selectFrom('ci_job_tokens').selectAll().where('project_id', '=', s.project.id).executeTakeFirstOrThrow();
  assert.ok(row.ended_at !== null, 'the last step ended the token');
});
