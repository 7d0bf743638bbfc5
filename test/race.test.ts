import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ROOT_TOKEN, type Response } from './helpers/server.js';
import { createTestStore, type TestStore } from './helpers/store.js';
import { inBatches, queryStore, startInstances, stopAll, type Instance } from './helpers/cluster.js';

// Two server processes on one database, many concurrent creates of a link with the same name on
// one release, split across them: the unique index decides, so exactly one wins, every loser gets
// the same 400 body a later, unhurried request gets, and nobody sees a 5xx.

const CREATES = 1000;
const SAME_URL_CREATES = 200;
const IN_FLIGHT = 64;

const instances: Instance[] = [];
let store: TestStore | undefined;
let projectId: number;

before(async () => {
  store = await createTestStore();
  const [a, b] = await startInstances(2, { databaseUrl: store.databaseUrl }, instances);
  const project = await a.request('POST', '/api/v4/projects', { token: ROOT_TOKEN, json: { name: 'race', path: 'race' } });
  assert.equal(project.status, 201, project.text);
  projectId = project.body.id;
  for (const tag of ['v1.0', 'v2.0']) {
    const release = await b.request('POST', `/api/v4/projects/${projectId}/releases`, { token: ROOT_TOKEN, json: { tag_name: tag, ref: 'main' } });
    assert.equal(release.status, 201, release.text);
  }
});
after(async () => {
  await stopAll(instances);
  await store?.drop();
});

/** Sends `count` creates, alternately to each instance, `IN_FLIGHT` at a time; returns the answers and their tally. */
async function race(tag: string, count: number, body: (i: number) => object): Promise<{ responses: Response[]; counts: Record<string, number> }> {
  const path = `/api/v4/projects/${projectId}/releases/${tag}/assets/links`;
  const responses = await inBatches(Array.from({ length: count }, (_, i) => i), IN_FLIGHT, (i) =>
    instances[i % 2].request('POST', path, { token: ROOT_TOKEN, json: body(i) }),
  );
  const counts: Record<string, number> = {};
  for (const r of responses) counts[r.status] = (counts[r.status] ?? 0) + 1;
  const won = responses.findIndex((r) => r.status === 201);
  console.log(`race (${store!.kind}): ${count} creates over 2 processes → ${JSON.stringify(counts)}; the 201 came from instance ${won < 0 ? '-' : 'AB'[won % 2]}`);
  assert.deepEqual(responses.filter((r) => r.status >= 500).map((r) => `${r.status} ${r.text}`), [], 'no 5xx');
  return { responses, counts };
}

async function rowsOf(tag: string) {
  const rows = await queryStore<{ id: number | string; name: string; url: string }>(
    store!,
    `select l.id, l.name, l.url from release_links l join releases r on r.id = l.release_id where r.tag_name = '${tag}'`,
  );
  return rows.map((r) => ({ id: Number(r.id), name: r.name, url: r.url }));
}

test(`${CREATES} concurrent creates of one link name across two processes: one 201, the rest 400 name taken`, { timeout: 120_000 }, async () => {
  // Same name, a distinct url each: the name is the only thing that clashes.
  const { responses, counts } = await race('v1.0', CREATES, (i) => ({ name: 'linux-amd64', url: `https://example.com/race/${i}` }));
  assert.equal(counts[201], 1);
  assert.equal(counts[400], CREATES - 1);
  for (const r of responses.filter((x) => x.status === 400)) {
    assert.deepEqual(r.body, { message: { name: ['has already been taken'] } });
  }

  const winner = responses.find((r) => r.status === 201)!.body;
  assert.deepEqual(await rowsOf('v1.0'), [{ id: winner.id, name: 'linux-amd64', url: winner.url }]);
  for (const instance of instances) {
    const list = await instance.request('GET', `/api/v4/projects/${projectId}/releases/v1.0/assets/links`, { token: ROOT_TOKEN });
    assert.deepEqual(list.body, [winner]);
  }
});

test(`${SAME_URL_CREATES} concurrent creates of one name and url: one 201, every other answer the same as a later duplicate's`, { timeout: 120_000 }, async () => {
  const link = { name: 'darwin-arm64', url: 'https://example.com/race/darwin-arm64' };
  const { responses, counts } = await race('v2.0', SAME_URL_CREATES, () => link);
  assert.equal(counts[201], 1);
  assert.equal(counts[400], SAME_URL_CREATES - 1);

  // The body a duplicate gets with no race at all: losers of the race get exactly this.
  const later = await instances[0].request('POST', `/api/v4/projects/${projectId}/releases/v2.0/assets/links`, { token: ROOT_TOKEN, json: link });
  assert.equal(later.status, 400);
  assert.deepEqual(Object.keys(later.body.message).sort(), ['name', 'url']);
  for (const r of responses.filter((x) => x.status === 400)) assert.deepEqual(r.body, later.body);

  const winner = responses.find((r) => r.status === 201)!.body;
  assert.deepEqual(await rowsOf('v2.0'), [{ id: winner.id, ...link }]);
});

test('a tag deleted while its release is being created: no release is ever left without its tag', { timeout: 120_000 }, async () => {
  // Each round: the tag exists, then one instance creates its release while the other deletes
  // the tag. Either order is fine (release and tag both kept, or both gone); an orphan is not.
  const ROUNDS = 60;
  const outcomes: Record<string, number> = {};
  for (let round = 0; round < ROUNDS; round++) {
    const tag = `t-race-${round}`;
    const made = await instances[0].request('POST', `/api/v4/projects/${projectId}/repository/tags`, { token: ROOT_TOKEN, json: { tag_name: tag, ref: 'main' } });
    assert.equal(made.status, 201, made.text);
    const [create, remove] = await Promise.all([
      instances[round % 2].request('POST', `/api/v4/projects/${projectId}/releases`, { token: ROOT_TOKEN, json: { tag_name: tag } }),
      instances[(round + 1) % 2].request('DELETE', `/api/v4/projects/${projectId}/repository/tags/${tag}`, { token: ROOT_TOKEN }),
    ]);
    const key = `${create.status}/${remove.status}`;
    outcomes[key] = (outcomes[key] ?? 0) + 1;
    assert.ok([201, 422].includes(create.status), `release create: ${create.status} ${create.text}`);
    assert.ok([204, 404].includes(remove.status), `tag delete: ${remove.status} ${remove.text}`);
  }
  console.log(`tag delete vs release create (${store!.kind}), ${ROUNDS} rounds, create/delete statuses: ${JSON.stringify(outcomes)}`);
  const orphans = await queryStore<{ tag_name: string }>(
    store!,
    `select r.tag_name from releases r left join tags t on t.project_id = r.project_id and t.name = r.tag_name where r.project_id = ${projectId} and t.id is null`,
  );
  assert.deepEqual(orphans, []);
});
