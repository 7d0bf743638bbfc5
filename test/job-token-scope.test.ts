import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, ROOT_TOKEN, type TestServer } from './helpers/server.js';
import { addMember, createProject, createRelease, createUser, type TestUser } from './helpers/fixtures.js';
import { mintJobToken } from './helpers/ci.js';

// The job token scope: a job token reaches its own project, and other projects only when their
// allowlist names the job's project; GitLab's allowlist API manages that list.

let server: TestServer;
let dev: TestUser;
let maintainer: TestUser;
type P = { id: number; path_with_namespace: string };
let home: P; // where the job runs (private)
let other: P; // private, dev is Developer there too
let open: P; // public, dev is Developer there too
let internal: P; // internal, dev is Developer there too

before(async () => {
  server = await startTestServer();
  dev = await createUser(server);
  maintainer = await createUser(server);
  home = await createProject(server, 'scope-home');
  other = await createProject(server, 'scope-other');
  open = await createProject(server, 'scope-open', { visibility: 'public' });
  internal = await createProject(server, 'scope-internal', { visibility: 'internal' });
  for (const p of [home, other, open, internal]) {
    await addMember(server, p.id, dev.id, 30);
    await createRelease(server, p.id, 'v1', [{ name: 'bin', url: `https://example.com/${p.id}/bin`, filepath: '/bin' }]);
  }
  await addMember(server, other.id, maintainer.id, 40);
});
after(async () => server.close());

const job = (token: string) => ({ headers: { 'job-token': token } });
const allowlist = (p: P) => `/api/v4/projects/${p.id}/job_token_scope/allowlist`;

describe('where a job token reaches', () => {
  test('another private or internal project outside the scope is 404 Project Not Found, even for reads', async () => {
    const token = (await mintJobToken(server, home.id, { token: dev.token })).token;
    for (const p of [other, internal]) {
      for (const [method, path] of [
        ['GET', `/api/v4/projects/${p.id}/releases`],
        ['GET', `/api/v4/projects/${p.id}/releases/v1/assets/links`],
        ['POST', `/api/v4/projects/${p.id}/releases/v1/assets/links`],
        ['GET', `/api/v4/projects/${p.id}/repository/tags`],
      ] as const) {
        const res = await server.request(method, path, { ...job(token), json: method === 'POST' ? { name: 'n', url: 'https://example.com/n' } : undefined });
        assert.equal(res.status, 404, `${method} ${path}`);
        assert.deepEqual(res.body, { message: '404 Project Not Found' });
      }
      // Its web downloads look like nothing at all.
      const web = await server.request('GET', `/${p.path_with_namespace}/-/releases/v1/downloads/bin`, job(token));
      assert.equal(web.status, 404);
    }
  });

  test('a public project outside the scope can be read but not written', async () => {
    const token = (await mintJobToken(server, home.id, { token: dev.token })).token;
    assert.equal((await server.request('GET', `/api/v4/projects/${open.id}/releases`, job(token))).status, 200);
    assert.equal((await server.request('GET', `/api/v4/projects/${open.id}/releases/v1/downloads/bin`, job(token))).status, 302);
    assert.equal((await server.request('GET', `/${open.path_with_namespace}/-/releases/v1/downloads/bin`, job(token))).status, 302);
    for (const [method, path, json] of [
      ['POST', `/api/v4/projects/${open.id}/releases`, { tag_name: 'v2', ref: 'main' }],
      ['PUT', `/api/v4/projects/${open.id}/releases/v1`, { name: 'renamed' }],
      ['POST', `/api/v4/projects/${open.id}/releases/v1/assets/links`, { name: 'n', url: 'https://example.com/n' }],
    ] as const) {
      const res = await server.request(method, path, { ...job(token), json });
      assert.equal(res.status, 403, `${method} ${path}: ${res.text}`);
      assert.deepEqual(res.body, { message: '403 Forbidden' });
    }
  });

  test("an administrator's job token is no stronger outside its scope", async () => {
    const token = (await mintJobToken(server, home.id)).token; // root's
    assert.equal((await server.request('GET', `/api/v4/projects/${other.id}/releases`, job(token))).status, 404);
    assert.equal((await server.request('GET', `/api/v4/projects/${open.id}/releases`, job(token))).status, 200);
    const write = await server.request('POST', `/api/v4/projects/${open.id}/releases`, { ...job(token), json: { tag_name: 'v-admin', ref: 'main' } });
    assert.equal(write.status, 403);
    // On its own project it is root as ever.
    const own = await server.request('POST', `/api/v4/projects/${home.id}/releases`, { ...job(token), json: { tag_name: 'v-admin', ref: 'main' } });
    assert.equal(own.status, 201, own.text);
  });

  test('once the allowlist names the job project, the token acts as its user there; removing it closes the door again', async () => {
    const token = (await mintJobToken(server, home.id, { token: dev.token })).token;
    const links = `/api/v4/projects/${other.id}/releases/v1/assets/links`;
    assert.equal((await server.request('GET', links, job(token))).status, 404);

    // Adding a project takes Maintainer on the list's project and sight of the added one.
    assert.equal((await server.request('POST', allowlist(other), { token: maintainer.token, json: { target_project_id: home.id } })).status, 400);
    await addMember(server, home.id, maintainer.id, 10);
    const added = await server.request('POST', allowlist(other), { token: maintainer.token, json: { target_project_id: home.id } });
    assert.equal(added.status, 201, added.text);
    assert.deepEqual(added.body, { source_project_id: other.id, target_project_id: home.id });

    assert.equal((await server.request('GET', links, job(token))).status, 200);
    const created = await server.request('POST', links, { ...job(token), json: { name: 'from-home', url: 'https://example.com/from-home' } });
    assert.equal(created.status, 201, created.text);
    // The allowlist works one way only: home's own allowlist does not name other.
    const back = (await mintJobToken(server, other.id, { token: dev.token })).token;
    assert.equal((await server.request('GET', `/api/v4/projects/${home.id}/releases`, job(back))).status, 404);

    assert.equal((await server.request('DELETE', `${allowlist(other)}/${home.id}`, { token: maintainer.token })).status, 204);
    assert.equal((await server.request('GET', links, job(token))).status, 404);
  });

  test("the allowlist lets the job's user in, not more: without a role there the user's own rights apply", async () => {
    const outsider = await createUser(server);
    await addMember(server, home.id, outsider.id, 30);
    await server.request('POST', allowlist(other), { token: ROOT_TOKEN, json: { target_project_id: home.id } });
    const token = (await mintJobToken(server, home.id, { token: outsider.token })).token;
    const res = await server.request('GET', `/api/v4/projects/${other.id}/releases`, job(token));
    assert.equal(res.status, 404, 'outsider is no member of the private project');
    await server.request('DELETE', `${allowlist(other)}/${home.id}`, { token: ROOT_TOKEN });
  });
});

describe('GET/POST/DELETE /projects/:id/job_token_scope/allowlist', () => {
  test('the list starts with the project itself and shows each allowed project once, with pagination headers', async () => {
    const extra = await createProject(server, 'scope-extra');
    await server.request('POST', allowlist(open), { token: ROOT_TOKEN, json: { target_project_id: home.id } });
    await server.request('POST', allowlist(open), { token: ROOT_TOKEN, json: { target_project_id: extra.id } });
    const res = await server.request('GET', `/api/v4/projects/${encodeURIComponent(open.path_with_namespace)}/job_token_scope/allowlist`, { token: ROOT_TOKEN });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body.map((p: { id: number }) => p.id), [open.id, home.id, extra.id]);
    assert.equal(res.body[1].path_with_namespace, home.path_with_namespace);
    assert.equal(res.body[1].namespace.full_path, home.path_with_namespace.split('/')[0]);
    assert.equal(res.headers.get('x-total'), '3');
    const page2 = await server.request('GET', `${allowlist(open)}?per_page=2&page=2`, { token: ROOT_TOKEN });
    assert.deepEqual(page2.body.map((p: { id: number }) => p.id), [extra.id]);
    assert.equal(page2.headers.get('x-total-pages'), '2');
  });

  test("GitLab's errors: duplicates, the project itself, unknown and unreadable targets, ids given as paths", async () => {
    const hidden = await createProject(server, 'scope-hidden'); // root's, private, the maintainer cannot see it
    const path = allowlist(other);
    const post = (json: object, token = maintainer.token) => server.request('POST', path, { token, json });

    assert.equal((await post({ target_project_id: open.id })).status, 201);
    assert.deepEqual((await post({ target_project_id: open.id })).body, { message: '400 Bad request - Target project is already in the job token scope' });
    const self = await post({ target_project_id: other.id });
    assert.equal(self.status, 400);
    assert.deepEqual(self.body, { message: "400 Bad request - Validation failed: Target project can't be the same as the source project" });
    const unknown = await post({ target_project_id: 999999 });
    assert.equal(unknown.status, 404);
    assert.deepEqual(unknown.body, { message: '404 target_project_id not found Not Found' });
    const unreadable = await post({ target_project_id: hidden.id });
    assert.equal(unreadable.status, 400);
    assert.deepEqual(unreadable.body, {
      message: "400 Bad request - The target_project that you are attempting to access does not exist or you don't have permission to perform this action",
    });
    assert.deepEqual((await post({})).body, { error: 'target_project_id is missing' });
    const byPath = await server.request('POST', `/api/v4/projects/${encodeURIComponent(other.path_with_namespace)}/job_token_scope/allowlist`, {
      token: maintainer.token,
      json: { target_project_id: open.id },
    });
    assert.equal(byPath.status, 400);
    assert.deepEqual(byPath.body, { error: 'id is invalid' });

    assert.equal((await server.request('DELETE', `${path}/${open.id}`, { token: maintainer.token })).status, 204);
    const again = await server.request('DELETE', `${path}/${open.id}`, { token: maintainer.token });
    assert.equal(again.status, 400);
    assert.deepEqual(again.body, { message: '400 Bad request - Target project is not in the job token scope' });
    const hiddenTarget = await server.request('DELETE', `${path}/${hidden.id}`, { token: maintainer.token });
    assert.equal(hiddenTarget.status, 404);
    assert.deepEqual(hiddenTarget.body, { message: '404 Project Not Found' });
  });

  test('managing the list takes Maintainer; outsiders see no project; anonymous is 401', async () => {
    const path = allowlist(other);
    assert.deepEqual((await server.request('GET', path, { token: dev.token })).body, { message: '403 Forbidden' });
    assert.equal((await server.request('POST', path, { token: dev.token, json: { target_project_id: open.id } })).status, 403);
    const del = await server.request('DELETE', `${path}/${open.id}`, { token: dev.token });
    assert.equal(del.status, 403);
    assert.deepEqual(del.body, { message: '403 Forbidden - Insufficient permissions to modify the job token scope' });
    const stranger = await createUser(server);
    assert.deepEqual((await server.request('GET', path, { token: stranger.token })).body, { message: '404 Project Not Found' });
    assert.equal((await server.request('GET', path)).status, 401);
    assert.equal((await server.request('POST', path, { json: { target_project_id: open.id } })).status, 401);
  });

  test('deleting an allowed project removes it from every allowlist', async () => {
    const temp = await createProject(server, 'scope-temp');
    await server.request('POST', allowlist(internal), { token: ROOT_TOKEN, json: { target_project_id: temp.id } });
    assert.equal((await server.request('DELETE', `/api/v4/projects/${temp.id}`, { token: ROOT_TOKEN })).status, 202);
    const res = await server.request('GET', allowlist(internal), { token: ROOT_TOKEN });
    assert.deepEqual(res.body.map((p: { id: number }) => p.id), [internal.id]);
  });
});
