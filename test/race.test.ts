import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { ROOT_TOKEN } from './helpers/server.js';
import { createTestStore, type TestStore } from './helpers/store.js';
import { inBatches, queryStore, startInstances, stopAll, type Instance } from './helpers/cluster.js';

// Two server processes on one database, 1,000 creates of a link with the same name on one release
// split across them: the unique index decides, so exactly one wins and nobody sees a 5xx.

const CREATES = 1000;
const IN_FLIGHT = 64;

const instances: Instance[] = [];
let store: TestStore | undefined;
after(async () => {
  await stopAll(instances);
  await store?.drop();
});

test(`${CREATES} concurrent creates of one link name across two processes: one 201, the rest 400`, { timeout: 120_000 }, async () => {
  store = await createTestStore();
  const [a, b] = await startInstances(2, { databaseUrl: store.databaseUrl }, instances);

  const project = await a.request('POST', '/api/v4/projects', { token: ROOT_TOKEN, json: { name: 'race', path: 'race' } });
  assert.equal(project.status, 201, project.text);
  const release = await b.request('POST', `/api/v4/projects/${project.body.id}/releases`, { token: ROOT_TOKEN, json: { tag_name: 'v1.0', ref: 'main' } });
  assert.equal(release.status, 201, release.text);
  const linksPath = `/api/v4/projects/${project.body.id}/releases/v1.0/assets/links`;

  // Same name on every request, a distinct url each, so the name is the only thing that clashes.
  const responses = await inBatches(Array.from({ length: CREATES }, (_, i) => i), IN_FLIGHT, (i) =>
    instances[i % 2].request('POST', linksPath, { token: ROOT_TOKEN, json: { name: 'linux-amd64', url: `https://example.com/race/${i}` } }),
  );

  const counts: Record<string, number> = {};
  for (const r of responses) counts[r.status] = (counts[r.status] ?? 0) + 1;
  const byInstance = [0, 1].map((k) => responses.filter((_, i) => i % 2 === k && responses[i].status === 201).length);
  console.log(`race (${store.kind}): ${CREATES} creates over 2 processes → ${JSON.stringify(counts)}; 201 served by instance A: ${byInstance[0]}, B: ${byInstance[1]}`);

  const errors5xx = responses.filter((r) => r.status >= 500);
  assert.deepEqual(errors5xx.map((r) => `${r.status} ${r.text}`), []);
  assert.equal(counts[201], 1);
  assert.equal(counts[400], CREATES - 1);
  for (const r of responses.filter((x) => x.status === 400)) {
    assert.deepEqual(r.body, { message: { name: ['has already been taken'] } });
  }

  const winner = responses.find((r) => r.status === 201)!.body;
  const rows = await queryStore<{ id: number; name: string; url: string }>(store, 'select id, name, url from release_links');
  assert.deepEqual(rows.map((r) => ({ id: Number(r.id), name: r.name, url: r.url })), [{ id: winner.id, name: 'linux-amd64', url: winner.url }]);
  for (const instance of instances) {
    const list = await instance.request('GET', linksPath, { token: ROOT_TOKEN });
    assert.deepEqual(list.body, [winner]);
  }
});
