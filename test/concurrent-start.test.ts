import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { ROOT_TOKEN } from './helpers/server.js';
import { createTestStore, type TestStore } from './helpers/store.js';
import { queryStore, startInstance, startInstances, stopAll, type Instance } from './helpers/cluster.js';

// Four instances started at the same moment on one fresh, empty store: the migrations run once
// (advisory lock on PostgreSQL, the write lock on SQLite), root is bootstrapped once, and all serve.

const instances: Instance[] = [];
let store: TestStore | undefined;
after(async () => {
  await stopAll(instances);
  await store?.drop();
});

test('four instances starting together on an empty store all come up, each migration applied once', { timeout: 120_000 }, async () => {
  store = await createTestStore();
  await startInstances(4, { databaseUrl: store.databaseUrl }, instances);

  for (const instance of instances) {
    const ready = await instance.request('GET', '/-/readiness');
    assert.equal(ready.status, 200, ready.text);
    // The bootstrap raced too: every instance accepts the one root token.
    const me = await instance.request('GET', '/api/v4/user', { token: ROOT_TOKEN });
    assert.equal(me.status, 200, me.text);
    assert.equal(me.body.username, 'root');
  }

  const migrations = await queryStore<{ name: string; n: number | string }>(store, 'select name, count(*) as n from kysely_migration group by name order by name');
  assert.ok(migrations.some((m) => m.name === '001_init'), JSON.stringify(migrations));
  assert.deepEqual(migrations.filter((m) => Number(m.n) !== 1), []);
  const roots = await queryStore<{ n: number | string }>(store, "select count(*) as n from users where username = 'root'");
  assert.equal(Number(roots[0].n), 1);
  const tokens = await queryStore<{ n: number | string }>(store, 'select count(*) as n from personal_access_tokens');
  assert.equal(Number(tokens[0].n), 1);

  // A migration run later finds nothing to do and leaves the record as it is.
  const exit = await Promise.all(instances.map((i) => i.stop('SIGTERM')));
  assert.deepEqual(exit, [0, 0, 0, 0]);
  instances.length = 0;
  instances.push(await startInstance({ databaseUrl: store.databaseUrl }));
  assert.equal((await instances[0].request('GET', '/-/readiness')).status, 200);
  const again = await queryStore<{ name: string; n: number | string }>(store, 'select name, count(*) as n from kysely_migration group by name order by name');
  assert.deepEqual(again, migrations);
});
