import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, ROOT_TOKEN, type Response, type TestServer } from './helpers/server.js';
import { addMember, createProject, createRelease, createUser, type TestUser } from './helpers/fixtures.js';
import { isUniqueViolation, violates } from '../src/store/errors.js';

// Every error of the Release links API (shared/gitlab-behavior.md §1, §3, §6) over real HTTP:
// exact status, exact body text (so key order counts), exact Content-Type.

let server: TestServer;
let projectId: number;
let developer: TestUser;
let reporter: TestUser;
let stranger: TestUser;
let counter = 0;
const uniq = (p: string) => `${p}-${++counter}`;

/** How a client may send parameters: JSON body, form body, or the query string. */
type Mode = 'json' | 'form' | 'query';
const MODES: Mode[] = ['json', 'form', 'query'];

/** Every response of this API is `application/json`, exactly: python-gitlab 3.12 depends on it. */
function assertJsonType(res: Response) {
  assert.equal(res.headers.get('content-type'), 'application/json', `content-type of ${res.status} ${res.text}`);
}

async function send(method: string, path: string, params: Record<string, string>, mode: Mode, token: string | undefined = ROOT_TOKEN) {
  let res: Response;
  // GET and HEAD carry no body: their parameters always travel in the query string.
  if (method === 'GET') mode = 'query';
  if (mode === 'json') res = await server.request(method, path, { token, json: params });
  else if (mode === 'form') res = await server.request(method, path, { token, form: params });
  else {
    const qs = new URLSearchParams(params).toString();
    res = await server.request(method, qs ? `${path}?${qs}` : path, { token });
  }
  assertJsonType(res);
  return res;
}

/** Asserts status and the exact body text, key order included. */
function expect(res: Response, status: number, body: unknown) {
  assert.equal(res.status, status, res.text);
  assert.equal(res.text, JSON.stringify(body));
  assertJsonType(res);
}

async function newRelease(links: object[] = []) {
  const tag = uniq('v');
  await createRelease(server, projectId, tag, links);
  return { tag, base: `/api/v4/projects/${projectId}/releases/${tag}/assets/links` };
}

async function newLink(base: string, extra: Record<string, string> = {}) {
  const name = uniq('asset');
  const res = await send('POST', base, { name, url: `https://example.com/${name}`, ...extra }, 'json');
  assert.equal(res.status, 201, res.text);
  return res.body as { id: number; name: string; url: string };
}

before(async () => {
  server = await startTestServer();
  projectId = (await createProject(server, 'errors')).id;
  developer = await createUser(server);
  reporter = await createUser(server);
  stranger = await createUser(server);
  await addMember(server, projectId, developer.id, 30);
  await addMember(server, projectId, reporter.id, 20);
});
after(async () => server.close());

describe('§3 parameter errors (400 "error")', () => {
  for (const mode of MODES) {
    test(`${mode}: create without name and url → name is missing, url is missing`, async () => {
      const { base } = await newRelease();
      expect(await send('POST', base, {}, mode), 400, { error: 'name is missing, url is missing' });
    });

    test(`${mode}: create without url → only url is missing`, async () => {
      const { base } = await newRelease();
      expect(await send('POST', base, { name: 'a' }, mode), 400, { error: 'url is missing' });
    });

    test(`${mode}: create without name → only name is missing`, async () => {
      const { base } = await newRelease();
      expect(await send('POST', base, { url: 'https://example.com/a' }, mode), 400, { error: 'name is missing' });
    });

    test(`${mode}: bad link_type on create and on update → link_type does not have a valid value`, async () => {
      const { base } = await newRelease();
      for (const linkType of ['bad', 'OTHER', '', 'packages']) {
        expect(await send('POST', base, { name: 'a', url: 'https://example.com/a', link_type: linkType }, mode), 400, {
          error: 'link_type does not have a valid value',
        });
      }
      const link = await newLink(base);
      expect(await send('PUT', `${base}/${link.id}`, { name: 'b', link_type: 'bad' }, mode), 400, { error: 'link_type does not have a valid value' });
    });

    test(`${mode}: update with neither name nor url → at least one parameter must be provided`, async () => {
      const { base } = await newRelease();
      const link = await newLink(base);
      const message = { error: 'name, url are missing, at least one parameter must be provided' };
      expect(await send('PUT', `${base}/${link.id}`, {}, mode), 400, message);
      expect(await send('PUT', `${base}/${link.id}`, { link_type: 'image', filepath: '/a/b' }, mode), 400, message);
    });

    test(`${mode}: link_id that is not an integer → link_id is invalid`, async () => {
      const { base } = await newRelease();
      for (const id of ['abc', '1x', '1.5', 'one']) {
        expect(await send('GET', `${base}/${id}`, {}, mode), 400, { error: 'link_id is invalid' });
        expect(await send('PUT', `${base}/${id}`, { name: 'x' }, mode), 400, { error: 'link_id is invalid' });
        expect(await send('DELETE', `${base}/${id}`, {}, mode), 400, { error: 'link_id is invalid' });
      }
    });
  }

  test('bad page / per_page on the list → page is invalid / per_page is invalid', async () => {
    const { base } = await newRelease();
    expect(await send('GET', base, { page: 'abc' }, 'query'), 400, { error: 'page is invalid' });
    expect(await send('GET', base, { page: '1.5' }, 'query'), 400, { error: 'page is invalid' });
    expect(await send('GET', base, { per_page: 'x' }, 'query'), 400, { error: 'per_page is invalid' });
    expect(await send('GET', base, { per_page: '2e' }, 'query'), 400, { error: 'per_page is invalid' });
  });

  test('blank integer parameters: "" is absent (Grape: nil), whitespace is invalid, wherever they are sent', async () => {
    const { base } = await newRelease();
    // Optional integers: the list as if they were not sent.
    const list = await send('GET', base, { page: '', per_page: '' }, 'query');
    assert.equal(list.status, 200, list.text);
    assert.equal(list.headers.get('x-page'), '1');
    assert.equal(list.headers.get('x-per-page'), '20');
    expect(await send('GET', base, { page: ' ' }, 'query'), 400, { error: 'page is invalid' });
    // A blank link_id in the path stays invalid (no route of GitLab's takes an empty segment).
    expect(await send('GET', `${base}/%20`, {}, 'query'), 400, { error: 'link_id is invalid' });
    expect(await send('DELETE', `${base}/%20`, {}, 'query'), 400, { error: 'link_id is invalid' });
    // In a body (JSON, form or query on a write), an integer sent blank counts as not sent.
    const project = `/api/v4/projects/${projectId}`;
    for (const mode of MODES) {
      expect(await send('POST', `${project}/members`, { user_id: '', access_level: '30' }, mode), 400, { error: 'user_id is missing' });
      expect(await send('POST', `${project}/members`, { user_id: String(stranger.id), access_level: '' }, mode), 400, { error: 'access_level is missing' });
      expect(await send('POST', `${project}/members`, { user_id: ' ', access_level: '30' }, mode), 400, { error: 'user_id is invalid' });
      // An optional one takes its default: create_access_level 40 (Maintainers).
      const name = uniq('blank-level');
      const tagRule = await send('POST', `${project}/protected_tags`, { name, create_access_level: '' }, mode);
      assert.equal(tagRule.status, 201, `${mode}: ${tagRule.text}`);
      assert.equal(tagRule.body.create_access_levels[0].access_level, 40, mode);
      expect(await send('POST', `${project}/protected_tags`, { name: uniq('ws-level'), create_access_level: '\t' }, mode), 400, {
        error: 'create_access_level is invalid, create_access_level does not have a valid value',
      });
    }
  });

  test('a missing integer link_id that is huge is a plain 404, not a 500', async () => {
    const { base } = await newRelease();
    expect(await send('GET', `${base}/99999999999999`, {}, 'query'), 404, { message: '404 Not found' });
  });
});

describe('§3 model validation (400 "message")', () => {
  const cases: { title: string; params: Record<string, string>; body: unknown }[] = [
    { title: 'blank name', params: { name: ' ', url: 'https://example.com/blank-name' }, body: { message: { name: ["can't be blank"] } } },
    { title: 'empty name', params: { name: '', url: 'https://example.com/empty-name' }, body: { message: { name: ["can't be blank"] } } },
    { title: 'blank url', params: { name: 'blank-url', url: ' ' }, body: { message: { url: ["can't be blank", 'must be a valid URL'] } } },
    { title: 'empty url', params: { name: 'empty-url', url: '' }, body: { message: { url: ["can't be blank", 'must be a valid URL'] } } },
    { title: 'bad scheme wrong_url', params: { name: 's1', url: 'wrong_url' }, body: { message: { url: ['is blocked: Only allowed schemes are http, https, ftp'] } } },
    { title: 'bad scheme torrent://x', params: { name: 's2', url: 'torrent://x' }, body: { message: { url: ['is blocked: Only allowed schemes are http, https, ftp'] } } },
    { title: 'unparseable url', params: { name: 'u1', url: 'http://exa mple.com/x' }, body: { message: { url: ['is blocked: URI is invalid'] } } },
    { title: 'bad filepath', params: { name: 'f1', url: 'https://example.com/f1', filepath: 'binaries/app.dmg' }, body: { message: { filepath: ['is in an invalid format'] } } },
    { title: 'bad filepath //', params: { name: 'f2', url: 'https://example.com/f2', filepath: '//www.example.com' }, body: { message: { filepath: ['is in an invalid format'] } } },
    { title: 'empty filepath', params: { name: 'f3', url: 'https://example.com/f3', filepath: '' }, body: { message: { filepath: ['is in an invalid format'] } } },
    {
      title: 'filepath too long',
      params: { name: 'f4', url: 'https://example.com/f4', filepath: '/' + 'a'.repeat(128) },
      body: { message: { filepath: ['is too long (maximum is 128 characters)'] } },
    },
    {
      title: 'direct_asset_path is reported as filepath',
      params: { name: 'f5', url: 'https://example.com/f5', direct_asset_path: '/example:5000' },
      body: { message: { filepath: ['is in an invalid format'] } },
    },
    {
      title: 'direct_asset_path wins over filepath (bad direct_asset_path, good filepath)',
      params: { name: 'f6', url: 'https://example.com/f6', filepath: '/good/path', direct_asset_path: '/binaries/app.dmg-' },
      body: { message: { filepath: ['is in an invalid format'] } },
    },
    {
      title: 'all three fields wrong: url, name, filepath order',
      params: { filepath: 'nope', name: ' ', url: 'torrent://x' },
      body: {
        message: {
          url: ['is blocked: Only allowed schemes are http, https, ftp'],
          name: ["can't be blank"],
          filepath: ['is in an invalid format'],
        },
      },
    },
  ];
  for (const mode of MODES) {
    for (const c of cases) {
      test(`${mode}: ${c.title}`, async () => {
        const { base } = await newRelease();
        expect(await send('POST', base, c.params, mode), 400, c.body);
        // Nothing was written.
        const list = await send('GET', base, {}, 'query');
        assert.deepEqual(list.body, []);
      });
    }

    test(`${mode}: duplicate name and url → url then name "has already been taken"`, async () => {
      const { base } = await newRelease();
      const link = await newLink(base);
      expect(await send('POST', base, { name: link.name, url: link.url }, mode), 400, {
        message: { url: ['has already been taken'], name: ['has already been taken'] },
      });
      expect(await send('POST', base, { name: link.name, url: 'https://example.com/other' }, mode), 400, {
        message: { name: ['has already been taken'] },
      });
      expect(await send('POST', base, { name: 'other', url: link.url }, mode), 400, { message: { url: ['has already been taken'] } });
    });

    test(`${mode}: duplicate filepath (sent as filepath or direct_asset_path)`, async () => {
      const { base } = await newRelease();
      await newLink(base, { filepath: '/bin/app' });
      const body = { message: { filepath: ['has already been taken'] } };
      expect(await send('POST', base, { name: 'n2', url: 'https://example.com/n2', filepath: '/bin/app' }, mode), 400, body);
      expect(await send('POST', base, { name: 'n3', url: 'https://example.com/n3', direct_asset_path: '/bin/app' }, mode), 400, body);
    });

    test(`${mode}: update validates the same way and names clash with other links only`, async () => {
      const { base } = await newRelease();
      const a = await newLink(base, { filepath: '/a/file' });
      const b = await newLink(base);
      // Re-sending a link's own values is no clash.
      const same = await send('PUT', `${base}/${a.id}`, { name: a.name, url: a.url, filepath: '/a/file' }, mode);
      assert.equal(same.status, 200, same.text);
      expect(await send('PUT', `${base}/${b.id}`, { name: a.name, url: a.url }, mode), 400, {
        message: { url: ['has already been taken'], name: ['has already been taken'] },
      });
      expect(await send('PUT', `${base}/${b.id}`, { name: 'x', direct_asset_path: '/a/file' }, mode), 400, { message: { filepath: ['has already been taken'] } });
      expect(await send('PUT', `${base}/${b.id}`, { name: ' ' }, mode), 400, { message: { name: ["can't be blank"] } });
      expect(await send('PUT', `${base}/${b.id}`, { url: 'wrong_url' }, mode), 400, {
        message: { url: ['is blocked: Only allowed schemes are http, https, ftp'] },
      });
      expect(await send('PUT', `${base}/${b.id}`, { url: '' }, mode), 400, { message: { url: ["can't be blank", 'must be a valid URL'] } });
      // b is unchanged.
      const shown = await send('GET', `${base}/${b.id}`, {}, 'query');
      assert.equal(shown.body.name, b.name);
      assert.equal(shown.body.url, b.url);
    });
  }
});

describe('§1 parameters: sources, aliases, unknown ones', () => {
  for (const mode of MODES) {
    test(`${mode}: create, update and delete take their parameters from ${mode}`, async () => {
      const { tag, base } = await newRelease();
      const created = await send('POST', base, { name: 'bin', url: 'https://example.com/bin', filepath: '/bin/app', link_type: 'package' }, mode);
      expect(created, 201, {
        id: created.body.id,
        name: 'bin',
        url: 'https://example.com/bin',
        direct_asset_url: `http://relinks.test/root/errors/-/releases/${tag}/downloads/bin/app`,
        external: true,
        link_type: 'package',
      });
      const updated = await send('PUT', `${base}/${created.body.id}`, { name: 'renamed', link_type: 'runbook' }, mode);
      expect(updated, 200, { ...created.body, name: 'renamed', link_type: 'runbook' });
      const deleted = await send('DELETE', `${base}/${created.body.id}`, {}, mode);
      expect(deleted, 200, updated.body);
    });

    test(`${mode}: direct_asset_path is filepath's alias and wins when both are sent`, async () => {
      const { tag, base } = await newRelease();
      const a = await send('POST', base, { name: 'a', url: 'https://example.com/a', direct_asset_path: '/only/alias' }, mode);
      assert.equal(a.status, 201, a.text);
      assert.equal(a.body.direct_asset_url, `http://relinks.test/root/errors/-/releases/${tag}/downloads/only/alias`);
      const b = await send('POST', base, { name: 'b', url: 'https://example.com/b', filepath: 'not valid', direct_asset_path: '/alias/wins' }, mode);
      assert.equal(b.status, 201, b.text);
      assert.equal(b.body.direct_asset_url, `http://relinks.test/root/errors/-/releases/${tag}/downloads/alias/wins`);
      const c = await send('PUT', `${base}/${b.body.id}`, { name: 'b', filepath: '/ignored/one', direct_asset_path: '/updated/alias' }, mode);
      assert.equal(c.status, 200, c.text);
      assert.equal(c.body.direct_asset_url, `http://relinks.test/root/errors/-/releases/${tag}/downloads/updated/alias`);
    });

    test(`${mode}: unknown parameters (gitbeaker's file_path, junk) are ignored`, async () => {
      const { base } = await newRelease();
      const res = await send('POST', base, { name: 'a', url: 'https://example.com/a', file_path: '/bin/x', junk: '1', id: '999', release_id: '5' }, mode);
      assert.equal(res.status, 201, res.text);
      assert.deepEqual(Object.keys(res.body), ['id', 'name', 'url', 'direct_asset_url', 'external', 'link_type']);
      assert.notEqual(res.body.id, 999);
      // file_path is not filepath: no direct asset path was set.
      assert.equal(res.body.direct_asset_url, 'https://example.com/a');
    });
  }

  test('query string and body together: both are read, the body wins on a clash', async () => {
    const { base } = await newRelease();
    const res = await server.request('POST', `${base}?name=from-query&link_type=image`, { token: ROOT_TOKEN, json: { url: 'https://example.com/q', name: 'from-body' } });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.name, 'from-body');
    assert.equal(res.body.link_type, 'image');
  });

  test('ours: PUT without link_type keeps the link type', async () => {
    const { base } = await newRelease();
    const link = await newLink(base, { link_type: 'image' });
    const res = await send('PUT', `${base}/${link.id}`, { name: 'kept' }, 'json');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.link_type, 'image');
  });

  test('create defaults link_type to other', async () => {
    const { base } = await newRelease();
    const link = await newLink(base);
    assert.equal((link as { link_type?: string }).link_type, 'other');
  });

  test('a DELETE answers 200 with the deleted link, which is then gone', async () => {
    const { base } = await newRelease();
    const link = await newLink(base, { filepath: '/bin/del', link_type: 'runbook' });
    const shown = await send('GET', `${base}/${link.id}`, {}, 'query');
    const deleted = await server.request('DELETE', `${base}/${link.id}`, { token: ROOT_TOKEN });
    expect(deleted, 200, shown.body);
    expect(await send('GET', `${base}/${link.id}`, {}, 'query'), 404, { message: '404 Not found' });
    expect(await send('DELETE', `${base}/${link.id}`, {}, 'query'), 404, { message: '404 Not found' });
    assert.deepEqual((await send('GET', base, {}, 'query')).body, []);
  });

  test('a DELETE with Content-Type: application/json and no body is fine (curl -X DELETE -H ...)', async () => {
    const { base } = await newRelease();
    const link = await newLink(base);
    const res = await server.request('DELETE', `${base}/${link.id}`, { token: ROOT_TOKEN, headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 200, res.text);
    assertJsonType(res);
  });

  test('malformed JSON is a 400 with a JSON body', async () => {
    const { base } = await newRelease();
    const res = await server.request('POST', base, { token: ROOT_TOKEN, headers: { 'content-type': 'application/json' }, json: undefined });
    assert.equal(res.status, 400);
    const raw = await fetch(server.url + base, { method: 'POST', headers: { 'private-token': ROOT_TOKEN, 'content-type': 'application/json' }, body: '{"name":' });
    assert.equal(raw.status, 400);
    assert.equal(raw.headers.get('content-type'), 'application/json');
    const body = (await raw.json()) as { error: string };
    assert.equal(typeof body.error, 'string');
  });
});

describe('§1 Content-Type on every kind of response', () => {
  test('200, 201, 400, 401, 403, 404 all answer exactly application/json', async () => {
    const { base } = await newRelease();
    const link = await newLink(base);
    const responses = [
      await server.request('GET', base, { token: ROOT_TOKEN }),
      await server.request('GET', `${base}/${link.id}`, { token: ROOT_TOKEN }),
      await server.request('POST', base, { token: ROOT_TOKEN, form: { name: 'ct', url: 'https://example.com/ct' } }),
      await server.request('PUT', `${base}/${link.id}`, { token: ROOT_TOKEN, form: { name: 'ct2' } }),
      await server.request('POST', base, { token: ROOT_TOKEN, form: {} }),
      await server.request('POST', base, { token: ROOT_TOKEN, form: { name: ' ', url: 'https://example.com/ct3' } }),
      await server.request('GET', base, { token: 'no-such-token' }),
      await server.request('POST', base, { token: reporter.token, form: { name: 'r', url: 'https://example.com/r' } }),
      await server.request('GET', `/api/v4/projects/${projectId}/releases/none/assets/links`, { token: ROOT_TOKEN }),
      await server.request('GET', '/api/v4/projects/424242/releases/none/assets/links', { token: ROOT_TOKEN }),
      await server.request('GET', '/api/v4/no/such/route'),
      await server.request('DELETE', `${base}/${link.id}`, { token: ROOT_TOKEN }),
    ];
    assert.deepEqual(responses.map((r) => r.status), [200, 200, 201, 200, 400, 400, 401, 403, 404, 404, 404, 200]);
    for (const res of responses) assertJsonType(res);
  });
});

describe('§6 order of checks, one test per adjacent pair', () => {
  test('param schema (400) before credentials (401)', async () => {
    const { base } = await newRelease();
    expect(await send('GET', `${base}/abc`, {}, 'query', 'no-such-token'), 400, { error: 'link_id is invalid' });
    expect(await send('POST', base, {}, 'json', 'no-such-token'), 400, { error: 'name is missing, url is missing' });
    expect(await send('GET', base, { page: 'x' }, 'query', 'no-such-token'), 400, { error: 'page is invalid' });
  });

  test('credentials (401) before project visibility (404 Project Not Found)', async () => {
    expect(await send('GET', '/api/v4/projects/424242/releases/v1/assets/links', {}, 'query', 'no-such-token'), 401, { message: '401 Unauthorized' });
    expect(await send('POST', '/api/v4/projects/424242/releases/v1/assets/links', { name: 'a', url: 'https://a.example' }, 'json', 'no-such-token'), 401, {
      message: '401 Unauthorized',
    });
  });

  test('project visibility (404 Project Not Found) before any 403: an invisible project never says Forbidden', async () => {
    const { base, tag } = await newRelease();
    const link = await newLink(base);
    const notFoundProject = { message: '404 Project Not Found' };
    expect(await send('POST', base, { name: 'a', url: 'https://a.example' }, 'json', stranger.token), 404, notFoundProject);
    expect(await send('PUT', `${base}/${link.id}`, { name: 'a' }, 'json', stranger.token), 404, notFoundProject);
    expect(await send('DELETE', `${base}/${link.id}`, {}, 'json', stranger.token), 404, notFoundProject);
    expect(await send('GET', base, {}, 'query', ''), 404, notFoundProject);
    // and before release existence
    expect(await send('GET', `/api/v4/projects/${projectId}/releases/${tag}-missing/assets/links`, {}, 'query', stranger.token), 404, notFoundProject);
  });

  test('may read releases (403) before release existence (404): a reader of the project passes on to the release lookup', async () => {
    // Every user who can see a project may read its releases (§5), so the read check lets a
    // reporter through and the missing release is what answers.
    expect(await send('GET', `/api/v4/projects/${projectId}/releases/missing/assets/links`, {}, 'query', reporter.token), 404, { message: '404 Not found' });
    const { base } = await newRelease();
    assert.equal((await send('GET', base, {}, 'query', reporter.token)).status, 200);
  });

  test('release existence (404 Not found) before write permission (403)', async () => {
    const missing = `/api/v4/projects/${projectId}/releases/missing/assets/links`;
    expect(await send('POST', missing, { name: 'a', url: 'https://a.example' }, 'json', reporter.token), 404, { message: '404 Not found' });
    expect(await send('PUT', `${missing}/1`, { name: 'a' }, 'json', reporter.token), 404, { message: '404 Not found' });
    expect(await send('DELETE', `${missing}/1`, {}, 'json', reporter.token), 404, { message: '404 Not found' });
    const { base } = await newRelease();
    expect(await send('POST', base, { name: 'a', url: 'https://a.example' }, 'json', reporter.token), 403, { message: '403 Forbidden' });
  });

  test('write permission (403) before link existence (404)', async () => {
    const { base } = await newRelease();
    expect(await send('PUT', `${base}/987654`, { name: 'a' }, 'json', reporter.token), 403, { message: '403 Forbidden' });
    expect(await send('DELETE', `${base}/987654`, {}, 'json', reporter.token), 403, { message: '403 Forbidden' });
    expect(await send('PUT', `${base}/987654`, { name: 'a' }, 'json', developer.token), 404, { message: '404 Not found' });
  });

  test('link existence (404) before model validation (400)', async () => {
    const { base } = await newRelease();
    expect(await send('PUT', `${base}/987654`, { name: ' ', url: 'wrong_url' }, 'json', developer.token), 404, { message: '404 Not found' });
    const link = await newLink(base);
    expect(await send('PUT', `${base}/${link.id}`, { name: ' ' }, 'json', developer.token), 400, { message: { name: ["can't be blank"] } });
  });

  test('write permission (403) before model validation (400) on create', async () => {
    const { base } = await newRelease();
    expect(await send('POST', base, { name: ' ', url: 'wrong_url' }, 'json', reporter.token), 403, { message: '403 Forbidden' });
  });

  test('a link of another release of the same project is 404 Not found', async () => {
    const one = await newRelease();
    const two = await newRelease();
    const link = await newLink(one.base);
    expect(await send('GET', `${two.base}/${link.id}`, {}, 'query'), 404, { message: '404 Not found' });
    expect(await send('PUT', `${two.base}/${link.id}`, { name: 'x' }, 'json'), 404, { message: '404 Not found' });
    expect(await send('DELETE', `${two.base}/${link.id}`, {}, 'json'), 404, { message: '404 Not found' });
  });
});

describe('unknown routes', () => {
  for (const [method, path] of [
    ['GET', '/api/v4/nope'],
    ['GET', '/nope'],
    ['POST', '/api/v4/projects/1/releases/v1/assets/linkz'],
    ['GET', '/api/v4/projects/1/releases/v1/assets'],
    ['GET', '/api/v3/projects/1'],
  ] as const) {
    test(`${method} ${path} → 404 {"error":"404 Not Found"}`, async () => {
      const res = await server.request(method, path, { token: ROOT_TOKEN });
      expect(res, 404, { error: '404 Not Found' });
    });
  }
});

describe('race: the unique indexes turn a lost race into 400, never 500', () => {
  test('50 concurrent identical creates: exactly one 201, the others 400 "has already been taken"', async () => {
    const { base } = await newRelease();
    const params = { name: 'race', url: 'https://example.com/race', filepath: '/race/bin' };
    const results = await Promise.all(Array.from({ length: 50 }, () => server.request('POST', base, { token: ROOT_TOKEN, json: params })));
    const statuses = results.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 201).length, 1, JSON.stringify(statuses));
    assert.equal(statuses.filter((s) => s === 400).length, 49, JSON.stringify(statuses));
    for (const res of results.filter((r) => r.status === 400)) {
      assertJsonType(res);
      const fields = Object.keys(res.body.message);
      assert.ok(fields.length >= 1, res.text);
      for (const field of fields) {
        assert.ok(['url', 'name', 'filepath'].includes(field), res.text);
        assert.deepEqual(res.body.message[field], ['has already been taken']);
      }
    }
    const list = await send('GET', base, {}, 'query');
    assert.equal(list.body.length, 1);
    // The database holds one row.
    const rows = await server.running.store.db.selectFrom('release_links').select('id').where('name', '=', 'race').execute();
    assert.equal(rows.length, 1);
  });

  test('concurrent renames of two links to one name: one wins, the other is 400', async () => {
    const { base } = await newRelease();
    const links = await Promise.all(Array.from({ length: 10 }, () => newLink(base)));
    const results = await Promise.all(links.map((l) => server.request('PUT', `${base}/${l.id}`, { token: ROOT_TOKEN, json: { name: 'same-name' } })));
    assert.deepEqual(results.map((r) => r.status).sort(), [200, ...Array(9).fill(400)]);
    for (const res of results.filter((r) => r.status === 400)) expect(res, 400, { message: { name: ['has already been taken'] } });
  });

  test('each of the three unique indexes rejects a duplicate row written behind the checks, and names its column', async () => {
    const { base } = await newRelease();
    const link = await newLink(base, { filepath: '/idx/file' });
    const db = server.running.store.db;
    const row = await db.selectFrom('release_links').selectAll().where('id', '=', link.id).executeTakeFirstOrThrow();
    const at = new Date().toISOString();
    const attempts: [string, { name: string; url: string; filepath: string | null }][] = [
      ['name', { name: row.name, url: 'https://example.com/idx-other', filepath: null }],
      ['url', { name: 'idx-other', url: row.url, filepath: null }],
      ['filepath', { name: 'idx-other', url: 'https://example.com/idx-other', filepath: '/idx/file' }],
    ];
    for (const [column, values] of attempts) {
      const error = await server.running.store
        .write((trx) => trx.insertInto('release_links').values({ release_id: row.release_id, link_type: 'other', created_at: at, updated_at: at, ...values }).execute())
        .then(() => undefined, (e: unknown) => e);
      assert.ok(isUniqueViolation(error), `${column}: ${String(error)}`);
      assert.ok(violates(error, 'release_links', column), `${column}: ${String(error)}`);
    }
    assert.equal((await send('GET', base, {}, 'query')).body.length, 1);
  });
});
