#!/usr/bin/env node
// The long fuzz run: test/fuzz.test.ts with 100,000 generated requests per store (npm test runs
// 20,000). Options: --requests N, --seed S (replays a failing run), --stores sqlite,postgres.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};

const env = {
  ...process.env,
  FUZZ_REQUESTS: option('--requests', process.env.FUZZ_REQUESTS || '100000'),
  RELINKS_TEST_STORES: option('--stores', process.env.RELINKS_TEST_STORES || 'sqlite,postgres'),
};
const seed = option('--seed', process.env.FUZZ_SEED);
if (seed !== undefined) env.FUZZ_SEED = seed;

console.log(`fuzz: ${env.FUZZ_REQUESTS} requests per store on ${env.RELINKS_TEST_STORES}${seed ? `, seed ${seed}` : ''}`);
const run = spawnSync(process.execPath, [path.join(root, 'scripts/test.mjs'), 'test/fuzz.test.ts'], { cwd: root, env, stdio: 'inherit' });
process.exit(run.status ?? 1);
