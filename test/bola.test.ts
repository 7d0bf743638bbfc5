import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RouteEntry } from '../src/http/route-list.js';
import { ROOT_TOKEN, startTestServer, type TestServer } from './helpers/server.js';
import { buildWorld, type World } from './helpers/world.js';
import { rawClient, type RawClient, type RawResponse } from './helpers/raw-http.js';
import { validBodies, type Pools } from './helpers/fuzz.js';

// BOLA sweep: for every registered route and every object of a PRIVATE project (the project by id
// and by path, its releases' tags, link ids, tag and protected tag names, member ids, job tokens,
// allowlist entries), asked by an outsider, by an anonymous client and by a member of another
// project: 404, and byte for byte the answer a non-existent object gets (status, body, header
// names and values; only the Date differs). Nothing tells the private project exists.

let server: TestServer;
let client: RawClient;
let world: World;
let jobTokenId: number | undefined;
/** The private project's other numbered objects: a milestone, a package and its file, an upload. */
const objectIds: Record<string, number> = {};
const enc = encodeURIComponent;

before(async () => {
  server = await startTestServer();
  client = rawClient(server.url);
  world = await buildWorld(server);
  const post = async (path: string, json: unknown) => {
    const res = await server.request('POST', path, { token: ROOT_TOKEN, json });
    assert.equal(res.status, 201, `${path}: ${res.text}`);
    return res.body;
  };
  // Job tokens and the allowlist are objects of the project too, where those routes exist.
  const has = (method: string, url: string) => server.running.app.routeList.some((r) => r.method === method && r.url === url);
  if (has('POST', '/api/v4/projects/:id/ci/job_tokens')) jobTokenId = (await post(`/api/v4/projects/${world.secret.id}/ci/job_tokens`, {})).id;
  const P = `/api/v4/projects/${world.secret.id}`;
  objectIds.milestone_id = (await post(`${P}/milestones`, { title: 'bola' })).id;
  const file = await (await fetch(`${server.url}${P}/packages/generic/bola/1.0.0/f.bin?select=package_file`, { method: 'PUT', headers: { 'private-token': ROOT_TOKEN }, body: 'x' })).json();
  objectIds.package_id = file.package_id;
  objectIds.package_file_id = file.id;
  const form = new FormData();
  form.append('file', new Blob([Buffer.from('x')]), 'bola.txt');
  objectIds.upload_id = (await (await fetch(`${server.url}${P}/uploads`, { method: 'POST', headers: { 'private-token': ROOT_TOKEN }, body: form })).json()).id;
  if (has('POST', '/api/v4/projects/:id/job_token_scope/allowlist')) {
    await post(`/api/v4/projects/${world.secret.id}/job_token_scope/allowlist`, { target_project_id: world.other.id });
  }
});
after(async () => {
  client?.close();
  await server?.close();
});

const FAKE_PATH = 'no-such-group/no-such-project';

/** Real values of the private project's objects per path parameter, each with a fake twin of the same shape. */
function valuesFor(param: string): Array<[real: string, fake: string]> {
  const secret = world.secret;
  switch (param) {
    case 'id':
      return [[String(secret.id), '999999999'], [enc(secret.path), enc(FAKE_PATH)], [enc(secret.path.toUpperCase()), enc(FAKE_PATH.toUpperCase())]];
    case 'tag_name':
      return world.tags.map((t) => [enc(t), enc(`no-such-${t}`)]);
    case 'link_id':
      return world.linkIds.slice(0, 6).map((id) => [String(id), String(900_000_000 + id)]);
    case 'name':
      return [...world.tags, ...world.protectedNames].map((t) => [enc(t), enc(`no-such-${t}`)]);
    case 'user_id':
      return Object.values(world.users).map((u) => [String(u.id), String(900_000_000 + u.id)]);
    case 'token_id':
      return jobTokenId === undefined ? [['1', '900000001']] : [[String(jobTokenId), String(900_000_000 + jobTokenId)]];
    case 'target_project_id':
      return [[String(world.other.id), '999999998']];
    case '*':
      return world.filepaths.map((f) => [f.slice(1), `no-such${f}`]);
    case 'milestone_id':
    case 'package_id':
    case 'package_file_id':
    case 'upload_id':
      return [[String(objectIds[param]), String(900_000_000 + objectIds[param])]];
    // Hooks need a receiver the SSRF guard lets through: a number of the same shape suffices here.
    case 'hook_id':
      return [['1', '900000001']];
    default:
      return [['x', 'x']];
  }
}

/** The web wildcard route takes whole paths: the pages, downloads and permalinks of the private project. */
function webPaths(): Array<[string, string]> {
  const forms = [
    '/-/releases/v1.0/downloads/bin/app', '/-/releases/permalink/latest', '/-/releases/permalink/latest/downloads/bin/app',
    // The web pages of the project, its release and its tag.
    '', '/-/releases', '/-/releases/v1.0', '/-/releases/v1.0/edit', '/-/releases/new', '/-/tags/v1.0',
  ];
  return forms.flatMap((f) => [
    [`/${world.secret.path}${f}`, `/${FAKE_PATH}${f}`],
    [`/${world.secret.path.toUpperCase()}${f}`, `/${FAKE_PATH.toUpperCase()}${f}`],
  ] as Array<[string, string]>);
}

/** Every (real path, fake path) pair of a route: each parameter runs through its values, the others at their first. */
function pathPairs(route: RouteEntry): Array<[string, string]> {
  if (route.url === '/*') return webPaths();
  const parts = route.url.split('/');
  const params = parts.filter((p) => p.startsWith(':') || p === '*').map((p) => (p === '*' ? '*' : p.slice(1)));
  const pairs: Array<[string, string]> = [];
  const build = (choice: Record<string, [string, string]>, side: 0 | 1) =>
    parts.map((p) => (p.startsWith(':') ? choice[p.slice(1)][side] : p === '*' ? choice['*'][side] : p)).join('/');
  for (const param of params) {
    for (const value of valuesFor(param)) {
      const choice: Record<string, [string, string]> = {};
      for (const q of params) choice[q] = q === param ? value : valuesFor(q)[0];
      // The fake twin replaces every identifier, so it names nothing at all.
      const fake: Record<string, [string, string]> = {};
      for (const q of params) fake[q] = [choice[q][1], choice[q][1]];
      pairs.push([build(choice, 0), build(fake, 0)]);
    }
  }
  return pairs;
}

/** Body fields that name objects: a private group or project there must not leak either. */
const BODY_REFS: Record<string, () => Array<[unknown, unknown]>> = {
  namespace_id: () => [[world.group.id, 999999997], [world.group.full_path, 'no-such-group']],
  parent_id: () => [[world.group.id, 999999997]],
  target_project_id: () => [[world.secret.id, 999999996]],
};

const VOLATILE = new Set(['date', 'ratelimit-reset', 'ratelimit-remaining', 'retry-after', 'x-request-id', 'x-runtime']);
function comparable(res: RawResponse) {
  const headers = Object.fromEntries(
    Object.entries(res.headers).map(([k, v]) => [k, VOLATILE.has(k) ? '(volatile)' : v]),
  );
  return { status: res.status, headers, body: res.text };
}

test('private objects are 404 to outsiders, anonymous clients and members of other projects, exactly like missing ones', { timeout: 600_000 }, async (t) => {
  const routes = server.running.app.routeList.filter(
    (r) => r.method !== 'HEAD' && (/^\/api\/v4\/(projects|groups)\/:id/.test(r.url) || r.url === '/*' || ['/api/v4/projects', '/api/v4/groups'].includes(r.url)),
  );
  assert.ok(routes.length >= 25, `routes found: ${routes.length}`);
  const pools: Pools = {
    projectRefs: [String(world.other.id)], throwawayProjects: [], groupRefs: [String(world.group.id)], tags: ['v7.7'],
    linkIds: ['1'], userIds: [String(world.users.outsider.id)], protectedNames: ['p-*'], filepaths: ['/bin/new'], tokens: {},
  };
  const actors: Array<[string, Record<string, string>]> = [
    ['outsider', { 'private-token': world.users.outsider.token }],
    ['anonymous', {}],
    ['member of another project', { 'private-token': world.users.otherMember.token }],
  ];
  const statuses = new Map<string, number>();
  const problems: string[] = [];
  const others = new Set<string>();
  let compared = 0;
  const before = await snapshot();

  for (const route of routes) {
    const [body] = validBodies(route, pools);
    const bodyCases: Array<[unknown, unknown]> = [[body, body]];
    if (body && typeof body === 'object') {
      for (const [field, values] of Object.entries(BODY_REFS)) {
        if (field in ((route.schema?.body as { properties?: object })?.properties ?? {})) {
          for (const [real, fake] of values()) bodyCases.push([{ ...body, [field]: real }, { ...body, [field]: fake }]);
        }
      }
    }
    const pairs = route.url.includes(':') || route.url.includes('*') ? pathPairs(route) : [[route.url, route.url] as [string, string]];
    for (const [realPath, fakePath] of pairs) {
      for (const [realBody, fakeBody] of bodyCases) {
        if (realPath === fakePath && realBody === fakeBody) continue;
        for (const [actor, headers] of actors) {
          const send = (path: string, b: unknown) =>
            client.send({
              method: route.method,
              path,
              headers: b === undefined ? headers : { ...headers, 'content-type': 'application/json' },
              body: b === undefined ? undefined : JSON.stringify(b),
            });
          const real = await send(realPath, realBody);
          const fake = await send(fakePath, fakeBody);
          compared++;
          const key = `${real.status}`;
          statuses.set(key, (statuses.get(key) ?? 0) + 1);
          const where = `${actor}: ${route.method} ${realPath} ${realBody === undefined ? '' : JSON.stringify(realBody).slice(0, 120)}`;
          try {
            assert.deepEqual(comparable(real), comparable(fake));
          } catch {
            problems.push(`${where}\n   real ${real.status} ${real.text.slice(0, 150)}\n   fake ${fake.status} ${fake.text.slice(0, 150)}`);
            continue;
          }
          // 404 for all; a parameter rejected before any lookup (400) or an anonymous client
          // refused before any lookup (401) are the same for every id and tell nothing either.
          const allowed = real.status === 404 || (real.status === 400 && 'error' in (real.json as object)) || (real.status === 401 && actor === 'anonymous');
          if (!allowed) problems.push(`${where}: ${real.status} ${real.text.slice(0, 150)}`);
          if (real.status !== 404) others.add(`${actor}: ${route.method} ${route.url} → ${real.status} ${real.text.slice(0, 80)}`);
        }
      }
    }
  }
  t.diagnostic(`${compared} real/fake pairs compared over ${routes.length} routes; statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
  for (const o of others) t.diagnostic(`not 404 (same for missing objects): ${o}`);
  assert.equal(problems.length, 0, `${problems.length} leaks or wrong statuses:\n${problems.slice(0, 15).join('\n')}`);
  assert.ok((statuses.get('404') ?? 0) > compared * 0.8, 'most answers are 404');
  // And nothing the sweep sent changed the private project.
  assert.deepEqual(await snapshot(), before);
});

/** Everything of the private project, to prove the write attempts changed nothing. */
async function snapshot() {
  const db = server.running.store.db;
  const id = world.secret.id;
  const [releases, links, tags, protectedTags, members, project] = await Promise.all([
    db.selectFrom('releases').selectAll().where('project_id', '=', id).orderBy('id').execute(),
    db.selectFrom('release_links as l').innerJoin('releases as r', 'r.id', 'l.release_id').selectAll('l').where('r.project_id', '=', id).orderBy('l.id').execute(),
    db.selectFrom('tags').selectAll().where('project_id', '=', id).orderBy('id').execute(),
    db.selectFrom('protected_tags').selectAll().where('project_id', '=', id).orderBy('id').execute(),
    db.selectFrom('members').selectAll().where('source_type', '=', 'Project').where('source_id', '=', id).orderBy('id').execute(),
    db.selectFrom('projects').selectAll().where('id', '=', id).execute(),
  ]);
  return { releases, links, tags, protectedTags, members, project };
}
