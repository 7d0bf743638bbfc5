#!/usr/bin/env node
// Runs the whole suite once per store (SQLite and PostgreSQL) and prints one closing line.
// RELINKS_TEST_STORES=sqlite limits the stores; extra arguments pick test files.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { preflight } from './preflight.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
process.chdir(root);

// Services first: a missing one stops the run here, named with the command that fixes it.
if (!(await preflight())) {
  console.log('\ntotal: 0 passed, 1 failed');
  process.exit(1);
}

const build = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

// The test files and the sources they import, transpiled once to JavaScript (esbuild, as tsx
// would per process, with source maps so stack traces name the .ts lines). Loading them through
// tsx's module hooks instead cost about 0.8 s more CPU per test file and store, a tenth of the
// suite's CPU on a 2-core machine.
const BUILD = '.test-build';
fs.rmSync(BUILD, { recursive: true, force: true });
const { build: transpile } = await import('esbuild');
const sources = (dir) => fs.readdirSync(dir, { recursive: true }).filter((f) => /\.tsx?$/.test(f)).map((f) => path.join(dir, f));
await transpile({
  entryPoints: [...sources('src'), ...sources('test')],
  outdir: BUILD,
  outbase: '.',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'inline',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  tsconfig: 'tsconfig.json',
  logLevel: 'warning',
});
// Its own package.json: ESM for its .js files, and the version the sources read from `package.json`.
fs.copyFileSync('package.json', path.join(BUILD, 'package.json'));
// What the tests import from beyond src/ and test/ (scripts/) is JavaScript already: reached through a link.
fs.symlinkSync(path.resolve('scripts'), path.join(BUILD, 'scripts'));
const built = (file) => path.join(BUILD, file.replace(/\.ts$/, '.js'));

const findTests = (dir) => sources(dir).filter((f) => f.endsWith('.test.ts') && !f.split(path.sep).includes('helpers'));

// node --test starts files in the order given, a few at a time: the longest start first, so that
// they do not run on alone at the end (each took a minute or more per store on a 2-core VM).
const LONGEST = ['fuzz', 'files-s3', 'docs-commands', 'files-memory', 'permissions', 'crash', 'web-browser'];
const rank = (file) => {
  const i = LONGEST.indexOf(path.basename(file, '.test.ts'));
  return i < 0 ? LONGEST.length : i;
};
const files = process.argv.slice(2).length ? process.argv.slice(2) : findTests('test').sort().sort((a, b) => rank(a) - rank(b));
const stores = (process.env.RELINKS_TEST_STORES || 'sqlite,postgres').split(',');

// The stores run side by side: much of a test's time is spent waiting (fsync, timers, child
// servers, the browser), so two runs share the two cores well. RELINKS_TEST_SERIAL=1 runs them in turn.
function runStore(store) {
  const tap = path.join(os.tmpdir(), `relinks-test-${process.pid}-${store}.tap`);
  const started = Date.now();
  console.log(`=== ${store}: ${files.length} test files ===`);
  const child = spawn(
    process.execPath,
    [
      '--enable-source-maps',
      '--test',
      `--test-concurrency=${process.env.RELINKS_TEST_CONCURRENCY || 3}`,
      '--test-reporter=spec', '--test-reporter-destination=stdout',
      '--test-reporter=tap', `--test-reporter-destination=${tap}`,
      ...files.map(built),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RELINKS_TEST_STORE: store } },
  );
  const label = stores.length > 1 ? `[${store}] ` : '';
  // Failing tests are named again at the very end, so a log cut to its tail (as CI shows it) still names them.
  const failing = new Set();
  for (const [from, to] of [[child.stdout, process.stdout], [child.stderr, process.stderr]]) {
    readline.createInterface({ input: from }).on('line', (line) => {
      const failed = /^\s*✖ (.*?)(?: \([\d.]+ms\))?$/.exec(line);
      if (failed && failed[1] !== 'failing tests:') failing.add(failed[1]);
      to.write(`${label}${line}\n`);
    });
  }
  return new Promise((resolve) => {
    child.on('close', (status) => {
      const summary = fs.existsSync(tap) ? fs.readFileSync(tap, 'utf8') : '';
      fs.rmSync(tap, { force: true });
      const count = (name) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(summary)?.[1] ?? 0);
      const result = { store, status, passed: count('pass'), failed: count('fail') + count('cancelled'), failing: [...failing] };
      console.log(`=== ${store}: ${result.passed} passed, ${count('fail')} failed in ${((Date.now() - started) / 1000).toFixed(1)} s ===`);
      resolve(result);
    });
  });
}

const started = Date.now();
const results = [];
if (process.env.RELINKS_TEST_SERIAL) for (const store of stores) results.push(await runStore(store));
else results.push(...(await Promise.all(stores.map(runStore))));
let passed = 0;
let failed = 0;
for (const r of results) {
  passed += r.passed;
  failed += r.failed;
  if (r.status !== 0 && r.failed === 0) failed += 1;
}
for (const r of results) for (const name of r.failing) console.log(`failed on ${r.store}: ${name}`);
console.log(`\ntotal: ${passed} passed, ${failed} failed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(failed === 0 ? 0 : 1);
