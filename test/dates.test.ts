import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isDay, parseTime } from '../src/services/calendar.js';
import { startTestServer, ROOT_TOKEN, type TestServer } from './helpers/server.js';
import { createProject } from './helpers/fixtures.js';

// Every date parameter of releases and milestones: a day the calendar lacks (2024-02-30), a time
// out of range or garbage is GitLab's 400 "<name> is invalid", never a 500 and never another date
// (JavaScript's Date would roll 2024-02-30 over to March 1); a time without a zone is UTC.

describe('reading dates and times', () => {
  test('real days and times only', () => {
    assert.equal(parseTime('2024-02-29'), '2024-02-29T00:00:00.000Z');
    assert.equal(parseTime('2024-02-29T10:11:12Z'), '2024-02-29T10:11:12.000Z');
    assert.equal(parseTime('2024-02-29T10:11:12.123456+05:30'), '2024-02-29T04:41:12.123Z');
    assert.equal(parseTime('2024-02-29 10:11:12 -0100'), '2024-02-29T11:11:12.000Z');
    assert.equal(parseTime('2024-02-29T10:11'), '2024-02-29T10:11:00.000Z', 'no zone: UTC, whatever the server\'s zone');
    assert.equal(parseTime('2024-12-31T24:00:00Z'), '2025-01-01T00:00:00.000Z');
    for (const bad of ['2024-02-30', '2023-02-29', '2100-02-29', '2024-04-31', '2024-13-01', '2024-00-10', '2024-01-00', '2024-01-01T25:00:00Z',
      '2024-01-01T24:00:01Z', '2024-01-01T10:60:00Z', '2024-01-01T10:00:60Z', '2024-01-01T10:00:00+24:00', '2024-1-1', '1', 'yesterday',
      '2024-01-01Z', '0000-01-01T00:00:00+01:00', '']) {
      assert.equal(parseTime(bad), null, bad);
    }
    assert.equal(isDay('2000-02-29'), true);
    for (const bad of ['1900-02-29', '2024-06-31', '2024-02-29T00:00:00Z', '24-01-01']) assert.equal(isDay(bad), false, bad);
  });
});

let server: TestServer;
let project: { id: number };
const R = () => `/api/v4/projects/${project.id}/releases`;
const M = () => `/api/v4/projects/${project.id}/milestones`;
const root = (method: string, path: string, json?: unknown) => server.request(method, path, { token: ROOT_TOKEN, json });
const form = (method: string, path: string, fields: Record<string, string>) =>
  fetch(server.url + path, { method, headers: { 'private-token': ROOT_TOKEN, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() })
    .then(async (res) => ({ status: res.status, text: await res.text() }));
const IMPOSSIBLE = ['2024-02-30', '2023-02-29T12:00:00Z', '2024-04-31T00:00:00+02:00', '2024-01-01T24:30:00Z', 'garbage', '1', 'next friday', '2024-01-01T10:00:00+25:00'];

before(async () => {
  server = await startTestServer();
  project = await createProject(server, 'dates');
});
after(async () => server.close());

describe('releases', () => {
  test('create: an impossible released_at is 400 and creates nothing (no release, no tag), JSON or form', async () => {
    for (const [i, value] of [...IMPOSSIBLE, 20240101].entries()) {
      const res = await root('POST', R(), { tag_name: `bad${i}`, ref: 'main', released_at: value });
      assert.equal(res.status, 400, String(value));
      assert.equal(res.text, '{"error":"released_at is invalid"}');
    }
    const viaForm = await form('POST', R(), { tag_name: 'badform', ref: 'main', released_at: '2024-02-30' });
    assert.equal(viaForm.text, '{"error":"released_at is invalid"}');
    const db = server.running.store.db;
    assert.deepEqual(await db.selectFrom('releases').select('id').where('project_id', '=', project.id).execute(), []);
    assert.deepEqual(await db.selectFrom('tags').select('id').where('project_id', '=', project.id).execute(), []);
  });

  test('create: real times in any ISO 8601 form are stored as UTC; an empty one is now, as GitLab\'s nil', async () => {
    const leap = await root('POST', R(), { tag_name: 'leap', ref: 'main', released_at: '2024-02-29T23:30:00-01:00' });
    assert.equal(leap.status, 201, leap.text);
    assert.equal(leap.body.released_at, '2024-03-01T00:30:00.000Z');
    const local = await root('POST', R(), { tag_name: 'nozone', ref: 'main', released_at: '2024-05-06T07:08:09' });
    assert.equal(local.body.released_at, '2024-05-06T07:08:09.000Z');
    const before = Date.now();
    const empty = await form('POST', R(), { tag_name: 'empty', ref: 'main', released_at: '' });
    assert.equal(empty.status, 201, empty.text);
    assert.ok(Date.parse(JSON.parse(empty.text).released_at) >= before - 1000);
  });

  test('update: an impossible released_at is 400 and changes nothing; an empty one keeps it', async () => {
    const row = () => server.running.store.db.selectFrom('releases').selectAll().where('project_id', '=', project.id).where('tag_name', '=', 'leap').executeTakeFirstOrThrow();
    const was = await row();
    for (const value of IMPOSSIBLE) {
      const res = await root('PUT', `${R()}/leap`, { name: 'changed', released_at: value });
      assert.equal(res.status, 400, value);
      assert.equal(res.text, '{"error":"released_at is invalid"}');
    }
    assert.deepEqual(await row(), was);
    const kept = await form('PUT', `${R()}/leap`, { released_at: '', description: 'same time' });
    assert.equal(kept.status, 200, kept.text);
    assert.equal(JSON.parse(kept.text).released_at, '2024-03-01T00:30:00.000Z');
    const moved = await root('PUT', `${R()}/leap`, { released_at: '2024-02-29' });
    assert.equal(moved.body.released_at, '2024-02-29T00:00:00.000Z');
  });

  test('list: updated_before and updated_after refuse impossible times; empty ones filter nothing', async () => {
    for (const name of ['updated_before', 'updated_after']) {
      for (const value of ['2024-02-30', '2024-02-30T00:00:00Z', 'garbage']) {
        const res = await root('GET', `${R()}?${name}=${encodeURIComponent(value)}`);
        assert.equal(res.status, 400, `${name}=${value}`);
        assert.equal(res.text, `{"error":"${name} is invalid"}`);
      }
      const empty = await root('GET', `${R()}?${name}=`);
      assert.equal(empty.status, 200, empty.text);
      assert.equal(empty.headers.get('x-total'), '3');
    }
    assert.equal((await root('GET', `${R()}?updated_before=2000-02-29`)).headers.get('x-total'), '0');
  });
});

describe('milestones', () => {
  test('create: an impossible due_date or start_date is 400 and creates nothing; a leap day is fine', async () => {
    for (const field of ['due_date', 'start_date']) {
      for (const value of ['2024-02-30', '2023-02-29', '2024-06-31', 'tomorrow', '2024-02-28T00:00:00Z']) {
        const res = await root('POST', M(), { title: `bad-${field}-${value}`, [field]: value });
        assert.equal(res.status, 400, `${field}=${value}`);
        assert.equal(res.text, `{"error":"${field} is invalid"}`);
      }
    }
    assert.deepEqual(await server.running.store.db.selectFrom('milestones').select('id').where('project_id', '=', project.id).execute(), []);
    const leap = await root('POST', M(), { title: 'leap', start_date: '2024-02-28', due_date: '2024-02-29' });
    assert.equal(leap.status, 201, leap.text);
    assert.equal(leap.body.due_date, '2024-02-29');
  });

  test('a due date on the start date is refused, as GitLab\'s Timebox does', async () => {
    const res = await root('POST', M(), { title: 'same-day', start_date: '2024-03-01', due_date: '2024-03-01' });
    assert.equal(res.status, 400);
    assert.equal(res.text, JSON.stringify({ message: 'Failed to create milestone {:due_date=>["must be greater than start date"]}' }));
  });

  test('update: an impossible date is 400 and changes nothing; an empty one clears the date, as GitLab stores no date', async () => {
    const [leap] = (await root('GET', `${M()}?title=leap`)).body;
    const row = () => server.running.store.db.selectFrom('milestones').selectAll().where('id', '=', leap.id).executeTakeFirstOrThrow();
    const was = await row();
    const bad = await root('PUT', `${M()}/${leap.id}`, { title: 'changed', due_date: '2024-02-30' });
    assert.equal(bad.text, '{"error":"due_date is invalid"}');
    assert.deepEqual(await row(), was);
    const cleared = await form('PUT', `${M()}/${leap.id}`, { due_date: '' });
    assert.equal(cleared.status, 200, cleared.text);
    assert.equal(JSON.parse(cleared.text).due_date, null);
    assert.equal(JSON.parse(cleared.text).start_date, '2024-02-28');
    assert.equal((await row()).due_date, null);
    const nulled = await root('PUT', `${M()}/${leap.id}`, { start_date: null });
    assert.equal(nulled.status, 200, nulled.text);
    assert.equal(nulled.body.start_date, null);
  });

  test('list: state=all, and updated_before / updated_after (inclusive, as GitLab\'s UpdatedAtFilterable) checked like the releases\'', async () => {
    const db = server.running.store.db;
    const made = await root('POST', M(), { title: 'closed-one' });
    await root('PUT', `${M()}/${made.body.id}`, { state_event: 'close' });
    await db.updateTable('milestones').set({ updated_at: '2024-01-01T00:00:00.000Z' }).where('title', '=', 'leap').execute();
    await db.updateTable('milestones').set({ updated_at: '2024-06-01T00:00:00.000Z' }).where('title', '=', 'closed-one').execute();
    const titles = async (query: string) => (await root('GET', `${M()}?${query}`)).body.map((m: { title: string }) => m.title);
    assert.deepEqual(await titles('state=all'), ['closed-one', 'leap']);
    assert.deepEqual(await titles('state=active'), ['leap']);
    assert.deepEqual(await titles('updated_before=2024-01-01T00:00:00Z'), ['leap']);
    assert.deepEqual(await titles('updated_after=2024-06-01'), ['closed-one']);
    assert.deepEqual(await titles('updated_after=2023-12-31&updated_before=2024-05-31T23:59:59Z'), ['leap']);
    assert.deepEqual(await titles('updated_before='), ['closed-one', 'leap']);
    const bad = await root('GET', `${M()}?updated_after=2024-02-30`);
    assert.equal(bad.status, 400);
    assert.equal(bad.text, '{"error":"updated_after is invalid"}');
  });
});
