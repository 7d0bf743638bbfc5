import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { openStore } from '../src/store/db.js';
import { migrate } from '../src/store/migrate.js';
import { createTestStore, type TestStore } from './helpers/store.js';

// SQLite-only, whichever store the suite runs on: after an ANALYZE, statements whose parameters
// the planner checked against sqlite_stat4 samples are re-planned on every run (better-sqlite3
// builds SQLite with STAT4). Opening the store drops the samples and keeps sqlite_stat1.

let testStore: TestStore;
after(() => testStore?.drop());

test('opening a SQLite store after an ANALYZE keeps sqlite_stat1 and drops the STAT4 samples', async () => {
  testStore = await createTestStore('sqlite');
  const first = openStore({ databaseUrl: testStore.databaseUrl });
  await migrate(first);
  const raw = first.sqlite!;
  raw.exec(`insert into namespaces (name, path, full_path, full_path_key, kind, visibility, traversal_ids, created_at)
            values ('g', 'g', 'g', 'g', 'group', 0, '', '2024-01-01T00:00:00.000Z')`);
  raw.exec('analyze');
  assert.ok((raw.prepare('select count(*) as n from sqlite_stat4').get() as { n: number }).n > 0, 'ANALYZE wrote samples');
  await first.close();

  const second = openStore({ databaseUrl: testStore.databaseUrl });
  try {
    const count = (table: string) => (second.sqlite!.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n;
    assert.equal(count('sqlite_stat4'), 0);
    assert.ok(count('sqlite_stat1') > 0, 'the per-index statistics stay');
  } finally {
    await second.close();
  }
});
