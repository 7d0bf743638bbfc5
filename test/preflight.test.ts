import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { freePort } from './helpers/child-server.js';
import { repoRoot } from './helpers/ci.js';

// `npm test` on a machine where something is missing and it may not install: it stops at once,
// one line per missing part with the command that fixes it, and runs no test.

test('when it may not install, a missing service stops npm test in its first seconds, naming it and its fix', async () => {
  const closed = await freePort();
  const started = Date.now();
  // RELINKS_PREFLIGHT=check is how a run as root behaves as one without root would.
  const run = spawnSync(process.execPath, ['scripts/test.mjs'], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, RELINKS_PREFLIGHT: 'check', TEST_DATABASE_URL: `postgres://postgres@127.0.0.1:${closed}/test` },
  });
  const seconds = (Date.now() - started) / 1000;
  const output = `${run.stdout}${run.stderr}`;
  assert.equal(run.status, 1, output);
  assert.match(output, new RegExp(`preflight: PostgreSQL is missing \\(postgres://postgres@127\\.0\\.0\\.1:${closed}/test\\); fix: `));
  assert.match(output, /total: 0 passed, 1 failed/);
  assert.doesNotMatch(output, /=== sqlite/, 'no test ran');
  assert.doesNotMatch(output, /installing/, 'nothing is installed without root');
  assert.ok(seconds < 5, `stopped after ${seconds} s`);
});
