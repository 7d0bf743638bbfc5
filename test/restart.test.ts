import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { ROOT_TOKEN } from './helpers/server.js';
import { createTestStore, type TestStore } from './helpers/store.js';
import { queryStore, requestTo, startInstance, startInstances, stopAll, type Instance } from './helpers/cluster.js';

// Two instances on one store are stopped (SIGTERM, and kill -9) and started again while a client
// keeps creating links through both. Every link that got a 201 is there afterwards, once.

const RELEASES = 5;
const WORKERS = 8;
// A release holds at most 1,000 links; stay well below over all releases.
const MAX_ATTEMPTS = 4000;

const instances: (Instance | undefined)[] = [];
let store: TestStore | undefined;
after(async () => {
  await stopAll(instances);
  await store?.drop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('instances stopped and killed while a client creates links lose no acknowledged link and duplicate none', { timeout: 120_000 }, async () => {
  store = await createTestStore();
  const databaseUrl = store.databaseUrl;
  await startInstances(2, { databaseUrl }, instances as Instance[]);
  const ports = instances.map((i) => i!.port);

  const project = await instances[0].request('POST', '/api/v4/projects', { token: ROOT_TOKEN, json: { name: 'restart', path: 'restart' } });
  assert.equal(project.status, 201, project.text);
  const linksOf = (r: number) => `/api/v4/projects/${project.body.id}/releases/r${r}/assets/links`;
  for (let r = 0; r < RELEASES; r++) {
    const release = await instances[r % 2]!.request('POST', `/api/v4/projects/${project.body.id}/releases`, { token: ROOT_TOKEN, json: { tag_name: `r${r}`, ref: 'main' } });
    assert.equal(release.status, 201, release.text);
  }

  // The client: each request goes to the next instance's port, up or not.
  const acked = new Map<string, { id: number; release: number }>();
  const statuses: Record<string, number> = {};
  let attempts = 0;
  let unknown = 0;
  let running = true;
  const client = async () => {
    while (running && attempts < MAX_ATTEMPTS) {
      const seq = attempts++;
      const name = `link-${seq}`;
      const release = seq % RELEASES;
      try {
        const res = await requestTo(`http://127.0.0.1:${ports[seq % 2]}`, 'POST', linksOf(release), {
          token: ROOT_TOKEN,
          json: { name, url: `https://example.com/restart/${seq}` },
        });
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        if (res.status === 201) {
          assert.equal(res.body.name, name);
          acked.set(name, { id: res.body.id, release });
        } else {
          unknown += 1;
        }
      } catch {
        // Connection refused or reset: the instance is down or was killed with the request in flight.
        statuses.network = (statuses.network ?? 0) + 1;
        unknown += 1;
        await sleep(20);
      }
    }
  };
  const clients = Array.from({ length: WORKERS }, client);

  const ackedAtLeast = async (n: number) => {
    const deadline = Date.now() + 30_000;
    while (acked.size < n && attempts < MAX_ATTEMPTS) {
      assert.ok(Date.now() < deadline, `only ${acked.size} links acknowledged, waiting for ${n}`);
      await sleep(20);
    }
  };
  const restart = async (k: number, signal: NodeJS.Signals) => {
    const code = await instances[k]!.stop(signal);
    if (signal === 'SIGTERM') assert.equal(code, 0, `SIGTERM drains and exits 0:\n${instances[k]!.stderr()}`);
    instances[k] = undefined;
    return code;
  };

  try {
    await ackedAtLeast(20);
    await restart(0, 'SIGTERM');
    instances[0] = await startInstance({ databaseUrl, port: ports[0] });
    await ackedAtLeast(acked.size + 20);
    await restart(1, 'SIGKILL');
    instances[1] = await startInstance({ databaseUrl, port: ports[1] });
    await ackedAtLeast(acked.size + 20);
  } finally {
    running = false;
    await Promise.all(clients);
  }
  console.log(`restart (${store.kind}): ${attempts} creates attempted, ${acked.size} acknowledged, ${unknown} without an answer or refused; statuses ${JSON.stringify(statuses)}`);

  // Only 201, 503 (an instance draining or its database gone) or no answer at all.
  assert.deepEqual(Object.keys(statuses).filter((s) => !['201', '503', 'network'].includes(s)), []);

  const rows = await queryStore<{ id: number; name: string; tag_name: string }>(
    store,
    'select l.id, l.name, r.tag_name from release_links l join releases r on r.id = l.release_id order by l.id',
  );
  const byName = new Map<string, { id: number; tag: string }[]>();
  for (const row of rows) byName.set(row.name, [...(byName.get(row.name) ?? []), { id: Number(row.id), tag: row.tag_name }]);
  const lost = [...acked].filter(([name, link]) => {
    const found = byName.get(name);
    return !found || found.length !== 1 || found[0].id !== link.id || found[0].tag !== `r${link.release}`;
  });
  assert.deepEqual(lost, [], 'every acknowledged link is present, once, as acknowledged');
  assert.deepEqual([...byName].filter(([, found]) => found.length > 1), [], 'no link stored twice');
  assert.ok(rows.length >= acked.size && rows.length <= attempts, `${rows.length} rows for ${acked.size} acknowledged of ${attempts} attempts`);
  for (const row of rows) assert.match(row.name, /^link-\d+$/);

  if (store.kind === 'sqlite') {
    assert.deepEqual(await queryStore(store, 'pragma integrity_check'), [{ integrity_check: 'ok' }]);
  }
  // The restarted instances serve what the database holds.
  for (let r = 0; r < RELEASES; r++) {
    const list = await instances[r % 2]!.request('GET', `${linksOf(r)}?per_page=100&page=1`, { token: ROOT_TOKEN });
    assert.equal(list.status, 200);
    assert.equal(list.headers.get('x-total'), String(rows.filter((row) => row.tag_name === `r${r}`).length));
  }
});
