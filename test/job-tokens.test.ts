import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startTestServer, ROOT_TOKEN, type TestServer } from './helpers/server.js';
import { addMember, createProject, createRelease, createUser, type TestUser } from './helpers/fixtures.js';
import { mintJobToken } from './helpers/ci.js';

// CI/CD job tokens: minting and ending them, the three ways to send one, the endpoints they may
// call, and what the token does on its own project.

let server: TestServer;
let developer: TestUser;
let reporter: TestUser;
let maintainer: TestUser;
let project: { id: number; path_with_namespace: string };

before(async () => {
  server = await startTestServer();
  developer = await createUser(server);
  reporter = await createUser(server);
  maintainer = await createUser(server);
  project = await createProject(server, 'jobs');
  await addMember(server, project.id, developer.id, 30);
  await addMember(server, project.id, reporter.id, 20);
  await addMember(server, project.id, maintainer.id, 40);
});
after(async () => server.close());

const jobHeader = (token: string) => ({ headers: { 'job-token': token } });
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe('POST /projects/:id/ci/job_tokens', () => {
  test('a developer gets a token acting as them, for an hour by default, stored only as a digest', async () => {
    const res = await server.request('POST', `/api/v4/projects/${project.id}/ci/job_tokens`, { token: developer.token, json: {} });
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(Object.keys(res.body), ['id', 'token', 'expires_at', 'project_id', 'user_id', 'ref']);
    assert.equal(res.body.project_id, project.id);
    assert.equal(res.body.user_id, developer.id);
    assert.equal(res.body.ref, null);
    assert.match(res.body.token, /^rljob-[A-Za-z0-9_-]{32}$/);
    const row = await server.running.store.db.selectFrom('ci_job_tokens').selectAll().where('id', '=', res.body.id).executeTakeFirstOrThrow();
    assert.equal(row.expires_at, res.body.expires_at);
    assert.equal(Date.parse(row.expires_at) - Date.parse(row.created_at), 3600_000);
    assert.equal(row.token_digest, sha256(res.body.token));
    assert.ok(!Object.values(row).includes(res.body.token), 'the plain token is not stored');
  });

  test('expires_in sets the lifetime, up to a day; ref is kept', async () => {
    const token = await mintJobToken(server, project.path_with_namespace, { token: developer.token, expires_in: 86_400, ref: 'a'.repeat(40) });
    const row = await server.running.store.db.selectFrom('ci_job_tokens').selectAll().where('id', '=', token.id).executeTakeFirstOrThrow();
    assert.equal(Date.parse(row.expires_at) - Date.parse(row.created_at), 86_400_000);
    assert.equal(token.ref, 'a'.repeat(40));
  });

  test('a lifetime out of range or not an integer is 400', async () => {
    for (const [expires_in, error] of [
      [0, 'expires_in does not have a valid value'],
      [86_401, 'expires_in does not have a valid value'],
      ['soon', 'expires_in is invalid'],
      [1.5, 'expires_in is invalid'],
    ] as const) {
      const res = await server.request('POST', `/api/v4/projects/${project.id}/ci/job_tokens`, { token: developer.token, json: { expires_in } });
      assert.equal(res.status, 400, String(expires_in));
      assert.deepEqual(res.body, { error });
    }
  });

  test('reporters are refused, strangers see no project, anonymous is 401, a job token may not mint another', async () => {
    const stranger = await createUser(server);
    const path = `/api/v4/projects/${project.id}/ci/job_tokens`;
    assert.deepEqual((await server.request('POST', path, { token: reporter.token, json: {} })).body, { message: '403 Forbidden' });
    const hidden = await server.request('POST', path, { token: stranger.token, json: {} });
    assert.equal(hidden.status, 404);
    assert.deepEqual(hidden.body, { message: '404 Project Not Found' });
    const anonymous = await server.request('POST', path, { json: {} });
    assert.equal(anonymous.status, 401);
    const job = await mintJobToken(server, project.id, { token: developer.token });
    const nested = await server.request('POST', path, { ...jobHeader(job.token), json: {} });
    assert.equal(nested.status, 403);
    assert.deepEqual(nested.body, { message: '403 Forbidden' });
  });
});

describe('sending a job token', () => {
  test('JOB-TOKEN header, job_token parameter (query or body) and Bearer all act as the user', async () => {
    const job = await mintJobToken(server, project.id, { token: developer.token });
    await createRelease(server, project.id, 'v-send');
    const list = `/api/v4/projects/${project.id}/releases`;
    for (const res of [
      await server.request('GET', list, jobHeader(job.token)),
      await server.request('GET', `${list}?job_token=${job.token}`),
      await server.request('GET', list, { headers: { authorization: `Bearer ${job.token}` } }),
    ]) {
      assert.equal(res.status, 200, res.text);
      assert.ok(res.body.some((r: { tag_name: string }) => r.tag_name === 'v-send'));
    }
    const created = await server.request('POST', `/api/v4/projects/${project.id}/releases/v-send/assets/links`, {
      form: { job_token: job.token, name: 'by-form', url: 'https://example.com/by-form' },
    });
    assert.equal(created.status, 201, created.text);
  });

  test('an unknown job token is 401 however it is sent', async () => {
    const list = `/api/v4/projects/${project.id}/releases`;
    for (const res of [
      await server.request('GET', list, jobHeader('rljob-unknown')),
      await server.request('GET', `${list}?job_token=rljob-unknown`),
      await server.request('GET', list, { headers: { authorization: 'Bearer rljob-unknown' } }),
    ]) {
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, { message: '401 Unauthorized' });
    }
  });

  test('only releases, release links, downloads and reading tags accept a job token: anything else is 403', async () => {
    const job = await mintJobToken(server, project.id, { token: developer.token });
    await createRelease(server, project.id, 'v-scope', [{ name: 'a', url: 'https://example.com/a', filepath: '/a' }]);
    const allowed = [
      ['GET', `/api/v4/projects/${project.id}/releases/v-scope`, 200],
      ['GET', `/api/v4/projects/${project.id}/releases/v-scope/assets/links`, 200],
      ['GET', `/api/v4/projects/${project.id}/releases/v-scope/downloads/a`, 302],
      ['GET', `/api/v4/projects/${project.id}/releases/permalink/latest`, 302],
      ['GET', `/api/v4/projects/${project.id}/repository/tags`, 200],
      ['GET', `/api/v4/projects/${project.id}/repository/tags/v-scope`, 200],
      ['GET', `/${project.path_with_namespace}/-/releases/v-scope/downloads/a`, 302],
    ] as const;
    for (const [method, path, status] of allowed) {
      const res = await server.request(method, path, jobHeader(job.token));
      assert.equal(res.status, status, `${method} ${path}: ${res.text}`);
    }
    const refused = [
      ['GET', '/api/v4/user'],
      ['GET', `/api/v4/users/${developer.id}`],
      ['GET', `/api/v4/projects/${project.id}`],
      ['GET', `/api/v4/projects/${project.id}/members/all/${developer.id}`],
      ['POST', `/api/v4/projects/${project.id}/repository/tags`],
      ['GET', `/api/v4/projects/${project.id}/protected_tags`],
      ['GET', `/api/v4/projects/${project.id}/job_token_scope/allowlist`],
      ['DELETE', `/api/v4/projects/${project.id}/ci/job_tokens/${job.id}`],
    ] as const;
    for (const [method, path] of refused) {
      const res = await server.request(method, path, { ...jobHeader(job.token), json: method === 'GET' ? undefined : { tag_name: 'x', ref: 'main' } });
      assert.equal(res.status, 403, `${method} ${path}: ${res.text}`);
      assert.deepEqual(res.body, { message: '403 Forbidden' });
    }
    // A path nothing serves stays 404.
    assert.equal((await server.request('GET', '/api/v4/no/such/thing', jobHeader(job.token))).status, 404);
  });
});

describe('ending and expiry', () => {
  test('DELETE ends a token at once (204); afterwards it is 401', async () => {
    const job = await mintJobToken(server, project.id, { token: developer.token });
    const list = `/api/v4/projects/${project.id}/releases`;
    assert.equal((await server.request('GET', list, jobHeader(job.token))).status, 200);
    const ended = await server.request('DELETE', `/api/v4/projects/${project.id}/ci/job_tokens/${job.id}`, { token: developer.token });
    assert.equal(ended.status, 204);
    assert.equal(ended.text, '');
    const after = await server.request('GET', list, jobHeader(job.token));
    assert.equal(after.status, 401);
    assert.deepEqual(after.body, { message: '401 Unauthorized' });
    const row = await server.running.store.db.selectFrom('ci_job_tokens').select('ended_at').where('id', '=', job.id).executeTakeFirstOrThrow();
    assert.ok(row.ended_at !== null);
    // Ending it again changes nothing.
    assert.equal((await server.request('DELETE', `/api/v4/projects/${project.id}/ci/job_tokens/${job.id}`, { token: developer.token })).status, 204);
  });

  test("another developer may not end someone else's token; a maintainer may; unknown ids are 404", async () => {
    const other = await createUser(server);
    await addMember(server, project.id, other.id, 30);
    const job = await mintJobToken(server, project.id, { token: developer.token });
    const path = `/api/v4/projects/${project.id}/ci/job_tokens/${job.id}`;
    assert.equal((await server.request('DELETE', path, { token: other.token })).status, 403);
    assert.equal((await server.request('DELETE', path, { token: reporter.token })).status, 403);
    assert.equal((await server.request('DELETE', path, { token: maintainer.token })).status, 204);
    const missing = await server.request('DELETE', `/api/v4/projects/${project.id}/ci/job_tokens/999999`, { token: maintainer.token });
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.body, { message: '404 Job Token Not Found' });
    // A token of another project is not found through this one.
    const elsewhere = await createProject(server, 'jobs-elsewhere');
    const foreign = await mintJobToken(server, elsewhere.id);
    assert.equal((await server.request('DELETE', `/api/v4/projects/${project.id}/ci/job_tokens/${foreign.id}`, { token: ROOT_TOKEN })).status, 404);
  });

  test('an expired token is 401', async () => {
    const job = await mintJobToken(server, project.id, { token: developer.token });
    await server.running.store.db.updateTable('ci_job_tokens').set({ expires_at: new Date(Date.now() - 1000).toISOString() }).where('id', '=', job.id).execute();
    const res = await server.request('GET', `/api/v4/projects/${project.id}/releases`, jobHeader(job.token));
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, { message: '401 Unauthorized' });
  });
});

describe('what a job token does on its own project', () => {
  test("it acts as its user: releases it creates are theirs, and the user's role limits it", async () => {
    const job = await mintJobToken(server, project.id, { token: developer.token });
    const res = await server.request('POST', `/api/v4/projects/${project.id}/releases`, {
      ...jobHeader(job.token),
      json: { tag_name: 'v-job-1', ref: 'main', assets: { links: [{ name: 'x', url: 'https://example.com/x' }] } },
    });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.author.username, developer.username);
    // Protected tags apply to it as to its user.
    const protect = await server.request('POST', `/api/v4/projects/${project.id}/protected_tags`, { token: ROOT_TOKEN, json: { name: 'v-prot*', create_access_level: 40 } });
    assert.equal(protect.status, 201, protect.text);
    const refused = await server.request('POST', `/api/v4/projects/${project.id}/releases`, { ...jobHeader(job.token), json: { tag_name: 'v-prot-1', ref: 'main' } });
    assert.equal(refused.status, 403);
  });

  test("a release of an unknown tag without ref is tagged at the job's ref; without one it is GitLab's 422", async () => {
    const sha = 'c0ffee'.padEnd(40, '0');
    const withRef = await mintJobToken(server, project.id, { token: developer.token, ref: sha });
    const created = await server.request('POST', `/api/v4/projects/${project.id}/releases`, { ...jobHeader(withRef.token), json: { tag_name: 'v-ci-1' } });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.commit.id, sha);
    const tag = await server.request('GET', `/api/v4/projects/${project.id}/repository/tags/v-ci-1`, { token: ROOT_TOKEN });
    assert.equal(tag.body.target, sha);

    const withoutRef = await mintJobToken(server, project.id, { token: developer.token });
    const refused = await server.request('POST', `/api/v4/projects/${project.id}/releases`, { ...jobHeader(withoutRef.token), json: { tag_name: 'v-ci-2' } });
    assert.equal(refused.status, 422);
    assert.deepEqual(refused.body, { message: 'Ref is not specified' });
    const personal = await server.request('POST', `/api/v4/projects/${project.id}/releases`, { token: developer.token, json: { tag_name: 'v-ci-2' } });
    assert.equal(personal.status, 422);
    // A ref sent with the request wins over the job's.
    const explicit = await server.request('POST', `/api/v4/projects/${project.id}/releases`, { ...jobHeader(withRef.token), json: { tag_name: 'v-ci-3', ref: 'b'.repeat(40) } });
    assert.equal(explicit.body.commit.id, 'b'.repeat(40));
  });

  test('deleting a project ends its job tokens', async () => {
    const doomed = await createProject(server, 'jobs-doomed');
    const job = await mintJobToken(server, doomed.id);
    assert.equal((await server.request('DELETE', `/api/v4/projects/${doomed.id}`, { token: ROOT_TOKEN })).status, 202);
    const res = await server.request('GET', `/api/v4/projects/${doomed.id}/releases`, jobHeader(job.token));
    assert.equal(res.status, 401);
  });
});
