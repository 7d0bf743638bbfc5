import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import { startTestServer, ROOT_TOKEN, type TestServer } from './helpers/server.js';
import { addMember, createGroup, createProject, createRelease, createUser, type TestUser } from './helpers/fixtures.js';

// The audit log: every release and link create, update and delete leaves exactly one event with
// the values before and after, in the same transaction as the change; maintainers read it at
// GET /projects/:id/audit_events, newest first, paginated.

let server: TestServer;
let dev: TestUser;
let maintainer: TestUser;
let reporter: TestUser;
let outsider: TestUser;
let project: { id: number; path_with_namespace: string };

before(async () => {
  server = await startTestServer();
  [dev, maintainer, reporter, outsider] = await Promise.all([createUser(server), createUser(server), createUser(server), createUser(server)]);
  const group = await createGroup(server, 'audited');
  project = await createProject(server, 'audit', { namespaceId: group.id });
  await addMember(server, project.id, dev.id, 30);
  await addMember(server, project.id, maintainer.id, 40);
  await addMember(server, project.id, reporter.id, 20);
});
after(async () => server.close());

const db = () => server.running.store.db;
const eventsPath = (projectId = project.id) => `/api/v4/projects/${projectId}/audit_events`;
const rowCount = async () => Number((await db().selectFrom('audit_events').select(sql<string>`count(*)`.as('n')).executeTakeFirstOrThrow()).n);

/** The events recorded since `since` rows, oldest first. */
async function eventsAfter(since: number) {
  const res = await server.request('GET', `${eventsPath()}?per_page=100`, { token: maintainer.token });
  assert.equal(res.status, 200, res.text);
  return (res.body as any[]).filter((e) => e.id > since).reverse();
}
const lastId = async () => Number((await db().selectFrom('audit_events').select(sql<number>`coalesce(max(id), 0)`.as('m')).executeTakeFirstOrThrow()).m);

test('link create, update and delete each leave exactly one event with before and after', async () => {
  await createRelease(server, project.id, 'v1.0', [], dev.token);
  const base = `/api/v4/projects/${project.id}/releases/v1.0/assets/links`;
  const start = await lastId();

  const created = await server.request('POST', base, { token: dev.token, json: { name: 'bin', url: 'https://example.com/bin', filepath: '/bin/app' } });
  assert.equal(created.status, 201);
  const updated = await server.request('PUT', `${base}/${created.body.id}`, { token: dev.token, json: { name: 'binary', link_type: 'package' } });
  assert.equal(updated.status, 200);
  const deleted = await server.request('DELETE', `${base}/${created.body.id}`, { token: maintainer.token });
  assert.equal(deleted.status, 200);

  const events = await eventsAfter(start);
  assert.equal(events.length, 3);
  const id = created.body.id;
  const v1 = { id, tag_name: 'v1.0', name: 'bin', url: 'https://example.com/bin', filepath: '/bin/app', link_type: 'other' };
  const v2 = { ...v1, name: 'binary', link_type: 'package' };
  assert.deepEqual(
    events.map((e) => [e.details.event_name, e.author_id, e.details.target_type, e.details.target_id, e.details.before, e.details.after]),
    [
      ['release_link_created', dev.id, 'Releases::Link', id, null, v1],
      ['release_link_updated', dev.id, 'Releases::Link', id, v1, v2],
      ['release_link_deleted', maintainer.id, 'Releases::Link', id, v2, null],
    ],
  );
  const first = events[0];
  assert.deepEqual(Object.keys(first), ['id', 'author_id', 'entity_id', 'entity_type', 'details', 'created_at']);
  assert.equal(first.entity_id, project.id);
  assert.equal(first.entity_type, 'Project');
  assert.equal(first.details.author_name, dev.username);
  assert.equal(first.details.author_username, dev.username);
  assert.equal(first.details.token_kind, 'personal');
  assert.equal(first.details.entity_path, project.path_with_namespace);
  assert.equal(first.details.custom_message, 'Created release link bin');
  assert.match(first.created_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
});

test('release create, update and delete each leave exactly one event, links included', async () => {
  const start = await lastId();
  const path = `/api/v4/projects/${project.id}/releases`;
  const created = await server.request('POST', path, {
    token: dev.token,
    json: { tag_name: 'v2.0', ref: 'main', name: 'Two', description: 'first', released_at: '2024-01-02T03:04:05Z', assets: { links: [{ name: 'pkg', url: 'https://example.com/pkg' }] } },
  });
  assert.equal(created.status, 201, created.text);
  const updated = await server.request('PUT', `${path}/v2.0`, { token: dev.token, json: { description: 'second' } });
  assert.equal(updated.status, 200);
  const deleted = await server.request('DELETE', `${path}/v2.0`, { token: dev.token });
  assert.equal(deleted.status, 200);

  const events = await eventsAfter(start);
  assert.equal(events.length, 3, JSON.stringify(events));
  const releaseId = events[0].details.target_id;
  const linkId = created.body.assets.links[0].id;
  const r1 = {
    id: releaseId,
    tag_name: 'v2.0',
    name: 'Two',
    description: 'first',
    released_at: '2024-01-02T03:04:05.000Z',
    links: [{ id: linkId, name: 'pkg', url: 'https://example.com/pkg', filepath: null, link_type: 'other' }],
  };
  const r2 = { ...r1, description: 'second' };
  assert.deepEqual(
    events.map((e) => [e.details.event_name, e.details.target_type, e.details.target_details, e.details.before, e.details.after]),
    [
      ['release_created', 'Release', 'v2.0', null, r1],
      ['release_updated', 'Release', 'v2.0', r1, r2],
      ['release_deleted', 'Release', 'v2.0', r2, null],
    ],
  );
});

test('failed writes leave no event', async () => {
  await createRelease(server, project.id, 'v3.0', [{ name: 'keep', url: 'https://example.com/keep' }], dev.token);
  const before = await rowCount();
  const base = `/api/v4/projects/${project.id}/releases/v3.0/assets/links`;
  const attempts = [
    server.request('POST', base, { token: dev.token, json: { name: 'keep', url: 'https://example.com/other' } }), // 400 taken
    server.request('POST', base, { token: dev.token, json: { name: 'x', url: 'ftp//bad' } }), // 400 url
    server.request('POST', base, { token: reporter.token, json: { name: 'x', url: 'https://example.com/x' } }), // 403
    server.request('POST', base, { token: outsider.token, json: { name: 'x', url: 'https://example.com/x' } }), // 404
    server.request('PUT', `${base}/999999`, { token: dev.token, json: { name: 'x' } }), // 404
    server.request('DELETE', `${base}/999999`, { token: dev.token }), // 404
    server.request('POST', `/api/v4/projects/${project.id}/releases`, { token: dev.token, json: { tag_name: 'v3.0', ref: 'main' } }), // 409
    server.request('PUT', `/api/v4/projects/${project.id}/releases/v3.0`, { token: dev.token, json: { released_at: 'soon' } }), // 400
    server.request('DELETE', `/api/v4/projects/${project.id}/releases/v3.0`, { token: reporter.token }), // 403
  ];
  const statuses = (await Promise.all(attempts)).map((r) => r.status);
  assert.deepEqual(statuses, [400, 400, 403, 404, 404, 404, 409, 400, 403]);
  assert.equal(await rowCount(), before);
});

/** A trigger that makes inserts into `table` fail for rows whose `column` is 'boom'. */
async function failInsertsOf(table: string, column: string): Promise<() => Promise<void>> {
  const name = `fail_${table}`;
  if (server.store.kind === 'sqlite') {
    await sql.raw(`create trigger ${name} before insert on ${table} when new.${column} = 'boom' begin select raise(abort, 'injected failure'); end`).execute(db());
    return async () => void (await sql.raw(`drop trigger ${name}`).execute(db()));
  }
  await sql.raw(`create function ${name}() returns trigger language plpgsql as $$ begin if new.${column} = 'boom' then raise exception 'injected failure'; end if; return new; end $$`).execute(db());
  await sql.raw(`create trigger ${name} before insert on ${table} for each row execute function ${name}()`).execute(db());
  return async () => {
    await sql.raw(`drop trigger ${name} on ${table}`).execute(db());
    await sql.raw(`drop function ${name}()`).execute(db());
  };
}

test('a change whose event cannot be written is not made: change and event commit together', async () => {
  await createRelease(server, project.id, 'v4.0', [{ name: 'boom', url: 'https://example.com/boom' }], dev.token);
  const base = `/api/v4/projects/${project.id}/releases/v4.0/assets/links`;
  const link = (await server.request('GET', base, { token: dev.token })).body[0];
  // Events of link changes name the link ('boom'); release events the tag.
  const restore = await failInsertsOf('audit_events', 'target_details');
  try {
    const rows = await rowCount();
    const create = await server.request('POST', `/api/v4/projects/${project.id}/releases`, { token: dev.token, json: { tag_name: 'boom', ref: 'main' } });
    assert.equal(create.status, 500);
    const update = await server.request('PUT', `${base}/${link.id}`, { token: dev.token, json: { url: 'https://example.com/changed' } });
    assert.equal(update.status, 500);
    const remove = await server.request('DELETE', `${base}/${link.id}`, { token: dev.token });
    assert.equal(remove.status, 500);
    assert.equal(await rowCount(), rows);
    // Nothing changed: no release or tag "boom", the link as it was.
    const release = await server.request('GET', `/api/v4/projects/${project.id}/releases/boom`, { token: dev.token });
    assert.equal(release.status, 404);
    const tag = await db().selectFrom('tags').select('id').where('project_id', '=', project.id).where('name', '=', 'boom').execute();
    assert.equal(tag.length, 0);
    const still = await server.request('GET', `${base}/${link.id}`, { token: dev.token });
    assert.deepEqual(still.body, link);
  } finally {
    await restore();
  }
});

test('a change that fails in the database leaves no event', async () => {
  await createRelease(server, project.id, 'v5.0', [], dev.token);
  const restore = await failInsertsOf('release_links', 'name');
  try {
    const rows = await rowCount();
    const res = await server.request('POST', `/api/v4/projects/${project.id}/releases/v5.0/assets/links`, { token: dev.token, json: { name: 'boom', url: 'https://example.com/b' } });
    assert.equal(res.status, 500);
    const release = await server.request('POST', `/api/v4/projects/${project.id}/releases`, {
      token: dev.token,
      json: { tag_name: 'v5.1', ref: 'main', assets: { links: [{ name: 'boom', url: 'https://example.com/b' }] } },
    });
    assert.equal(release.status, 500);
    assert.equal(await rowCount(), rows);
  } finally {
    await restore();
  }
});

test('only maintainers and admins read the log; others get 401, 403 or 404 in GitLab\'s order', async () => {
  assert.equal((await server.request('GET', eventsPath(), { token: maintainer.token })).status, 200);
  assert.equal((await server.request('GET', eventsPath(), { token: ROOT_TOKEN })).status, 200);
  const asDev = await server.request('GET', eventsPath(), { token: dev.token });
  assert.equal(asDev.status, 403);
  assert.deepEqual(asDev.body, { message: '403 Forbidden' });
  assert.equal((await server.request('GET', eventsPath(), { token: reporter.token })).status, 403);
  const hidden = await server.request('GET', eventsPath(), { token: outsider.token });
  assert.equal(hidden.status, 404);
  assert.deepEqual(hidden.body, { message: '404 Project Not Found' });
  assert.equal((await server.request('GET', eventsPath(987654), { token: maintainer.token })).status, 404);
  const anonymous = await server.request('GET', eventsPath());
  assert.equal(anonymous.status, 401);
  assert.deepEqual(anonymous.body, { message: '401 Unauthorized' });
  // A public project shows its releases to everyone, but its audit log only to maintainers.
  const open = await createProject(server, 'open-audit', { visibility: 'public' });
  assert.equal((await server.request('GET', eventsPath(open.id), { token: outsider.token })).status, 403);
  // By full path too.
  const byPath = await server.request('GET', `/api/v4/projects/${encodeURIComponent(project.path_with_namespace)}/audit_events`, { token: maintainer.token });
  assert.equal(byPath.status, 200);
});

test('the log is paginated newest first, with the id breaking ties, and one project\'s events only', async () => {
  const own = await createProject(server, 'paged');
  await createRelease(server, own.id, 'p1');
  const base = `/api/v4/projects/${own.id}/releases/p1/assets/links`;
  for (let i = 0; i < 4; i++) {
    const res = await server.request('POST', base, { token: ROOT_TOKEN, json: { name: `l${i}`, url: `https://example.com/${i}` } });
    assert.equal(res.status, 201);
  }
  // Five events (release + four links); make two share a timestamp so only the id orders them.
  const ids = (await db().selectFrom('audit_events').select('id').where('project_id', '=', own.id).orderBy('id').execute()).map((r) => r.id);
  assert.equal(ids.length, 5);
  const same = '2030-01-01T00:00:00.000Z';
  await db().updateTable('audit_events').set({ created_at: same }).where('id', 'in', [ids[1], ids[2]]).execute();

  const page1 = await server.request('GET', `/api/v4/projects/${own.id}/audit_events?per_page=2`, { token: ROOT_TOKEN });
  assert.equal(page1.status, 200);
  assert.deepEqual(page1.body.map((e: any) => e.id), [ids[2], ids[1]]);
  assert.equal(page1.headers.get('x-total'), '5');
  assert.equal(page1.headers.get('x-total-pages'), '3');
  assert.equal(page1.headers.get('x-next-page'), '2');
  assert.match(page1.headers.get('link')!, /<http:\/\/relinks\.test\/api\/v4\/projects\/\d+\/audit_events\?per_page=2&page=2>; rel="next"/);
  const page2 = await server.request('GET', `/api/v4/projects/${own.id}/audit_events?per_page=2&page=2`, { token: ROOT_TOKEN });
  assert.deepEqual(page2.body.map((e: any) => e.id), [ids[4], ids[3]]);
  const page3 = await server.request('GET', `/api/v4/projects/${own.id}/audit_events?per_page=2&page=3`, { token: ROOT_TOKEN });
  assert.deepEqual(page3.body.map((e: any) => e.id), [ids[0]]);
  assert.ok(page1.body.every((e: any) => e.entity_id === own.id));

  const after = await server.request('GET', `/api/v4/projects/${own.id}/audit_events?created_after=2029-12-31T00:00:00Z`, { token: ROOT_TOKEN });
  assert.deepEqual(after.body.map((e: any) => e.id), [ids[2], ids[1]]);
  const bad = await server.request('GET', `/api/v4/projects/${own.id}/audit_events?created_before=yesterday`, { token: ROOT_TOKEN });
  assert.equal(bad.status, 400);
  assert.deepEqual(bad.body, { error: 'created_before is invalid' });
});

test('concurrent updates of one link record a chain: each event\'s before is the previous one\'s after', async () => {
  await createRelease(server, project.id, 'v6.0', [{ name: 'n0', url: 'https://example.com/0' }], dev.token);
  const base = `/api/v4/projects/${project.id}/releases/v6.0/assets/links`;
  const link = (await server.request('GET', base, { token: dev.token })).body[0];
  const start = await lastId();
  const responses = await Promise.all(
    Array.from({ length: 10 }, (_, i) => server.request('PUT', `${base}/${link.id}`, { token: dev.token, json: { name: `n${i + 1}` } })),
  );
  assert.deepEqual(responses.map((r) => r.status), responses.map(() => 200));
  const events = await eventsAfter(start);
  assert.equal(events.length, 10);
  assert.equal(events[0].details.before.name, 'n0');
  for (let i = 1; i < events.length; i++) assert.deepEqual(events[i].details.before, events[i - 1].details.after);
  const final = await server.request('GET', `${base}/${link.id}`, { token: dev.token });
  assert.equal(final.body.name, events[9].details.after.name);
});

test('deleting a project records one project_destroyed event with how many releases and links went, kept after the project is gone', async () => {
  const doomed = await createProject(server, 'audit-doomed');
  await createRelease(server, doomed.id, 'v1', [{ name: 'a', url: 'https://example.com/a' }, { name: 'b', url: 'https://example.com/b' }]);
  await createRelease(server, doomed.id, 'v2', [{ name: 'c', url: 'https://example.com/c' }]);
  await createRelease(server, doomed.id, 'v3');
  const start = await lastId();
  const res = await server.request('DELETE', `/api/v4/projects/${doomed.id}`, { token: ROOT_TOKEN });
  assert.equal(res.status, 202, res.text);
  const rows = await db().selectFrom('audit_events').selectAll().where('id', '>', start).execute();
  assert.equal(rows.length, 1);
  const [event] = rows;
  assert.equal(event.project_id, doomed.id);
  assert.equal(event.event_name, 'project_destroyed');
  assert.equal(event.target_type, 'Project');
  assert.equal(event.target_id, doomed.id);
  assert.equal(event.target_details, doomed.path_with_namespace);
  assert.equal(event.author_username, 'root');
  assert.deepEqual(JSON.parse(event.before_json!), { id: doomed.id, full_path: doomed.path_with_namespace, releases: 3, links: 3 });
  assert.equal(event.after_json, null);
  // The releases and links are gone with the project; the event is not.
  assert.equal((await db().selectFrom('releases').select('id').where('project_id', '=', doomed.id).execute()).length, 0);
});
