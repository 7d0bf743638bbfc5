// npm run bench -- --instructions <pairs>: machine instructions per GET of one link, counted by
// valgrind's callgrind, for relinks with metrics off and on (ABAB, a fresh process and SQLite store
// per run), then for the floor server on the last run's store.
//
// Why: on these shared 2-core VMs, timed runs of the same code differ by ±10%, more than the
// effects measured. Instructions do not depend on the machine's speed or on what else runs; they
// still vary by a percent or two from run to run (garbage collection, which requests share an
// event-loop turn), hence pairs. One client, one request at a time, V8 on one thread
// (--single-threaded), so that the count depends on the code more than on timing.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { freePort, root, sleep } from './lib.mjs';

const TOKEN = 'bench-instructions-root-token-0123456789';
const WARM = 6000;
const MEASURED = 3000;
const NODE_ARGS = ['--max-semi-space-size=8', '--expose-gc', '--single-threaded'];

export function valgrindMissing() {
  return spawnSync('valgrind', ['--version']).status !== 0;
}

function client(port) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  return (method, url, body, token = TOKEN) =>
    new Promise((resolve, reject) => {
      const data = body ? JSON.stringify(body) : undefined;
      const headers = { 'private-token': token, ...(data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {}) };
      const req = http.request({ host: '127.0.0.1', port, method, path: url, agent, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode, text }));
      });
      req.on('error', reject);
      req.end(data);
    });
}

async function waitReady(request, child, url) {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`server under callgrind exited with ${child.exitCode}`);
    try {
      if ((await request('GET', url)).status < 500) return;
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  throw new Error('server under callgrind did not become ready');
}

// callgrind_control finds the process by a pipe named after USER and HOST: the server is started
// with HOST=127.0.0.1 (relinks' own setting), so the controller gets the same.
const controlEnv = { ...process.env, USER: process.env.USER ?? 'root', HOST: '127.0.0.1' };
const control = (pid, ...args) => {
  const r = spawnSync('callgrind_control', [...args, String(pid)], { env: controlEnv, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`callgrind_control ${args.join(' ')}: ${r.stderr || r.stdout}`);
};

/** Starts `args` (a node script and its arguments) under callgrind, counting nothing yet. */
function underCallgrind(args, env, out, ipc) {
  return spawn('valgrind', ['--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${out}`, process.execPath, ...NODE_ARGS, ...args], {
    cwd: root,
    env: { ...controlEnv, ...env },
    stdio: ['ignore', 'ignore', 'ignore', ...(ipc ? ['ipc'] : [])],
  });
}

/** Instructions per request of `url` with `token`, counted over MEASURED requests after WARM. */
async function count(child, request, { url, token }, out) {
  const run = async (n) => {
    for (let i = 0; i < n; i++) {
      const res = await request('GET', url, undefined, token);
      if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${res.text} (store in ${path.dirname(out)})`);
    }
  };
  await run(WARM);
  control(child.pid, '-i', 'on');
  await run(MEASURED);
  control(child.pid, '-i', 'off');
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
  const totals = /^totals: (\d+)/m.exec(fs.readFileSync(out, 'utf8'));
  if (!totals) throw new Error(`no totals in ${out}`);
  return Number(totals[1]) / MEASURED;
}

/**
 * Seeds as the timed cases do, smaller: a Developer with a personal access token (access comes
 * from a membership, not admin rights), a private project in a group, a release with 5 links.
 */
async function seed(request) {
  const post = async (url, body, token) => JSON.parse((await request('POST', `/api/v4${url}`, body, token)).text);
  const user = await post('/users', { username: 'bench', email: 'bench@example.com', name: 'Bench', password: 'bench-password-1' });
  const { token } = await post(`/users/${user.id}/personal_access_tokens`, { name: 'bench', scopes: ['api'] });
  const group = await post('/groups', { name: 'acme', path: 'acme', visibility: 'private' });
  const project = await post('/projects', { name: 'tool', path: 'tool', namespace_id: group.id, visibility: 'private' });
  await post(`/projects/${project.id}/members`, { user_id: user.id, access_level: 30 });
  const links = Array.from({ length: 5 }, (_, i) => ({ name: `tool-${i}.tar.gz`, url: `https://downloads.example.com/tool/v1.0/tool-${i}.tar.gz`, link_type: 'package' }));
  const release = await post(`/projects/${project.id}/releases`, { tag_name: 'v1.0', ref: 'main', assets: { links } }, token);
  return { token, url: `/api/v4/projects/${project.id}/releases/v1.0/assets/links/${release.assets.links[2].id}` };
}

/** One relinks run on a fresh SQLite store: seeds it through the API and counts the GET. */
async function relinksRun(metrics, dir) {
  const port = await freePort();
  const out = path.join(dir, 'callgrind.relinks');
  const env = {
    PORT: String(port),
    DATABASE_URL: `sqlite:${path.join(dir, 'relinks.db')}`,
    EXTERNAL_URL: 'http://relinks.bench',
    RELINKS_INITIAL_ROOT_TOKEN: TOKEN,
    LOG_LEVEL: 'warn',
    METRICS_ENABLED: String(metrics),
  };
  const child = underCallgrind([path.join(root, 'bin/relinks.js'), 'serve'], env, out, false);
  const request = client(port);
  await waitReady(request, child, '/-/readiness');
  const target = await seed(request);
  return { perRequest: await count(child, request, target, out), target };
}

/** The bench's floor server under callgrind, on a store a relinks run left. */
async function floorRun(dir, target) {
  const port = await freePort();
  const out = path.join(dir, 'callgrind.floor');
  const args = [path.join(root, 'scripts/bench.mjs'), '--floor-server', String(port), `sqlite:${path.join(dir, 'relinks.db')}`, 'http://relinks.bench'];
  const child = underCallgrind(args, {}, out, true);
  const request = client(port);
  await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`floor server exited with ${code}`)));
  });
  return count(child, request, target, out);
}

export async function measureInstructions(pairs) {
  const runs = { off: [], on: [] };
  let floor;
  const dirs = [];
  try {
    for (let pair = 0; pair < pairs; pair++) {
      for (const metrics of [false, true]) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relinks-instructions-'));
        dirs.push(dir);
        const { perRequest, target } = await relinksRun(metrics, dir);
        runs[metrics ? 'on' : 'off'].push(perRequest);
        console.log(`  run ${runs.off.length + runs.on.length}: metrics ${metrics ? 'on ' : 'off'} ${(perRequest / 1e3).toFixed(1)} k instructions per request`);
        if (pair === pairs - 1 && !metrics) floor = await floorRun(dir, target);
      }
    }
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  } catch (error) {
    console.log(`  stores kept for a look: ${dirs.join(' ')}`);
    throw error;
  }
  return { runs, floor };
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const k = (x) => `${(x / 1e3).toFixed(1)} k`;

export function printInstructions({ runs, floor }) {
  const off = mean(runs.off);
  const on = mean(runs.on);
  const range = (xs) => `${k(Math.min(...xs))}–${k(Math.max(...xs))}`;
  console.log(`metrics off: mean ${k(off)} (${range(runs.off)}) over ${runs.off.length} runs`);
  console.log(`metrics on:  mean ${k(on)} (${range(runs.on)}) over ${runs.on.length} runs`);
  console.log(`metrics overhead by instructions: ${((on / off - 1) * 100).toFixed(1)}% (mean on / mean off)`);
  console.log(`the floor: ${k(floor)}; relinks (metrics on) / floor: ${(on / floor).toFixed(2)}x`);
}
