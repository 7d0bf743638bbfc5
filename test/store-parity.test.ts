import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import { isUniqueViolation, violates } from '../src/store/errors.js';
import { insertLink } from '../src/store/links.js';
import { startTestServer, ROOT_TOKEN, type TestServer } from './helpers/server.js';
import { createProject, createRelease } from './helpers/fixtures.js';
import { queryStore } from './helpers/cluster.js';

// What must not depend on the store: run on SQLite and on PostgreSQL alike by `npm test`.

const ISO_MS_Z = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => server.close());

const get = (path: string) => server.request('GET', path, { token: ROOT_TOKEN });

/** Follows X-Next-Page from page 1 and returns every item in order, checking the headers on the way. */
async function walk(path: string, perPage: number): Promise<any[]> {
  const items: any[] = [];
  for (let page = 1; ; page++) {
    const res = await get(`${path}?per_page=${perPage}&page=${page}`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('x-page'), String(page));
    items.push(...res.body);
    const next = res.headers.get('x-next-page');
    if (!next) {
      assert.equal(res.headers.get('x-total'), String(items.length));
      assert.equal(res.headers.get('x-total-pages'), String(Math.max(1, Math.ceil(items.length / perPage))));
      return items;
    }
    assert.equal(next, String(page + 1));
  }
}

test('a unique-index violation is recognised, and which index, on this store', async () => {
  const project = await createProject(server, 'parity-unique');
  await createRelease(server, project.id, 'v1');
  const { db } = server.running.store;
  const release = await db.selectFrom('releases').select('id').where('project_id', '=', project.id).executeTakeFirstOrThrow();
  const at = new Date().toISOString();
  const row = { release_id: release.id, name: 'bin', url: 'https://example.com/bin', filepath: '/bin', link_type: 'other', created_at: at, updated_at: at };
  await insertLink(db, row);

  const clash = async (values: Partial<typeof row>) => {
    try {
      await insertLink(db, { ...row, name: 'other', url: 'https://example.com/other', filepath: '/other', ...values });
    } catch (error) {
      return error;
    }
    assert.fail('the insert should have violated a unique index');
  };
  for (const column of ['name', 'url', 'filepath'] as const) {
    const error = await clash({ [column]: row[column] });
    assert.ok(isUniqueViolation(error), `${column}: ${String(error)}`);
    assert.deepEqual(
      ['name', 'url', 'filepath'].filter((c) => violates(error, 'release_links', c)),
      [column],
    );
  }

  // Through the API, GitLab's 400 body.
  const links = `/api/v4/projects/${project.id}/releases/v1/assets/links`;
  const dup = await server.request('POST', links, { token: ROOT_TOKEN, json: { name: 'bin', url: 'https://example.com/elsewhere' } });
  assert.equal(dup.status, 400);
  assert.deepEqual(dup.body, { message: { name: ['has already been taken'] } });
  const dupGroup = await server.request('POST', '/api/v4/groups', { token: ROOT_TOKEN, json: { name: 'g', path: 'parity-group' } });
  assert.equal(dupGroup.status, 201, dupGroup.text);
  const again = await server.request('POST', '/api/v4/groups', { token: ROOT_TOKEN, json: { name: 'g2', path: 'PARITY-group' } });
  assert.equal(again.status, 400, again.text);
});

test('equal sort keys are ordered by id, newest first, and pages split the same list', async () => {
  const project = await createProject(server, 'parity-order');
  // Five releases with one released_at: only the id tells them apart.
  const tags = ['a', 'b', 'c', 'd', 'e'];
  for (const tag of tags) {
    const res = await server.request('POST', `/api/v4/projects/${project.id}/releases`, {
      token: ROOT_TOKEN,
      json: { tag_name: tag, ref: 'main', released_at: '2024-05-01T12:00:00Z' },
    });
    assert.equal(res.status, 201, res.text);
  }
  const releases = await walk(`/api/v4/projects/${project.id}/releases`, 2);
  assert.deepEqual(releases.map((r) => r.tag_name), [...tags].reverse());

  // Links created in the same millisecond: written directly, since the API stamps each with now.
  const { db } = server.running.store;
  const release = await db.selectFrom('releases').select('id').where('project_id', '=', project.id).where('tag_name', '=', 'c').executeTakeFirstOrThrow();
  const at = '2024-05-01T12:00:00.000Z';
  const later = '2024-05-01T12:00:00.001Z';
  const ids: number[] = [];
  for (let i = 0; i < 7; i++) {
    const link = await insertLink(db, { release_id: release.id, name: `l${i}`, url: `https://example.com/${i}`, filepath: null, link_type: 'other', created_at: i === 3 ? later : at, updated_at: at });
    ids.push(link.id);
  }
  const expected = [ids[3], ...ids.filter((_, i) => i !== 3).reverse()];
  const links = await walk(`/api/v4/projects/${project.id}/releases/c/assets/links`, 3);
  assert.deepEqual(links.map((l) => l.id), expected);
  const one = await get(`/api/v4/projects/${project.id}/releases/c`);
  assert.deepEqual(one.body.assets.links.map((l: { id: number }) => l.id), expected);
});

test('project paths are found case-insensitively through a unique index', async () => {
  const project = await createProject(server, 'Parity-Path');
  for (const ref of ['root/Parity-Path', 'ROOT/PARITY-PATH', 'root/parity-path']) {
    const res = await get(`/api/v4/projects/${encodeURIComponent(ref)}`);
    assert.equal(res.status, 200, `${ref}: ${res.text}`);
    assert.equal(res.body.id, project.id);
    assert.equal(res.body.path_with_namespace, 'root/Parity-Path');
  }
  const taken = await server.request('POST', '/api/v4/projects', { token: ROOT_TOKEN, json: { name: 'x', path: 'PARITY-path' } });
  assert.equal(taken.status, 400, taken.text);

  // The lookup's plan uses the index (PostgreSQL: with sequential scans ruled out, as it would
  // rightly prefer one on a table this small).
  const { db, dialect } = server.running.store;
  const plan =
    dialect === 'sqlite'
      ? (await sql<{ detail: string }>`explain query plan select id from projects where full_path_key = ${'root/parity-path'}`.execute(db)).rows.map((r) => r.detail).join('\n')
      : await db.transaction().execute(async (trx) => {
          await sql`set local enable_seqscan = off`.execute(trx);
          const rows = (await sql<{ 'QUERY PLAN': string }>`explain select id from projects where full_path_key = ${'root/parity-path'}`.execute(trx)).rows;
          return rows.map((r) => r['QUERY PLAN']).join('\n');
        });
  assert.match(plan, dialect === 'sqlite' ? /SEARCH projects USING (COVERING )?INDEX/ : /Index (Only )?Scan using projects_full_path_key_key/, plan);
});

test('timestamps are ISO 8601 with milliseconds and Z, in the API and in the database', async () => {
  const project = await createProject(server, 'parity-time');
  const release = await server.request('POST', `/api/v4/projects/${project.id}/releases`, {
    token: ROOT_TOKEN,
    json: { tag_name: 'v1', ref: 'main', released_at: '2024-01-02T03:04:05+02:00', assets: { links: [{ name: 'a', url: 'https://example.com/a' }] } },
  });
  assert.equal(release.status, 201, release.text);
  assert.equal(release.body.released_at, '2024-01-02T01:04:05.000Z');
  assert.match(release.body.created_at, ISO_MS_Z);
  const shown = await get(`/api/v4/projects/${project.id}`);
  assert.match(shown.body.created_at, ISO_MS_Z);

  const stored = await queryStore<Record<string, string | null>>(
    server.store,
    `select r.created_at as r_created, r.updated_at as r_updated, r.released_at as r_released, l.created_at as l_created, l.updated_at as l_updated, p.created_at as p_created
       from releases r join release_links l on l.release_id = r.id join projects p on p.id = r.project_id where p.id = ${Number(project.id)}`,
  );
  assert.equal(stored.length, 1);
  for (const [column, value] of Object.entries(stored[0])) assert.match(String(value), ISO_MS_Z, column);
  assert.equal(stored[0].r_released, '2024-01-02T01:04:05.000Z');
});
