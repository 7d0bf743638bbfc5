#!/usr/bin/env node
// npm run bench [-- --postgres] [--links 1000000] [--duration 5] [--connections 32] [--metrics-rounds 4] [--instructions 3]
//
// Measures relinks against a bare node:http server that answers a body of the same size, case by
// case (bare first, then relinks), and prints req/s, latency, non-2xx and the ratio relinks/bare.
// Both servers run as child processes; the load generator (autocannon) runs in this process.
// It reports and never fails a build: it is not part of `npm test`.
import { fork, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { buildDist, freePort, root, sleep } from './lib.mjs';
import { measureFiles, printFiles } from './bench-files.mjs';
import { measureInstructions, printInstructions, valgrindMissing } from './bench-instructions.mjs';

// ---------------------------------------------------------------- helpers

function parseArgs(argv) {
  const opts = { postgres: false, links: 0, duration: 5, connections: 32, keep: false, only: null, metricsRounds: 4, filesMb: 256, instructions: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--postgres') opts.postgres = true;
    else if (a === '--links') opts.links = Number(value());
    else if (a === '--duration') opts.duration = Number(value());
    else if (a === '--connections') opts.connections = Number(value());
    else if (a === '--keep') opts.keep = true;
    else if (a === '--only') opts.only = value().toLowerCase();
    else if (a === '--metrics-rounds') opts.metricsRounds = Number(value());
    else if (a === '--files-mb') opts.filesMb = Number(value());
    else if (a === '--instructions') opts.instructions = Number(value());
    else if (a === '--help' || a === '-h') {
      console.log('usage: npm run bench -- [--postgres] [--links 1000000] [--duration 5] [--connections 32] [--keep] [--only <case>] [--metrics-rounds 4] [--files-mb 256 (0: no file cases)] [--instructions <pairs> (callgrind counts, metrics off/on)]');
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  if (!Number.isInteger(opts.links) || opts.links < 0) throw new Error('--links must be a whole number');
  if (!Number.isInteger(opts.metricsRounds) || opts.metricsRounds < 0) throw new Error('--metrics-rounds must be a whole number');
  if (!Number.isInteger(opts.instructions) || opts.instructions < 0) throw new Error('--instructions must be a whole number');
  return opts;
}


function newestMtime(dir) {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds dist when any source file is newer than it, so the numbers are for the code on disk. */
function buildIfStale() {
  const dist = path.join(root, 'dist', 'cli.js');
  const stale = !fs.existsSync(dist) || newestMtime(path.join(root, 'src')) > fs.statSync(dist).mtimeMs;
  if (!stale) return;
  console.log('building dist (tsc) ...');
  if (!buildDist()) throw new Error('tsc failed');
  fs.utimesSync(dist, new Date(), new Date());
}


/** CPU time (user + system) a process has used so far, in ms; USER_HZ is 100 on Linux. */
function cpuMsOf(pid) {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}


/** Peak (VmHWM) and current (VmRSS) resident memory of a process, in MB. */
function memoryOf(pid) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { peak: kb('VmHWM') / 1024, current: kb('VmRSS') / 1024 };
  } catch {
    return { peak: NaN, current: NaN };
  }
}

async function api(base, token, method, urlPath, json) {
  const res = await fetch(base + '/api/v4' + urlPath, {
    method,
    headers: { 'private-token': token, ...(json ? { 'content-type': 'application/json' } : {}) },
    body: json ? JSON.stringify(json) : undefined,
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${urlPath}: ${res.status} ${text}`);
  return { status: res.status, text, body: JSON.parse(text) };
}

// ---------------------------------------------------------------- stores

const POSTGRES_BASE = process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

async function createStore(postgres) {
  const id = `${process.pid}_${randomBytes(3).toString('hex')}`;
  if (!postgres) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relinks-bench-'));
    const file = path.join(dir, 'relinks.db');
    return {
      label: 'sqlite (WAL, synchronous=FULL)',
      databaseUrl: `sqlite:${file}`,
      async bulk(fn) {
        const { default: SQLite } = await import('better-sqlite3');
        const db = new SQLite(file);
        db.pragma('busy_timeout = 10000');
        try {
          return await fn({
            kind: 'sqlite',
            exec: async (sqlText, params = []) => db.prepare(sqlText).run(...params),
            all: async (sqlText, params = []) => db.prepare(sqlText).all(...params),
          });
        } finally {
          db.close();
        }
      },
      async drop() {
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const { default: pg } = await import('pg');
  const schema = `bench_${id}`;
  const admin = new pg.Client({ connectionString: POSTGRES_BASE });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  const url = new URL(POSTGRES_BASE);
  url.searchParams.set('schema', schema);
  return {
    label: 'postgres',
    databaseUrl: url.toString(),
    async bulk(fn) {
      const client = new pg.Client({ connectionString: POSTGRES_BASE, options: `-c search_path=${schema}` });
      await client.connect();
      // Positional parameters are written "?" for both stores.
      const numbered = (s) => { let n = 0; return s.replace(/\?/g, () => `$${++n}`); };
      try {
        return await fn({
          kind: 'postgres',
          exec: async (sqlText, params = []) => client.query(numbered(sqlText), params),
          all: async (sqlText, params = []) => (await client.query(numbered(sqlText), params)).rows,
        });
      } finally {
        await client.end();
      }
    },
    async drop() {
      const c = new pg.Client({ connectionString: POSTGRES_BASE });
      await c.connect();
      await c.query(`drop schema if exists ${schema} cascade`);
      await c.end();
    },
  };
}

/**
 * Adds `count` releases (tag and release rows) named `${prefix}NNNNN` to a project, each with
 * `linksEach` links, by plain SQL in big transactions: seeding a million rows through HTTP would
 * take longer than the benchmark itself.
 */
async function bulkReleases(store, projectId, authorId, prefix, count, linksEach) {
  const chunk = Math.max(1, Math.floor(100_000 / Math.max(1, linksEach)));
  await store.bulk(async (db) => {
    const series = (n) =>
      db.kind === 'sqlite'
        ? `with recursive s(x) as (select 0 union all select x + 1 from s where x < ${n - 1})`
        : `with s(x) as (select generate_series(0, ${n - 1}))`;
    const pad = (expr) => (db.kind === 'sqlite' ? `printf('%05d', ${expr})` : `lpad((${expr})::text, 5, '0')`);
    for (let start = 0; start < count; start += chunk) {
      const n = Math.min(chunk, count - start);
      const at = new Date(Date.UTC(2024, 0, 1) + start * 1000).toISOString();
      await db.exec('begin');
      await db.exec(
        `insert into tags (project_id, name, target, message, created_at)
         ${series(n)} select ${projectId}, '${prefix}' || ${pad(`x + ${start}`)}, 'b2c4e0f1a3d5c7e9f1a3b5c7d9e1f3a5b7c9d1e3', '', '${at}' from s`,
      );
      await db.exec(
        `insert into releases (project_id, tag_name, name, description, author_id, released_at, created_at, updated_at)
         ${series(n)} select ${projectId}, '${prefix}' || ${pad(`x + ${start}`)}, 'Release ' || ${pad(`x + ${start}`)}, '', ${authorId}, '${at}', '${at}', '${at}' from s`,
      );
      if (linksEach > 0) {
        const lo = `${prefix}${String(start).padStart(5, '0')}`;
        const hi = `${prefix}${String(start + n - 1).padStart(5, '0')}`;
        await db.exec(
          `insert into release_links (release_id, name, url, filepath, link_type, created_at, updated_at)
           ${series(linksEach)} select r.id, 'asset-' || s.x, 'https://downloads.example.com/' || r.tag_name || '/asset-' || s.x || '.tar.gz',
             '/bin/asset-' || s.x, 'package', r.created_at, r.created_at
           from releases r cross join s where r.project_id = ${projectId} and r.tag_name between '${lo}' and '${hi}'`,
        );
      }
      await db.exec('commit');
    }
    // Fresh statistics, as a running database would have after autovacuum / `PRAGMA optimize`.
    await db.exec('analyze');
  });
}

// ---------------------------------------------------------------- processes

const children = new Set();
function killChildren() {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}
process.on('exit', killChildren);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    killChildren();
    process.exit(130);
  });
}

const ROOT_TOKEN = `bench-root-${randomBytes(12).toString('hex')}`;

async function startRelinks(databaseUrl, env = {}) {
  const port = await freePort();
  // BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the server during the run.
  // Node flags as bin/relinks.js and `npm start` pass them, then BENCH_NODE_ARGS.
  const nodeArgs = ['--max-semi-space-size=8', '--expose-gc', ...(process.env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean)];
  const child = spawn(process.execPath, [...nodeArgs, path.join(root, 'bin/relinks.js'), 'serve'], {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: databaseUrl,
      EXTERNAL_URL: 'http://relinks.bench',
      RELINKS_INITIAL_ROOT_TOKEN: ROOT_TOKEN,
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.add(child);
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`relinks exited with ${child.exitCode}`);
    try {
      const res = await fetch(`${base}/-/readiness`);
      if (res.status === 200) return { child, base };
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error('relinks did not become ready');
}

async function restartRelinks(relinks, store) {
  await stopRelinks(relinks.child);
  return startRelinks(store.databaseUrl);
}

async function stopRelinks(child) {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(10_000)]);
  children.delete(child);
}

async function startBare() {
  const port = await freePort();
  const child = fork(new URL(import.meta.url).pathname, ['--bare-server', String(port)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(child);
  await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`bare server exited with ${code}`)));
  });
  return {
    child,
    base: `http://127.0.0.1:${port}`,
    answer(status, body) {
      return new Promise((resolve) => {
        child.once('message', resolve);
        child.send({ status, body });
      });
    },
  };
}

async function startFloor(databaseUrl) {
  const port = await freePort();
  const child = fork(new URL(import.meta.url).pathname, ['--floor-server', String(port), databaseUrl, 'http://relinks.bench'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(child);
  await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`floor server exited with ${code}`)));
  });
  return { child, base: `http://127.0.0.1:${port}` };
}

// ---------------------------------------------------------------- load

async function load({ url, connections, duration, amount, requests, headers, pid, overallRate }) {
  const { default: autocannon } = await import('autocannon');
  const cpuBefore = cpuMsOf(pid);
  const result = await autocannon({
    url,
    connections,
    duration,
    amount,
    headers,
    requests,
    overallRate,
    timeout: 10,
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    total: result.requests.total,
    // Server CPU per answered request: steadier than req/s when other work shares the machine.
    cpuUs: ((cpuMsOf(pid) - cpuBefore) * 1000) / Math.max(1, result.requests.total),
  };
}

// ---------------------------------------------------------------- metrics overhead

/**
 * GET one link against relinks with METRICS_ENABLED=true and =false on the same store, compared by
 * server CPU per request at the same fixed request rate. At full load the two sides would answer
 * different numbers of requests per event-loop turn, and CPU per request moves with that batching
 * as much as with the code; at one fixed rate, below what either side can take, only the code
 * differs. The rate is half of what the "off" side answers flat out in its warm-up.
 *
 * Each round starts a fresh pair of processes (which one starts first alternates), warms both
 * alike, then measures them in ABBA order (on, off, off, on; the next round off, on, on, off), so
 * neither side gains from process history or from load drifting on a shared machine. The verdict
 * is the median of the rounds' ratios; each round's is printed to show the spread.
 */
async function measureMetricsOverhead({ seeded, opts }) {
  const headers = { 'private-token': seeded.token };
  const requests = [{ method: 'GET', path: `/api/v4/projects/${seeded.projectId}/releases/v1.0/assets/links/${seeded.linkId}` }];
  const run = (server, duration, overallRate) => load({ pid: server.child.pid, url: server.base, connections: opts.connections, duration, headers, requests, overallRate });
  const totals = { on: { total: 0, cpuUs: 0, seconds: 0, p99: [] }, off: { total: 0, cpuUs: 0, seconds: 0, p99: [] }, rounds: [], rates: [], fullRps: { on: [], off: [] } };
  for (let round = 0; round < opts.metricsRounds; round++) {
    const order = round % 2 === 0 ? ['on', 'off'] : ['off', 'on'];
    const servers = {};
    try {
      for (const side of order) servers[side] = await startRelinks(seeded.databaseUrl, { METRICS_ENABLED: side === 'on' ? 'true' : 'false' });
      // Warm-up, the same for both: flat out, which also tells the rate to measure at.
      for (const side of order) totals.fullRps[side].push((await run(servers[side], 3)).rps);
      const rate = Math.max(100, Math.round(totals.fullRps.off.at(-1) / 2));
      totals.rates.push(rate);
      const cpu = { on: { total: 0, us: 0 }, off: { total: 0, us: 0 } };
      for (const side of [order[0], order[1], order[1], order[0]]) {
        const r = await run(servers[side], opts.duration, rate);
        const t = totals[side];
        t.total += r.total;
        t.cpuUs += r.cpuUs * r.total;
        t.seconds += opts.duration;
        t.p99.push(r.p99);
        cpu[side].total += r.total;
        cpu[side].us += r.cpuUs * r.total;
      }
      totals.rounds.push(cpu.on.us / cpu.on.total / (cpu.off.us / cpu.off.total));
    } finally {
      for (const side of order) if (servers[side]) await stopRelinks(servers[side].child);
    }
  }
  return totals;
}

function printMetricsOverhead(totals) {
  console.log('\n## metrics overhead: GET one link, METRICS_ENABLED=true vs false (same store, a fresh pair of processes per round, ABBA, the same fixed rate for both)');
  console.log(`fixed rate per round (half of "off" flat out): ${totals.rates.join(' / ')} req/s`);
  const row = (name, t) => `${name.padEnd(12)} ${f0(t.cpuUs / t.total).padStart(5)} cpu µs/req  p99 ${t.p99.join('/')} ms  flat-out warm-up ${totals.fullRps[name.split(' ')[1]].map(f0).join('/')} req/s`;
  console.log(row('metrics on', totals.on));
  console.log(row('metrics off', totals.off));
  const sorted = [...totals.rounds].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  const median = sorted.length % 2 ? sorted[Math.floor(mid)] : (sorted[mid - 1] + sorted[mid]) / 2;
  const all = totals.on.cpuUs / totals.on.total / (totals.off.cpuUs / totals.off.total);
  console.log(`overhead: cpu µs/req on/off, median of ${sorted.length} rounds ${f2(median)} (${((median - 1) * 100).toFixed(1)}%); all rounds together ${f2(all)} (${((all - 1) * 100).toFixed(1)}%)`);
  console.log(`cpu on/off per round: ${totals.rounds.map((r) => r.toFixed(3)).join(' ')}`);
}

// ---------------------------------------------------------------- durable commits/s (SQLite)

/**
 * Units of work per second through one SQLite store, `writers` at a time, each unit inserting one
 * row and waiting for its durable commit: one transaction (and fsync) per unit, as before group
 * commit, against Store.write (group commit).
 */
async function measureCommits(seconds, writers) {
  const { openStore } = await import(path.join(root, 'dist/store/db.js'));
  const { migrate } = await import(path.join(root, 'dist/store/migrate.js'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relinks-commits-'));
  const store = openStore({ databaseUrl: `sqlite:${path.join(dir, 'commits.db')}` });
  try {
    await migrate(store);
    let n = 0;
    const unit = (trx) => {
      const name = `writer-${n++}`;
      return trx
        .insertInto('users')
        .values({ username: name, username_key: name, name, email: `${name}@example.com`, email_key: `${name}@example.com`, is_admin: 0, state: 'active', password_digest: null, namespace_id: null, created_at: new Date().toISOString() })
        .execute();
    };
    const run = async (label, write) => {
      let done = 0;
      const until = Date.now() + seconds * 1000;
      const started = process.hrtime.bigint();
      await Promise.all(Array.from({ length: writers }, async () => {
        while (Date.now() < until) {
          await write(unit);
          done++;
        }
      }));
      const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
      return { label, perSecond: done / elapsed };
    };
    const before = await run('one transaction per unit', (work) => store.db.transaction().execute(work));
    const after = await run('group commit (Store.write)', (work) => store.write(work));
    return [before, after];
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- the run

async function seed(base, store) {
  const user = await api(base, ROOT_TOKEN, 'POST', '/users', {
    username: 'bench', email: 'bench@example.com', name: 'Bench', password: 'bench-password-1',
  });
  const token = (await api(base, ROOT_TOKEN, 'POST', `/users/${user.body.id}/personal_access_tokens`, { name: 'bench', scopes: ['api'] })).body.token;
  const group = await api(base, ROOT_TOKEN, 'POST', '/groups', { name: 'acme', path: 'acme', visibility: 'private' });
  const project = await api(base, ROOT_TOKEN, 'POST', '/projects', { name: 'tool', path: 'tool', namespace_id: group.body.id, visibility: 'private' });
  const projectId = project.body.id;
  // A Developer, the usual CI publisher: access comes from a membership lookup, not admin rights.
  await api(base, ROOT_TOKEN, 'POST', `/projects/${projectId}/members`, { user_id: user.body.id, access_level: 30 });
  const links = Array.from({ length: 100 }, (_, i) => ({
    name: `tool-${i}-linux-amd64.tar.gz`,
    url: `https://downloads.example.com/tool/v1.0/tool-${i}-linux-amd64.tar.gz`,
    direct_asset_path: `/bin/tool-${i}-linux-amd64.tar.gz`,
    link_type: 'package',
  }));
  const release = await api(base, token, 'POST', `/projects/${projectId}/releases`, { tag_name: 'v1.0', ref: 'main', assets: { links } });
  const linkIds = release.body.assets.links.map((l) => l.id);
  // Releases that receive the created links, so no release nears its 1000-link cap.
  await bulkReleases(store, projectId, user.body.id, 'w', WRITE_RELEASES, 0);
  return { token, projectId, userId: user.body.id, linkId: linkIds[Math.floor(linkIds.length / 2)] };
}

const WRITE_RELEASES = 1000;

/** The five cases; write cases share the links created by POST so PUT and DELETE find rows. */
function cases(base, seeded, opts) {
  const linksBase = `/api/v4/projects/${seeded.projectId}/releases`;
  const created = []; // [tag, id]
  let n = 0;
  const runId = randomBytes(3).toString('hex');
  const createBody = () => {
    const i = n++;
    return JSON.stringify({ name: `bench-${runId}-${i}`, url: `https://downloads.example.com/bench/${runId}/${i}.zip`, link_type: 'package' });
  };
  return {
    created,
    list: [
      {
        name: 'GET one link',
        floor: true,
        sample: () => api(base, seeded.token, 'GET', `/projects/${seeded.projectId}/releases/v1.0/assets/links/${seeded.linkId}`),
        requests: () => [{ method: 'GET', path: `${linksBase}/v1.0/assets/links/${seeded.linkId}` }],
      },
      {
        name: 'GET page of 20',
        floor: true,
        sample: () => api(base, seeded.token, 'GET', `/projects/${seeded.projectId}/releases/v1.0/assets/links?per_page=20`),
        requests: () => [{ method: 'GET', path: `${linksBase}/v1.0/assets/links?per_page=20` }],
      },
      {
        name: 'POST create',
        write: true,
        sample: () => api(base, seeded.token, 'POST', `/projects/${seeded.projectId}/releases/w00000/assets/links`, JSON.parse(createBody())),
        requests: (isRelinks) => [
          {
            method: 'POST',
            setupRequest: (req) => {
              const tag = `w${String(n % WRITE_RELEASES).padStart(5, '0')}`;
              return { ...req, path: `${linksBase}/${tag}/assets/links`, headers: { ...req.headers, 'content-type': 'application/json' }, body: createBody() };
            },
            onResponse: isRelinks
              ? (status, body) => {
                  if (status === 201) {
                    const link = JSON.parse(body);
                    const tag = /\/bench\/[0-9a-f]+\/(\d+)\.zip$/.exec(link.url);
                    if (tag) created.push([`w${String(Number(tag[1]) % WRITE_RELEASES).padStart(5, '0')}`, link.id]);
                  }
                }
              : undefined,
          },
        ],
      },
      {
        name: 'PUT update',
        write: true,
        sample: () => {
          const [tag, id] = created[0];
          return api(base, seeded.token, 'PUT', `/projects/${seeded.projectId}/releases/${tag}/assets/links/${id}`, { name: `bench-${runId}-${n++}` });
        },
        requests: () => {
          let k = 0;
          return [
            {
              method: 'PUT',
              setupRequest: (req) => {
                const [tag, id] = created[k++ % created.length];
                return { ...req, path: `${linksBase}/${tag}/assets/links/${id}`, headers: { ...req.headers, 'content-type': 'application/json' }, body: JSON.stringify({ name: `bench-${runId}-${n++}` }) };
              },
            },
          ];
        },
      },
      {
        name: 'DELETE',
        write: true,
        consumes: true,
        sample: () => {
          const [tag, id] = created.pop();
          return api(base, seeded.token, 'DELETE', `/projects/${seeded.projectId}/releases/${tag}/assets/links/${id}`);
        },
        requests: (isRelinks) => [
          {
            method: 'DELETE',
            setupRequest: (req) => {
              if (!isRelinks) return { ...req, path: `${linksBase}/w00000/assets/links/1` };
              const next = created.pop();
              // Out of links: point at one that is gone; autocannon's `amount` keeps this from happening.
              const [tag, id] = next ?? ['w00000', 0];
              return { ...req, path: `${linksBase}/${tag}/assets/links/${id}` };
            },
          },
        ],
      },
    ],
  };
}

async function measureAll({ relinks, bare, floor, seeded, opts, label }) {
  const headers = { 'private-token': seeded.token };
  const { list, created } = cases(relinks.base, seeded, opts);
  // Warm the JIT on both sides so the first measured case is not penalised.
  for (const c of list.slice(0, 3)) {
    const s = await c.sample();
    await bare.answer(s.status, s.text);
    await load({ pid: bare.child.pid, url: bare.base, connections: opts.connections, duration: 1, headers, requests: c.requests(false) });
    await load({ pid: relinks.child.pid, url: relinks.base, connections: opts.connections, duration: 1, headers, requests: c.requests(true) });
    if (c.floor && floor) await load({ pid: floor.child.pid, url: floor.base, connections: opts.connections, duration: 1, headers, requests: c.requests(false) });
  }
  const rows = [];
  let peakUnderLoad = 0;
  for (const c of list) {
    // --only GET measures just the matching cases (for profiling); write cases still need POST first.
    if (opts.only && !c.name.toLowerCase().includes(opts.only)) continue;
    const sample = await c.sample();
    await bare.answer(sample.status, sample.text);
    const b = await load({ pid: bare.child.pid, url: bare.base, connections: opts.connections, duration: opts.duration, headers, requests: c.requests(false) });
    const fl = c.floor && floor ? await load({ pid: floor.child.pid, url: floor.base, connections: opts.connections, duration: opts.duration, headers, requests: c.requests(false) }) : undefined;
    let amount;
    if (c.consumes) amount = created.length;
    const sampler = setInterval(() => { peakUnderLoad = Math.max(peakUnderLoad, memoryOf(relinks.child.pid).current); }, 200);
    const r = await load({ pid: relinks.child.pid, url: relinks.base, connections: opts.connections, duration: opts.duration, amount, headers, requests: c.requests(true) });
    clearInterval(sampler);
    rows.push({ name: c.name, bytes: Buffer.byteLength(sample.text), bare: b, floor: fl, relinks: r, ratio: r.rps / b.rps, cpuRatio: b.cpuUs / r.cpuUs });
  }
  const mem = memoryOf(relinks.child.pid);
  return { label, rows, peakRss: mem.peak, peakUnderLoad };
}

const f0 = (x) => (Number.isFinite(x) ? Math.round(x).toString() : '-');
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : '-');

function printTable(result, opts) {
  console.log(`\n## ${result.label}`);
  const head = ['case', 'body B', 'bare req/s', 'p50', 'p99', 'cpu µs', 'relinks req/s', 'p50', 'p99', 'cpu µs', 'non-2xx', 'ratio', 'cpu ratio'];
  const lines = result.rows.map((r) => [
    r.name,
    String(r.bytes),
    f0(r.bare.rps),
    `${r.bare.p50}`,
    `${r.bare.p99}`,
    f0(r.bare.cpuUs),
    f0(r.relinks.rps),
    `${r.relinks.p50}`,
    `${r.relinks.p99}`,
    f0(r.relinks.cpuUs),
    String(r.relinks.non2xx + r.relinks.errors),
    f2(r.ratio),
    f2(r.cpuRatio),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cols) => cols.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(fmt(head));
  for (const l of lines) console.log(fmt(l));
  console.log(`relinks peak RSS (VmHWM): ${f0(result.peakRss)} MB; highest RSS sampled under load: ${f0(result.peakUnderLoad)} MB`);
  const floored = result.rows.filter((r) => r.floor);
  if (floored.length) {
    console.log('\nthe floor: a plugin-free Fastify doing only the token digest (cached lookup), one prepared query and a response schema');
    console.log('case              floor req/s   p99  cpu µs  non-2xx   floor/bare   relinks/floor req/s   floor/relinks cpu');
    for (const r of floored) {
      console.log(`${r.name.padEnd(16)} ${f0(r.floor.rps).padStart(12)} ${String(r.floor.p99).padStart(5)} ${f0(r.floor.cpuUs).padStart(7)} ${String(r.floor.non2xx + r.floor.errors).padStart(8)} ${f2(r.floor.rps / r.bare.rps).padStart(12)} ${f2(r.relinks.rps / r.floor.rps).padStart(21)} ${f2(r.floor.cpuUs / r.relinks.cpuUs).padStart(19)}`);
    }
  }
  void opts;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  buildIfStale();
  const store = await createStore(opts.postgres);
  console.log(`relinks benchmark: store ${store.label}, c=${opts.connections}, ${opts.duration} s per case, node ${process.version}, ${os.cpus().length} CPUs`);
  // Everything shares the machine's CPUs: other work running now skews req/s (cpu µs less so).
  console.log(`load average at start: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log('latency in ms (p50/p99); cpu µs = server CPU time per answered request (/proc/<pid>/stat);');
  console.log('ratio = relinks req/s / bare req/s; cpu ratio = bare cpu µs / relinks cpu µs; non-2xx counts relinks errors too');
  if (!opts.postgres) {
    const [before, after] = await measureCommits(Math.min(opts.duration, 3), opts.connections);
    console.log(`\n## durable commits on SQLite (WAL, synchronous=FULL), ${opts.connections} writers, one row per unit`);
    console.log(`${before.label.padEnd(28)} ${f0(before.perSecond).padStart(7)} units/s`);
    console.log(`${after.label.padEnd(28)} ${f0(after.perSecond).padStart(7)} units/s  (${f2(after.perSecond / before.perSecond)}x)`);
  }
  let relinks;
  let bare;
  let floor;
  try {
    relinks = await startRelinks(store.databaseUrl);
    bare = await startBare();
    console.log(`relinks pid ${relinks.child.pid}, bare pid ${bare.child.pid}`);
    const seeded = await seed(relinks.base, store);
    // Rows written past relinks and a fresh ANALYZE are what a restart finds after a bulk import;
    // relinks tunes the store's statistics when it opens it (see dropStat4Samples), so restart it.
    relinks = await restartRelinks(relinks, store);
    floor = await startFloor(store.databaseUrl);
    const small = await measureAll({ relinks, bare, floor, seeded, opts, label: `small store: 1 project, ${WRITE_RELEASES + 1} releases, 100 links on the measured release` });
    printTable(small, opts);
    if (opts.metricsRounds > 0 && (!opts.only || 'get one link'.includes(opts.only))) {
      printMetricsOverhead(await measureMetricsOverhead({ seeded: { ...seeded, databaseUrl: store.databaseUrl }, opts }));
    }
    if (opts.filesMb > 0 && (!opts.only || 'files'.includes(opts.only))) {
      printFiles(await measureFiles({ base: relinks.base, pid: relinks.child.pid, token: ROOT_TOKEN, projectId: seeded.projectId, sizeMb: opts.filesMb }));
    }
    if (opts.links > 0) {
      const releases = Math.max(1, Math.round(opts.links / 100));
      const started = Date.now();
      await bulkReleases(store, seeded.projectId, seeded.userId, 'bulk-', releases, Math.round(opts.links / releases));
      relinks = await restartRelinks(relinks, store);
      console.log(`\nseeded ${releases * Math.round(opts.links / releases)} links over ${releases} releases by bulk insert in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      const large = await measureAll({ relinks, bare, floor, seeded, opts, label: `large store: +${opts.links} links over ${releases} releases` });
      printTable(large, opts);
      console.log('\n## large vs small: how much slower relinks is on the large store (1.00 = no slower)');
      console.log('case              by req/s  by cpu µs/req  by ratio to bare   p99 small -> large');
      for (let i = 0; i < large.rows.length; i++) {
        const s = small.rows[i];
        const l = large.rows[i];
        const cols = [f2(s.relinks.rps / l.relinks.rps), f2(l.relinks.cpuUs / s.relinks.cpuUs), f2(s.ratio / l.ratio)];
        console.log(`${l.name.padEnd(16)} ${cols[0].padStart(9)}x ${cols[1].padStart(13)}x ${cols[2].padStart(16)}x   ${s.relinks.p99} -> ${l.relinks.p99} ms`);
      }
    }
    if (opts.instructions > 0) {
      console.log(`\n## instructions per GET of one link under callgrind: metrics off and on, ${opts.instructions} pairs (SQLite, one request at a time; bench-instructions.mjs says why)`);
      if (valgrindMissing()) console.log('valgrind is not installed: skipped (apt-get install -y valgrind)');
      else printInstructions(await measureInstructions(opts.instructions));
    }
    console.log(`\nload average at end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  } finally {
    if (bare) bare.child.kill('SIGKILL');
    if (floor) floor.child.kill('SIGKILL');
    if (relinks) await stopRelinks(relinks.child);
    if (!opts.keep) await store.drop();
    else console.log(`kept store: ${store.databaseUrl}`);
  }
}

// ---------------------------------------------------------------- the bare server (child mode)
function bareServer() {
  // The answer is set by the parent before each case: same status and exactly the same bytes.
  let status = 200;
  let body = Buffer.from('{}');
  process.on('message', (m) => {
    status = m.status;
    body = Buffer.from(m.body);
    process.send({ ok: true });
  });
  const server = http.createServer((req, res) => {
    // Read the request body like a real server would before answering.
    req.on('data', () => {});
    req.on('end', () => {
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(Number(process.argv[3]), '127.0.0.1', () => process.send({ listening: true }));
}

// ---------------------------------------------------------------- the floor server (child mode)
/**
 * The floor of this stack: Fastify with no plugins doing only what GET one link and a page of links
 * cannot do without — the token's SHA-256 digest, a token lookup cached in memory, one prepared
 * query joining project, membership, release and link(s), and the answer through a response
 * schema. relinks' distance to it is what its own pipeline, rules and checks cost.
 */
async function floorServer() {
  const [port, databaseUrl, externalUrl] = process.argv.slice(3);
  const { default: Fastify } = await import('fastify');
  const { createHash } = await import('node:crypto');
  const app = Fastify({ logger: false });
  const linkSql = (postgres, page) => {
    const n = (i) => (postgres ? `$${i}` : '?');
    return `select l.id, l.name, l.url, l.filepath, l.link_type, p.full_path, coalesce(m.access_level, 0) as access
      from projects p
      left join members m on m.source_type = 'Project' and m.source_id = p.id and m.user_id = ${n(1)}
      join releases r on r.project_id = p.id and r.tag_name = ${n(2)}
      join release_links l on l.release_id = r.id ${page ? '' : `and l.id = ${n(4)}`}
      where p.id = ${n(3)} ${page ? 'order by l.created_at desc, l.id desc limit 20' : ''}`;
  };
  let tokenUser;
  let links;
  if (databaseUrl.startsWith('sqlite:')) {
    const { default: SQLite } = await import('better-sqlite3');
    const db = new SQLite(databaseUrl.slice('sqlite:'.length), { readonly: true });
    const token = db.prepare('select user_id from personal_access_tokens where token_digest = ? and revoked = 0');
    const one = db.prepare(linkSql(false, false));
    const page = db.prepare(linkSql(false, true));
    tokenUser = async (digest) => token.get(digest)?.user_id;
    // SQLite binds `?` in the order they appear in the text, where the link id comes before the
    // project id; PostgreSQL's $n are numbered.
    links = async (userId, tag, projectId, linkId) => (linkId === undefined ? page.all(userId, tag, projectId) : one.all(userId, tag, linkId, projectId));
  } else {
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({ connectionString: databaseUrl.replace(/[?&]schema=([^&]+)/, ''), max: 10, options: `-c search_path=${/[?&]schema=([^&]+)/.exec(databaseUrl)?.[1] ?? 'public'}` });
    tokenUser = async (digest) => (await pool.query({ name: 'token', text: 'select user_id from personal_access_tokens where token_digest = $1 and revoked = 0', values: [digest] })).rows[0]?.user_id;
    links = async (userId, tag, projectId, linkId) =>
      linkId === undefined
        ? (await pool.query({ name: 'page', text: linkSql(true, true), values: [userId, tag, projectId] })).rows
        : (await pool.query({ name: 'one', text: linkSql(true, false), values: [userId, tag, projectId, linkId] })).rows;
  }
  const cache = new Map();
  const userOf = async (token) => {
    const digest = createHash('sha256').update(token).digest('hex');
    let user = cache.get(digest);
    if (user === undefined) cache.set(digest, (user = await tokenUser(digest)));
    return user;
  };
  const link = { type: 'object', properties: { id: { type: 'integer' }, name: { type: 'string' }, url: { type: 'string' }, direct_asset_url: { type: 'string' }, external: { type: 'boolean' }, link_type: { type: 'string' } } };
  const json = (row, tag) => {
    const web = `${externalUrl}/${row.full_path}`;
    return { id: row.id, name: row.name, url: row.url, direct_asset_url: row.filepath ? `${web}/-/releases/${encodeURIComponent(tag)}/downloads${row.filepath}` : row.url, external: !row.url.startsWith(web), link_type: row.link_type };
  };
  const handle = async (request, reply, linkId) => {
    const user = await userOf(request.headers['private-token'] ?? '');
    if (user === undefined) return reply.code(401).send({ message: '401 Unauthorized' });
    const rows = await links(user, request.params.tag, Number(request.params.id), linkId);
    if (rows.length === 0 || rows[0].access < 20) return reply.code(404).send({ message: '404 Not found' });
    return linkId === undefined ? rows.map((r) => json(r, request.params.tag)) : json(rows[0], request.params.tag);
  };
  const base = '/api/v4/projects/:id/releases/:tag/assets/links';
  app.get(base, { schema: { response: { 200: { type: 'array', items: link } } } }, (request, reply) => handle(request, reply, undefined));
  app.get(`${base}/:link_id`, { schema: { response: { 200: link } } }, (request, reply) => handle(request, reply, Number(request.params.link_id)));
  await app.listen({ port: Number(port), host: '127.0.0.1' });
  process.send({ listening: true });
}

// Run last: everything above is declared by now.
if (process.argv[2] === '--bare-server') bareServer();
else if (process.argv[2] === '--floor-server') await floorServer();
else await main();
