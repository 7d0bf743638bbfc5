import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from './helpers/server.js';
import { addMember, createGroup, createProject, createUser, type TestUser } from './helpers/fixtures.js';
import { repoRoot, runTool } from './helpers/ci.js';

// `relinks job-token create`: the operator's way to hand a pipeline a job token, against the
// same database the running server uses.

let server: TestServer;
let developer: TestUser;
let reporter: TestUser;
let project: { id: number; path_with_namespace: string };

before(async () => {
  server = await startTestServer();
  developer = await createUser(server);
  reporter = await createUser(server);
  const group = await createGroup(server, 'cli-group');
  project = await createProject(server, 'cli-app', { namespaceId: group.id });
  await addMember(server, project.id, developer.id, 30);
  await addMember(server, project.id, reporter.id, 20);
});
after(async () => server.close());

const relinks = (...args: string[]) =>
  runTool(process.execPath, [path.join(repoRoot, 'bin', 'relinks.js'), ...args], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, DATABASE_URL: server.store.databaseUrl, LOG_LEVEL: 'silent' },
  });

test('prints a token that the running server accepts as the user, for the project', async () => {
  const result = await relinks('job-token', 'create', '--project', project.path_with_namespace, '--user', developer.username);
  assert.equal(result.code, 0, result.stderr);
  const token = result.stdout.trim();
  assert.match(token, /^rljob-/);
  const res = await server.request('POST', `/api/v4/projects/${project.id}/releases`, { headers: { 'job-token': token }, json: { tag_name: 'v-cli', ref: 'main' } });
  assert.equal(res.status, 201, res.text);
  assert.equal(res.body.author.username, developer.username);
});

test('--json prints the whole record; --expires-in and --ref are kept', async () => {
  const sha = 'f'.repeat(40);
  const result = await relinks('job-token', 'create', '--project', String(project.id), '--user', developer.username, '--expires-in', '600', '--ref', sha, '--json');
  assert.equal(result.code, 0, result.stderr);
  const record = JSON.parse(result.stdout);
  assert.equal(record.project_id, project.id);
  assert.equal(record.user_id, developer.id);
  assert.equal(record.ref, sha);
  const row = await server.running.store.db.selectFrom('ci_job_tokens').selectAll().where('id', '=', record.id).executeTakeFirstOrThrow();
  assert.equal(row.expires_at, record.expires_at);
  assert.equal(Date.parse(row.expires_at) - Date.parse(row.created_at), 600_000);
  const created = await server.request('POST', `/api/v4/projects/${project.id}/releases`, { headers: { 'job-token': record.token }, json: { tag_name: 'v-cli-ref' } });
  assert.equal(created.body.commit.id, sha);
});

test('the same rules as the API: Developer and up, known user and project, a lifetime of at most a day', async () => {
  for (const [args, message] of [
    [['--project', project.path_with_namespace, '--user', reporter.username], `user "${reporter.username}" is not a Developer (or above) of ${project.path_with_namespace}`],
    [['--project', project.path_with_namespace, '--user', 'nobody-here'], 'no user "nobody-here"'],
    [['--project', 'cli-group/missing', '--user', developer.username], 'no project "cli-group/missing"'],
    [['--project', project.path_with_namespace, '--user', developer.username, '--expires-in', '86401'], 'expires_in does not have a valid value'],
  ] as const) {
    const result = await relinks('job-token', 'create', ...args);
    assert.equal(result.code, 1, `${args.join(' ')}: ${result.stdout}`);
    assert.equal(result.stderr.trim(), `relinks: ${message}`);
    assert.equal(result.stdout, '');
  }
  const bad = await relinks('job-token', 'create', '--project', project.path_with_namespace, '--user', developer.username, '--expires-in', 'soon');
  assert.equal(bad.code, 2);
});
