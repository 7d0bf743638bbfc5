import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ROOT_TOKEN, startTestServer, type TestServer } from './helpers/server.js';

// A release deleted while one of its links is being deleted or changed in another transaction:
// the release's answer lists its links as they are once that transaction is over, so a link is
// never answered for by two deletes, nor shown with the name an update has just replaced.

let server: TestServer;
let projectId: number;
before(async () => {
  server = await startTestServer();
  const project = await server.request('POST', '/api/v4/projects', { token: ROOT_TOKEN, json: { name: 'race-delete' } });
  assert.equal(project.status, 201, project.text);
  projectId = project.body.id;
});
after(async () => {
  await server?.close();
});

async function releaseWithLinks(tag: string): Promise<number[]> {
  const res = await server.request('POST', `/api/v4/projects/${projectId}/releases`, {
    token: ROOT_TOKEN,
    json: { tag_name: tag, ref: 'main', assets: { links: [{ name: 'one', url: 'https://example.com/one' }, { name: 'two', url: 'https://example.com/two' }] } },
  });
  assert.equal(res.status, 201, res.text);
  return res.body.assets.links.map((l: { id: number }) => l.id).sort((a: number, b: number) => a - b);
}

/** Runs `change` in a transaction of its own and sends the DELETE (of the release, or of its tag) while it is still open. */
async function deleteDuring(tag: string, change: (trx: TestServer['running']['store']['db']) => Promise<unknown>, what: 'releases' | 'repository/tags' = 'releases') {
  let answer: ReturnType<TestServer['request']> | undefined;
  await server.running.store.db.transaction().execute(async (trx) => {
    await change(trx);
    answer = server.request('DELETE', `/api/v4/projects/${projectId}/${what}/${tag}`, { token: ROOT_TOKEN });
    // Long enough for the DELETE to be waiting on this transaction's locks.
    await new Promise((r) => setTimeout(r, 300));
  });
  return answer!;
}

test('a release deleted while one of its links is being deleted answers for the other link alone', async () => {
  const [first, second] = await releaseWithLinks('v1');
  const res = await deleteDuring('v1', (trx) => trx.deleteFrom('release_links').where('id', '=', first).execute());
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.body.assets.links.map((l: { id: number }) => l.id), [second]);
  assert.equal((await server.request('GET', `/api/v4/projects/${projectId}/releases/v1`, { token: ROOT_TOKEN })).status, 404);
  assert.equal((await server.running.store.db.selectFrom('release_links').selectAll().where('id', 'in', [first, second]).execute()).length, 0);
});

test('a release deleted while one of its links is being renamed answers with the new name', async () => {
  const [first] = await releaseWithLinks('v2');
  const res = await deleteDuring('v2', (trx) => trx.updateTable('release_links').set({ name: 'renamed' }).where('id', '=', first).execute());
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.body.assets.links.map((l: { name: string }) => l.name).sort(), ['renamed', 'two']);
});

test('a tag deleted while one of its release\'s links is being deleted: the release_deleted event lists the other link alone', async () => {
  const [first, second] = await releaseWithLinks('v3');
  const res = await deleteDuring('v3', (trx) => trx.deleteFrom('release_links').where('id', '=', first).execute(), 'repository/tags');
  assert.equal(res.status, 204, res.text);
  const events = await server.request('GET', `/api/v4/projects/${projectId}/audit_events?per_page=100`, { token: ROOT_TOKEN });
  assert.equal(events.status, 200, events.text);
  const deleted = events.body.filter((e: any) => e.details.event_name === 'release_deleted' && e.details.target_details === 'v3');
  assert.equal(deleted.length, 1, JSON.stringify(events.body));
  assert.deepEqual(deleted[0].details.before.links.map((l: { id: number }) => l.id), [second]);
});
