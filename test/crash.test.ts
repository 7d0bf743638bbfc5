import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTestStore } from './helpers/store.js';
// @ts-expect-error plain ES module script, no types
import { crashTest } from '../scripts/crashtest.mjs';

// A short round of `npm run crashtest` on the current store: the built server is kill -9'd while
// 16 clients create links and two upload files; every acknowledged link and file (by SHA-256) must
// survive whole, nothing may be duplicated.

test('links and files acknowledged before kill -9 survive the restart, whole and once', { timeout: 180_000 }, async (t) => {
  const store = await createTestStore();
  try {
    const result = await crashTest({ databaseUrl: store.databaseUrl, rounds: 3, concurrency: 16, minAcked: 30 });
    const line = `crash[${result.store}]: ${result.rounds} kills, ${result.acknowledged} acknowledged, ${result.lost} lost, ` +
      `${result.unanswered} unanswered (${result.unansweredButWritten} committed whole), integrity ${result.integrity}`;
    t.diagnostic(line);
    assert.ok(result.acknowledged >= 90, `too few writes to mean anything: ${line}`);
    assert.ok(result.filesAcknowledged >= 1, `no file upload was acknowledged: ${line}`);
    assert.deepEqual(result.problems, []);
    assert.equal(result.lost, 0);
    assert.match(result.integrity, /^ok/);
  } finally {
    await store.drop();
  }
});
