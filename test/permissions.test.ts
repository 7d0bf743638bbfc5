import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { startTestServer, ROOT_TOKEN, type Response, type TestServer } from './helpers/server.js';
import { addMember, createGroup, createProject, createRelease, createUser, enc, type TestUser } from './helpers/fixtures.js';

// The permission matrix of shared/gitlab-behavior.md §4–§6, built as a table: every role ×
// visibility × endpoint × tag protection is one test, with the expected answer computed from
// the rules, and the state checked afterwards (a refused write changes nothing).

const ROLES = ['admin', 'owner', 'maintainer', 'developer', 'reporter', 'guest', 'non-member', 'anonymous'] as const;
type Role = (typeof ROLES)[number];
const LEVEL: Record<Role, number> = { admin: 0, owner: 50, maintainer: 40, developer: 30, reporter: 20, guest: 10, 'non-member': 0, anonymous: 0 };
const MEMBER_ROLES = ['owner', 'maintainer', 'developer', 'reporter', 'guest'] as const;

const VISIBILITIES = ['private', 'internal', 'public'] as const;
type Visibility = (typeof VISIBILITIES)[number];

/** open: no protected tag matches; maintainers: `v*` with create_access_level 40; no-one: `locked-*` with 0. */
const TAG_KINDS = ['open', 'maintainers', 'no-one'] as const;
type TagKind = (typeof TAG_KINDS)[number];

/** What an endpoint needs beyond seeing the project. */
type Need = 'read' | 'read-code' | 'change-tag' | 'admin-project';

const PROJECT_NOT_FOUND = { message: '404 Project Not Found' };
const FORBIDDEN = { message: '403 Forbidden' };

let server: TestServer;
const tokens = new Map<Role, string | undefined>();
const projects = new Map<Visibility, { id: number; path: string }>();
let counter = 0;

function tagName(kind: TagKind): string {
  const n = ++counter;
  if (kind === 'maintainers') return `v${n}.0`;
  if (kind === 'no-one') return `locked-${n}`;
  return `rel-${n}`;
}

function sees(role: Role, visibility: Visibility): boolean {
  if (role === 'admin' || visibility === 'public') return true;
  if (visibility === 'internal') return role !== 'anonymous';
  return LEVEL[role] >= 10;
}

function allowed(role: Role, visibility: Visibility, need: Need, kind: TagKind): boolean {
  if (role === 'admin') return true;
  const level = LEVEL[role];
  switch (need) {
    case 'read':
      return true;
    case 'read-code':
      return visibility !== 'private' || level >= 20;
    case 'admin-project':
      return level >= 40;
    case 'change-tag':
      if (level < 30) return false;
      if (kind === 'open') return true;
      if (kind === 'maintainers') return level >= 40;
      return false;
  }
}

const asRoot = (method: string, path: string, json?: unknown) => server.request(method, path, { token: ROOT_TOKEN, json });

async function rootLink(projectId: number, tag: string) {
  const n = ++counter;
  const res = await asRoot('POST', `/api/v4/projects/${projectId}/releases/${enc(tag)}/assets/links`, { name: `asset-${n}`, url: `https://example.com/${n}` });
  assert.equal(res.status, 201, res.text);
  return res.body as { id: number; name: string };
}

interface Endpoint {
  name: string;
  need: Need;
  /** Whether the tag's protection matters (only endpoints that change a tag's release or create a tag). */
  tagged: boolean;
  success: number;
  /** Builds what the call needs as root; returns the request and a check of the state afterwards. */
  prepare(projectId: number, kind: TagKind): Promise<{
    method: string;
    path: string;
    json?: unknown;
    after(ok: boolean, res: Response): Promise<void>;
  }>;
}

/** One release per project and tag kind, shared by the calls that only read or add to it. */
const shared = new Map<string, { tag: string; linkId: number }>();
async function sharedRelease(projectId: number, kind: TagKind) {
  const key = `${projectId}:${kind}`;
  let found = shared.get(key);
  if (!found) {
    const tag = `${kind === 'maintainers' ? 'v' : kind === 'no-one' ? 'locked-' : 'rel-'}shared`;
    await createRelease(server, projectId, tag);
    const link = await rootLink(projectId, tag);
    found = { tag, linkId: link.id };
    shared.set(key, found);
  }
  return found;
}

const linksOf = (projectId: number, tag: string) => `/api/v4/projects/${projectId}/releases/${enc(tag)}/assets/links`;

const ENDPOINTS: Endpoint[] = [
  {
    name: 'GET links',
    need: 'read',
    tagged: false,
    success: 200,
    async prepare(projectId, kind) {
      const { tag } = await sharedRelease(projectId, kind);
      return {
        method: 'GET',
        path: linksOf(projectId, tag),
        async after(ok, res) {
          if (ok) assert.ok(Array.isArray(res.body) && res.body.length >= 1, res.text);
        },
      };
    },
  },
  {
    name: 'GET link',
    need: 'read',
    tagged: false,
    success: 200,
    async prepare(projectId, kind) {
      const { tag, linkId } = await sharedRelease(projectId, kind);
      return {
        method: 'GET',
        path: `${linksOf(projectId, tag)}/${linkId}`,
        async after(ok, res) {
          if (ok) assert.equal(res.body.id, linkId);
        },
      };
    },
  },
  {
    name: 'POST link',
    need: 'change-tag',
    tagged: true,
    success: 201,
    async prepare(projectId, kind) {
      const { tag } = await sharedRelease(projectId, kind);
      const name = `new-${++counter}`;
      return {
        method: 'POST',
        path: linksOf(projectId, tag),
        json: { name, url: `https://example.com/${name}` },
        async after(ok) {
          const list = await asRoot('GET', `${linksOf(projectId, tag)}?per_page=100`);
          assert.equal(list.body.some((l: { name: string }) => l.name === name), ok);
        },
      };
    },
  },
  {
    name: 'PUT link',
    need: 'change-tag',
    tagged: true,
    success: 200,
    async prepare(projectId, kind) {
      const { tag } = await sharedRelease(projectId, kind);
      const link = await rootLink(projectId, tag);
      const path = `${linksOf(projectId, tag)}/${link.id}`;
      return {
        method: 'PUT',
        path,
        json: { name: `${link.name}-renamed` },
        async after(ok) {
          assert.equal((await asRoot('GET', path)).body.name, ok ? `${link.name}-renamed` : link.name);
        },
      };
    },
  },
  {
    name: 'DELETE link',
    need: 'change-tag',
    tagged: true,
    success: 200,
    async prepare(projectId, kind) {
      const { tag } = await sharedRelease(projectId, kind);
      const link = await rootLink(projectId, tag);
      const path = `${linksOf(projectId, tag)}/${link.id}`;
      return {
        method: 'DELETE',
        path,
        async after(ok) {
          assert.equal((await asRoot('GET', path)).status, ok ? 404 : 200);
        },
      };
    },
  },
  {
    name: 'GET releases',
    need: 'read',
    tagged: false,
    success: 200,
    async prepare(projectId, kind) {
      await sharedRelease(projectId, kind);
      return {
        method: 'GET',
        path: `/api/v4/projects/${projectId}/releases`,
        async after(ok, res) {
          if (ok) assert.ok(res.body.length >= 1);
        },
      };
    },
  },
  {
    name: 'GET release',
    need: 'read',
    tagged: false,
    success: 200,
    async prepare(projectId, kind) {
      const { tag } = await sharedRelease(projectId, kind);
      return {
        method: 'GET',
        path: `/api/v4/projects/${projectId}/releases/${enc(tag)}`,
        async after(ok, res) {
          if (ok) assert.equal(res.body.tag_name, tag);
        },
      };
    },
  },
  {
    name: 'POST release',
    need: 'change-tag',
    tagged: true,
    success: 201,
    async prepare(projectId, kind) {
      const tag = tagName(kind);
      return {
        method: 'POST',
        path: `/api/v4/projects/${projectId}/releases`,
        json: { tag_name: tag, ref: 'main', assets: { links: [{ name: 'a', url: 'https://example.com/a' }] } },
        async after(ok) {
          assert.equal((await asRoot('GET', `/api/v4/projects/${projectId}/releases/${enc(tag)}`)).status, ok ? 200 : 404);
          // A refused release leaves no tag behind either.
          assert.equal((await asRoot('GET', `/api/v4/projects/${projectId}/repository/tags/${enc(tag)}`)).status, ok ? 200 : 404);
        },
      };
    },
  },
  {
    name: 'PUT release',
    need: 'change-tag',
    tagged: true,
    success: 200,
    async prepare(projectId, kind) {
      const { tag } = await sharedRelease(projectId, kind);
      const description = `changed ${++counter}`;
      const path = `/api/v4/projects/${projectId}/releases/${enc(tag)}`;
      return {
        method: 'PUT',
        path,
        json: { description },
        async after(ok) {
          assert.equal((await asRoot('GET', path)).body.description === description, ok);
        },
      };
    },
  },
  {
    name: 'DELETE release',
    need: 'change-tag',
    tagged: true,
    success: 200,
    async prepare(projectId, kind) {
      const tag = tagName(kind);
      await createRelease(server, projectId, tag);
      const path = `/api/v4/projects/${projectId}/releases/${enc(tag)}`;
      return {
        method: 'DELETE',
        path,
        async after(ok) {
          assert.equal((await asRoot('GET', path)).status, ok ? 404 : 200);
        },
      };
    },
  },
  {
    name: 'GET tags',
    need: 'read-code',
    tagged: false,
    success: 200,
    async prepare(projectId, kind) {
      await sharedRelease(projectId, kind);
      return {
        method: 'GET',
        path: `/api/v4/projects/${projectId}/repository/tags`,
        async after(ok, res) {
          if (ok) assert.ok(res.body.length >= 1);
        },
      };
    },
  },
  {
    name: 'POST tag',
    need: 'change-tag',
    tagged: true,
    success: 201,
    async prepare(projectId, kind) {
      const tag = tagName(kind);
      return {
        method: 'POST',
        path: `/api/v4/projects/${projectId}/repository/tags`,
        json: { tag_name: tag, ref: 'main' },
        async after(ok) {
          assert.equal((await asRoot('GET', `/api/v4/projects/${projectId}/repository/tags/${enc(tag)}`)).status, ok ? 200 : 404);
        },
      };
    },
  },
  {
    name: 'GET protected_tags',
    need: 'admin-project',
    tagged: false,
    success: 200,
    async prepare(projectId) {
      return {
        method: 'GET',
        path: `/api/v4/projects/${projectId}/protected_tags`,
        async after(ok, res) {
          if (ok) assert.deepEqual(res.body.map((p: { name: string }) => p.name).slice(0, 2), ['v*', 'locked-*']);
        },
      };
    },
  },
  {
    name: 'POST protected_tags',
    need: 'admin-project',
    tagged: false,
    success: 201,
    async prepare(projectId) {
      const name = `prot-${++counter}-*`;
      return {
        method: 'POST',
        path: `/api/v4/projects/${projectId}/protected_tags`,
        json: { name, create_access_level: 40 },
        async after(ok) {
          assert.equal((await asRoot('GET', `/api/v4/projects/${projectId}/protected_tags/${enc(name)}`)).status, ok ? 200 : 404);
        },
      };
    },
  },
  {
    name: 'DELETE protected_tags',
    need: 'admin-project',
    tagged: false,
    success: 204,
    async prepare(projectId) {
      const name = `gone-${++counter}`;
      assert.equal((await asRoot('POST', `/api/v4/projects/${projectId}/protected_tags`, { name })).status, 201);
      const path = `/api/v4/projects/${projectId}/protected_tags/${enc(name)}`;
      return {
        method: 'DELETE',
        path,
        async after(ok) {
          assert.equal((await asRoot('GET', path)).status, ok ? 404 : 200);
        },
      };
    },
  },
];

before(async () => {
  server = await startTestServer();
  const users = new Map<Role, TestUser>();
  for (const role of ROLES) {
    if (role === 'anonymous') continue;
    const user = await createUser(server, { admin: role === 'admin' });
    users.set(role, user);
    tokens.set(role, user.token);
  }
  tokens.set('anonymous', undefined);
  for (const visibility of VISIBILITIES) {
    const project = await createProject(server, `matrix-${visibility}`, { visibility });
    projects.set(visibility, { id: project.id, path: project.path_with_namespace });
    for (const role of MEMBER_ROLES) await addMember(server, project.id, users.get(role)!.id, LEVEL[role]);
    for (const kind of TAG_KINDS) await sharedRelease(project.id, kind);
    for (const [name, level] of [['v*', 40], ['locked-*', 0]] as const) {
      const res = await asRoot('POST', `/api/v4/projects/${project.id}/protected_tags`, { name, create_access_level: level });
      assert.equal(res.status, 201, res.text);
    }
  }
});
after(async () => server.close());

// Cells are independent (each prepares its own rows), so they run several at a time.
describe('permission matrix', { concurrency: VISIBILITIES.length }, () => {
  for (const visibility of VISIBILITIES) {
    describe(`${visibility} project`, { concurrency: 4 }, () => {
      for (const role of ROLES) {
        for (const endpoint of ENDPOINTS) {
          for (const kind of endpoint.tagged ? TAG_KINDS : (['open'] as const)) {
            const visible = sees(role, visibility);
            const ok = visible && allowed(role, visibility, endpoint.need, kind);
            const status = !visible ? 404 : ok ? endpoint.success : 403;
            const where = endpoint.tagged ? ` on a${kind === 'open' ? 'n unprotected' : ` ${kind}-protected`} tag` : '';
            test(`${role}: ${endpoint.name}${where} → ${status}`, async () => {
              const project = projects.get(visibility)!;
              const call = await endpoint.prepare(project.id, kind);
              const res = await server.request(call.method, call.path, { token: tokens.get(role), json: call.json });
              assert.equal(res.status, status, `${call.method} ${call.path}: ${res.text}`);
              if (!visible) assert.equal(res.text, JSON.stringify(PROJECT_NOT_FOUND));
              else if (!ok) assert.equal(res.text, JSON.stringify(FORBIDDEN));
              await call.after(ok, res);
            });
          }
        }
      }
    });
  }
});

describe('a project that cannot be seen is 404 Project Not Found on every route', () => {
  for (const [label, ref] of [
    ['an unknown id', '987654'],
    ['an unknown path', enc('nobody/nothing')],
    ['an id too big for the database', '99999999999999999'],
  ] as const) {
    test(`${label}, even for an admin`, async () => {
      const calls: [string, string, unknown?][] = [
        ['GET', `/api/v4/projects/${ref}`],
        ['DELETE', `/api/v4/projects/${ref}`],
        ['GET', `/api/v4/projects/${ref}/releases`],
        ['POST', `/api/v4/projects/${ref}/releases`, { tag_name: 'v1', ref: 'main' }],
        ['GET', `/api/v4/projects/${ref}/releases/v1`],
        ['PUT', `/api/v4/projects/${ref}/releases/v1`, { name: 'x' }],
        ['DELETE', `/api/v4/projects/${ref}/releases/v1`],
        ['GET', `/api/v4/projects/${ref}/releases/v1/assets/links`],
        ['POST', `/api/v4/projects/${ref}/releases/v1/assets/links`, { name: 'a', url: 'https://example.com' }],
        ['GET', `/api/v4/projects/${ref}/releases/v1/assets/links/1`],
        ['PUT', `/api/v4/projects/${ref}/releases/v1/assets/links/1`, { name: 'a' }],
        ['DELETE', `/api/v4/projects/${ref}/releases/v1/assets/links/1`],
        ['GET', `/api/v4/projects/${ref}/repository/tags`],
        ['POST', `/api/v4/projects/${ref}/repository/tags`, { tag_name: 'v1', ref: 'main' }],
        ['GET', `/api/v4/projects/${ref}/protected_tags`],
        ['POST', `/api/v4/projects/${ref}/protected_tags`, { name: 'v*' }],
        ['DELETE', `/api/v4/projects/${ref}/protected_tags/v1`],
        ['POST', `/api/v4/projects/${ref}/members`, { user_id: 1, access_level: 30 }],
        ['GET', `/api/v4/projects/${ref}/members/all/1`],
      ];
      for (const [method, path, json] of calls) {
        const res = await server.request(method, path, { token: ROOT_TOKEN, json });
        assert.equal(res.status, 404, `${method} ${path}: ${res.text}`);
        assert.equal(res.text, JSON.stringify(PROJECT_NOT_FOUND), `${method} ${path}`);
      }
    });
  }

  test('a private project is 404 on every route for a signed-in stranger and for anonymous', async () => {
    const { id, path } = projects.get('private')!;
    for (const token of [tokens.get('non-member'), undefined]) {
      for (const ref of [String(id), enc(path), enc(path.toUpperCase())]) {
        for (const [method, route] of [
          ['GET', ''],
          ['DELETE', ''],
          ['GET', '/releases'],
          ['GET', '/releases/rel-shared'],
          ['GET', '/repository/tags'],
          ['GET', '/protected_tags'],
          ['GET', '/members/all/1'],
          ['POST', '/members'],
        ] as const) {
          const res = await server.request(method, `/api/v4/projects/${ref}${route}`, { token, json: method === 'POST' ? { user_id: 1, access_level: 10 } : undefined });
          assert.equal(res.status, 404, `${method} ${route} as ${token ? 'stranger' : 'anonymous'}: ${res.text}`);
          assert.equal(res.text, JSON.stringify(PROJECT_NOT_FOUND));
        }
      }
    }
  });
});

describe('inherited group membership', () => {
  test('the owner of a parent group sees and changes a project of a nested subgroup; a stranger does not', async () => {
    const groupOwner = await createUser(server);
    const stranger = await createUser(server);
    const parent = await createGroup(server, `parent-${++counter}`, { token: groupOwner.token });
    const sub = await createGroup(server, 'sub', { parentId: parent.id });
    const project = await createProject(server, 'nested', { namespaceId: sub.id });
    assert.equal(project.path_with_namespace, `${parent.full_path}/sub/nested`);
    await createRelease(server, project.id, 'v1.0');
    const links = `/api/v4/projects/${enc(project.path_with_namespace)}/releases/v1.0/assets/links`;

    const shown = await server.request('GET', `/api/v4/projects/${project.id}`, { token: groupOwner.token });
    assert.equal(shown.status, 200, shown.text);
    // As GitLab: an inherited role shows as group_access, project_access is the user's own membership.
    assert.deepEqual(shown.body.permissions, { project_access: null, group_access: { access_level: 50, notification_level: 3 } });
    const member = await server.request('GET', `/api/v4/projects/${project.id}/members/all/${groupOwner.id}`, { token: groupOwner.token });
    assert.equal(member.status, 200, member.text);
    assert.equal(member.body.access_level, 50);
    const created = await server.request('POST', links, { token: groupOwner.token, json: { name: 'inherited', url: 'https://example.com/i' } });
    assert.equal(created.status, 201, created.text);

    const refused = await server.request('GET', links, { token: stranger.token });
    assert.equal(refused.status, 404);
    assert.equal(refused.text, JSON.stringify(PROJECT_NOT_FOUND));
  });

  test('a developer of a parent group may write, a reporter of it may only read, on a grandchild project', async () => {
    const developer = await createUser(server);
    const reporter = await createUser(server);
    const top = await createGroup(server, `top-${++counter}`);
    const mid = await createGroup(server, 'mid', { parentId: top.id });
    const low = await createGroup(server, 'low', { parentId: mid.id });
    const project = await createProject(server, 'deep', { namespaceId: low.id });
    // Group membership has no API here: written as GitLab stores it, a row on the top group.
    const at = new Date().toISOString();
    for (const [user, level] of [[developer, 30], [reporter, 20]] as const) {
      await server.running.store.write((trx) =>
        trx.insertInto('members').values({ source_type: 'Namespace', source_id: top.id, user_id: user.id, access_level: level, expires_at: null, created_at: at }).execute(),
      );
    }
    await createRelease(server, project.id, 'v2.0');
    const links = `/api/v4/projects/${project.id}/releases/v2.0/assets/links`;
    const byDev = await server.request('POST', links, { token: developer.token, json: { name: 'dev', url: 'https://example.com/dev' } });
    assert.equal(byDev.status, 201, byDev.text);
    const byReporter = await server.request('POST', links, { token: reporter.token, json: { name: 'rep', url: 'https://example.com/rep' } });
    assert.equal(byReporter.status, 403, byReporter.text);
    const read = await server.request('GET', links, { token: reporter.token });
    assert.equal(read.status, 200);
    assert.deepEqual(read.body.map((l: { name: string }) => l.name), ['dev']);
    const level = await server.request('GET', `/api/v4/projects/${project.id}/members/all/${reporter.id}`, { token: reporter.token });
    assert.equal(level.body.access_level, 20);
  });

  test('the stronger of a project role and an inherited group role counts', async () => {
    const user = await createUser(server);
    const group = await createGroup(server, `strong-${++counter}`);
    const project = await createProject(server, 'p', { namespaceId: group.id });
    await addMember(server, project.id, user.id, 20);
    const at = new Date().toISOString();
    await server.running.store.write((trx) =>
      trx.insertInto('members').values({ source_type: 'Namespace', source_id: group.id, user_id: user.id, access_level: 40, expires_at: null, created_at: at }).execute(),
    );
    const shown = await server.request('GET', `/api/v4/projects/${project.id}`, { token: user.token });
    assert.equal(shown.body.permissions.project_access.access_level, 20);
    assert.equal(shown.body.permissions.group_access.access_level, 40);
    const member = await server.request('GET', `/api/v4/projects/${project.id}/members/all/${user.id}`, { token: user.token });
    assert.equal(member.body.access_level, 40);
    const res = await server.request('POST', `/api/v4/projects/${project.id}/protected_tags`, { token: user.token, json: { name: 'x*' } });
    assert.equal(res.status, 201, res.text);
  });
});

/** A raw request whose header names go out exactly as written (fetch would lower-case them). */
function rawRequest(method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; text: string; type: string | undefined }> {
  return new Promise((resolve, reject) => {
    const url = new URL(server.url + path);
    const req = http.request({ method, host: url.hostname, port: url.port, path: url.pathname + url.search, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, type: res.headers['content-type'] }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

describe('§4 authentication', () => {
  let user: TestUser;
  let readOnly: TestUser;
  let projectId: number;
  let links: string;
  const UNAUTHORIZED = JSON.stringify({ message: '401 Unauthorized' });
  const INSUFFICIENT = JSON.stringify({
    error: 'insufficient_scope',
    error_description: 'The request requires higher privileges than provided by the access token.',
    scope: 'api',
  });

  before(async () => {
    user = await createUser(server);
    readOnly = await createUser(server, { scopes: ['read_api'] });
    projectId = (await createProject(server, `auth-${++counter}`)).id;
    await addMember(server, projectId, user.id, 30);
    await addMember(server, projectId, readOnly.id, 40);
    await createRelease(server, projectId, 'v1');
    links = `/api/v4/projects/${projectId}/releases/v1/assets/links`;
  });

  const name = () => `t-${++counter}`;

  test('PRIVATE-TOKEN header, any case of its name', async () => {
    for (const header of ['PRIVATE-TOKEN', 'Private-Token', 'private-token', 'pRiVaTe-ToKeN']) {
      const read = await rawRequest('GET', links, { [header]: user.token });
      assert.equal(read.status, 200, `${header}: ${read.text}`);
      const n = name();
      const write = await rawRequest('POST', links, { [header]: user.token, 'Content-Type': 'application/json' }, JSON.stringify({ name: n, url: `https://example.com/${n}` }));
      assert.equal(write.status, 201, `${header}: ${write.text}`);
      assert.equal(write.type, 'application/json');
    }
  });

  test('Authorization: Bearer, any case of the header name and of the scheme', async () => {
    for (const [header, scheme] of [['Authorization', 'Bearer'], ['authorization', 'bearer'], ['AUTHORIZATION', 'BEARER']]) {
      const n = name();
      const res = await rawRequest('POST', links, { [header]: `${scheme} ${user.token}`, 'content-type': 'application/json' }, JSON.stringify({ name: n, url: `https://example.com/${n}` }));
      assert.equal(res.status, 201, `${header}: ${scheme}: ${res.text}`);
    }
  });

  test('private_token parameter: query string, form body and JSON body', async () => {
    const read = await server.request('GET', `${links}?private_token=${enc(user.token)}`);
    assert.equal(read.status, 200, read.text);
    let n = name();
    const query = await server.request('POST', `${links}?private_token=${enc(user.token)}`, { json: { name: n, url: `https://example.com/${n}` } });
    assert.equal(query.status, 201, query.text);
    n = name();
    const form = await server.request('POST', links, { form: { private_token: user.token, name: n, url: `https://example.com/${n}` } });
    assert.equal(form.status, 201, form.text);
    n = name();
    const json = await server.request('POST', links, { json: { private_token: user.token, name: n, url: `https://example.com/${n}` } });
    assert.equal(json.status, 201, json.text);
    // The token parameter is not mistaken for a link field, and acts as that user.
    const owner = await server.request('GET', `/api/v4/user?private_token=${enc(user.token)}`);
    assert.equal(owner.body.id, user.id);
  });

  test('unknown, revoked and expired tokens are 401 {"message":"401 Unauthorized"} on reads and writes, by every way of sending', async () => {
    const revoked = await createUser(server);
    const expired = await createUser(server);
    const expiresToday = await createUser(server);
    const db = server.running.store.db;
    const today = new Date().toISOString().slice(0, 10);
    await server.running.store.write((trx) => trx.updateTable('personal_access_tokens').set({ revoked: 1 }).where('user_id', '=', revoked.id).execute());
    await server.running.store.write((trx) => trx.updateTable('personal_access_tokens').set({ expires_at: '2020-01-01' }).where('user_id', '=', expired.id).execute());
    await server.running.store.write((trx) => trx.updateTable('personal_access_tokens').set({ expires_at: today }).where('user_id', '=', expiresToday.id).execute());
    assert.equal((await db.selectFrom('personal_access_tokens').select('revoked').where('user_id', '=', revoked.id).executeTakeFirstOrThrow()).revoked, 1);
    for (const token of ['no-such-token', revoked.token, expired.token, expiresToday.token, '']) {
      const sends: Promise<Response>[] = [
        server.request('GET', links, { headers: { 'private-token': token } }),
        server.request('GET', `${links}?private_token=${enc(token)}`),
        server.request('GET', links, { headers: { authorization: `Bearer ${token}` } }),
        server.request('POST', links, { headers: { 'private-token': token }, json: { name: 'x', url: 'https://example.com/x' } }),
        server.request('GET', '/api/v4/user', { headers: { 'private-token': token } }),
        // Even on a public resource, a bad token is not anonymous.
        server.request('GET', `/api/v4/projects/${projects.get('public')!.id}/releases`, { headers: { 'private-token': token } }),
      ];
      for (const res of await Promise.all(sends)) {
        assert.equal(res.status, 401, `token ${JSON.stringify(token)}: ${res.text}`);
        assert.equal(res.text, UNAUTHORIZED);
        assert.equal(res.headers.get('content-type'), 'application/json');
      }
    }
  });

  test('a token that expires tomorrow still works', async () => {
    const soon = await createUser(server);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    await server.running.store.write((trx) => trx.updateTable('personal_access_tokens').set({ expires_at: tomorrow }).where('user_id', '=', soon.id).execute());
    const res = await server.request('GET', '/api/v4/user', { token: soon.token });
    assert.equal(res.status, 200, res.text);
  });

  test('read_api: reads work, every write is 403 insufficient_scope', async () => {
    const read = await server.request('GET', links, { token: readOnly.token });
    assert.equal(read.status, 200, read.text);
    assert.equal((await server.request('GET', `/api/v4/projects/${projectId}/releases`, { token: readOnly.token })).status, 200);
    const link = (await server.request('POST', links, { token: ROOT_TOKEN, json: { name: name(), url: `https://example.com/${name()}` } })).body;
    const writes: [string, string, unknown?][] = [
      ['POST', links, { name: 'r', url: 'https://example.com/r' }],
      ['PUT', `${links}/${link.id}`, { name: 'r' }],
      ['DELETE', `${links}/${link.id}`],
      ['POST', `/api/v4/projects/${projectId}/releases`, { tag_name: 'ro', ref: 'main' }],
      ['PUT', `/api/v4/projects/${projectId}/releases/v1`, { name: 'ro' }],
      ['DELETE', `/api/v4/projects/${projectId}/releases/v1`],
      ['POST', `/api/v4/projects/${projectId}/repository/tags`, { tag_name: 'ro', ref: 'main' }],
      ['POST', `/api/v4/projects/${projectId}/protected_tags`, { name: 'ro*' }],
      // Even where the project does not exist: the scope is judged first.
      ['POST', '/api/v4/projects/987654/releases/v1/assets/links', { name: 'r', url: 'https://example.com/r' }],
    ];
    for (const [method, path, json] of writes) {
      const res = await server.request(method, path, { token: readOnly.token, json });
      assert.equal(res.status, 403, `${method} ${path}: ${res.text}`);
      assert.equal(res.text, INSUFFICIENT);
      assert.equal(res.headers.get('content-type'), 'application/json');
    }
    // Nothing changed.
    assert.equal((await server.request('GET', `${links}/${link.id}`, { token: ROOT_TOKEN })).body.name, link.name);
    assert.equal((await server.request('GET', `/api/v4/projects/${projectId}/releases/v1`, { token: ROOT_TOKEN })).status, 200);
  });

  test('read_user and read_repository tokens: no project reads (403 naming the scopes that would do), read_user still reads /user', async () => {
    const userOnly = await createUser(server, { scopes: ['read_user'] });
    const repoOnly = await createUser(server, { scopes: ['read_repository', 'write_repository'] });
    for (const u of [userOnly, repoOnly]) await addMember(server, projectId, u.id, 40);
    const link = (await server.request('POST', links, { token: ROOT_TOKEN, json: { name: name(), url: `https://example.com/${name()}`, filepath: `/f-${counter}` } })).body;
    const scoped = (scope: string) => JSON.stringify({ ...JSON.parse(INSUFFICIENT), scope });
    for (const u of [userOnly, repoOnly]) {
      for (const path of [links, `${links}/${link.id}`, `/api/v4/projects/${projectId}`, `/api/v4/projects/${projectId}/releases`, `/api/v4/projects/${projectId}/releases/v1/downloads${link.direct_asset_url.split('/downloads')[1]}`]) {
        const res = await server.request('GET', path, { token: u.token });
        assert.equal(res.status, 403, `${path}: ${res.text}`);
        assert.equal(res.text, scoped('api read_api'));
      }
      const write = await server.request('POST', links, { token: u.token, json: { name: 'x', url: 'https://example.com/x' } });
      assert.equal(write.text, INSUFFICIENT, 'a write names only api');
      const web = await server.request('GET', new URL(link.direct_asset_url).pathname, { token: u.token });
      assert.equal(web.status, 403, 'nor through the web download route');
    }
    const me = await server.request('GET', '/api/v4/user', { token: userOnly.token });
    assert.equal(me.status, 200, me.text);
    assert.equal(me.body.id, userOnly.id);
    assert.equal((await server.request('GET', `/api/v4/users/${userOnly.id}`, { token: userOnly.token })).status, 200);
    const notMe = await server.request('GET', '/api/v4/user', { token: repoOnly.token });
    assert.equal(notMe.status, 403);
    assert.equal(notMe.text, scoped('api read_api read_user'));
  });

  test('no token at all is anonymous: public reads work, writes are 403, private is 404', async () => {
    const pub = projects.get('public')!;
    const pubLinks = `/api/v4/projects/${pub.id}/releases/rel-shared/assets/links`;
    assert.equal((await server.request('GET', pubLinks)).status, 200);
    const write = await server.request('POST', pubLinks, { json: { name: 'anon', url: 'https://example.com/anon' } });
    assert.equal(write.status, 403);
    assert.equal(write.text, JSON.stringify(FORBIDDEN));
    const priv = await server.request('GET', links);
    assert.equal(priv.status, 404);
    assert.equal(priv.text, JSON.stringify(PROJECT_NOT_FOUND));
  });

  test('tokens are stored only as SHA-256 digests', async () => {
    const rows = await server.running.store.db.selectFrom('personal_access_tokens').select('token_digest').where('user_id', '=', user.id).execute();
    assert.equal(rows.length, 1);
    assert.notEqual(rows[0].token_digest, user.token);
    const { createHash } = await import('node:crypto');
    assert.equal(rows[0].token_digest, createHash('sha256').update(user.token).digest('hex'));
  });
});
