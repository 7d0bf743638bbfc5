#!/usr/bin/env node
// Webhook delivery under load, with the built server (`node bin/relinks.js serve`) as child
// processes and receivers in this process. Four figures, each from a phase of its own:
//
//   throughput  release events created as fast as 16 clients can, delivered per second
//   latency     events at a steady rate: p50/p99 from the event's commit to its receipt
//   duplicates  two instances on one store deliver the same stream: receipts beyond one per event
//   kill        kill -9 rounds while events are created: events acknowledged (201) never received
//
//   npm run webhook-load                          # every phase on a fresh SQLite file
//   npm run webhook-load -- --postgres            # the same on a fresh PostgreSQL schema (TEST_DATABASE_URL)
//   options: --phase throughput|latency|duplicates|kill  --events N  --rate N  --rounds N  --no-build
// Exit status 0 only when no acknowledged event was lost and no duplicate came without a crash.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { buildDist, freePort, root, sleep, scratchStore, callJson } from './lib.mjs';

const ROOT_TOKEN = 'webhook-load-root-token-0123456789';
/** Receivers on separate ports: a worker sends to one host and port at a time. */
const RECEIVERS = 8;

/** One JSON request as root; see lib.mjs callJson. */
const call = (agent, port, method, urlPath, body) => callJson({ agent, port, token: ROOT_TOKEN, method, urlPath, body, timeoutMs: 30_000 });

/** Receivers that record when each event (project, tag, action) arrived, and with which Idempotency-Key. */
async function startReceivers() {
  const receipts = [];
  const servers = await Promise.all(
    Array.from({ length: RECEIVERS }, async () => {
      const server = http.createServer((req, res) => {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
          const at = Date.now();
          try {
            const body = JSON.parse(Buffer.concat(chunks).toString());
            receipts.push({ at, key: req.headers['idempotency-key'], event: `${body.project.id}/${body.tag}/${body.action}` });
          } catch {
            receipts.push({ at, key: req.headers['idempotency-key'], event: 'unparsable' });
          }
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
        });
      });
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
      return server;
    }),
  );
  return {
    receipts,
    urls: servers.map((s) => `http://127.0.0.1:${s.address().port}`),
    async close() {
      for (const s of servers) s.closeAllConnections();
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    },
  };
}

function serverProcess(databaseUrl, port, env = {}) {
  let child = null;
  let output = '';
  const state = {
    port,
    get output() {
      return output;
    },
    async start() {
      child = spawn(process.execPath, [path.join(root, 'bin/relinks.js'), 'serve'], {
        env: {
          ...process.env, PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: databaseUrl, RELINKS_INITIAL_ROOT_TOKEN: ROOT_TOKEN,
          EXTERNAL_URL: `http://127.0.0.1:${port}`, LOG_LEVEL: 'error', RATE_LIMITS: 'off', WEBHOOK_ALLOW_LOCAL_REQUESTS: 'true',
          WEBHOOK_WORKERS: '8', WEBHOOK_POLL_INTERVAL_MS: '200', WEBHOOK_TIMEOUT_MS: '2000', ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const keep = (d) => (output = (output + d).slice(-20_000));
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      const agent = new http.Agent({ keepAlive: false });
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode} while starting:\n${output}`);
        try {
          if ((await call(agent, port, 'GET', '/-/readiness')).status === 200) return;
        } catch {
          // not listening yet
        }
        await sleep(25);
      }
      throw new Error(`server not ready within 60 s:\n${output}`);
    },
    async kill(signal = 'SIGKILL') {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      await exited;
    },
  };
  return state;
}

async function openQuery(databaseUrl) {
  if (databaseUrl.startsWith('sqlite:')) {
    const db = new Database(databaseUrl.slice('sqlite:'.length), { readonly: true });
    return { all: async (text) => db.prepare(text).all(), close: async () => db.close() };
  }
  const url = new URL(databaseUrl);
  const schema = url.searchParams.get('schema');
  url.searchParams.delete('schema');
  const client = new pg.Client({ connectionString: url.toString(), options: schema ? `-c search_path=${schema}` : undefined });
  await client.connect();
  return { all: async (text) => (await client.query(text)).rows, close: () => client.end() };
}

/** Projects, each with one hook on one of the receivers. */
async function setup(port, receivers, projects) {
  const agent = new http.Agent({ keepAlive: true });
  const ids = [];
  const tag = randomBytes(3).toString('hex');
  for (let i = 0; i < projects; i++) {
    const project = await call(agent, port, 'POST', '/api/v4/projects', { name: `load-${tag}-${i}` });
    if (project.status !== 201) throw new Error(`project: ${project.status} ${project.text}`);
    const hook = await call(agent, port, 'POST', `/api/v4/projects/${project.json.id}/hooks`, { url: `${receivers.urls[i % receivers.urls.length]}/p${i}`, releases_events: true });
    if (hook.status !== 201) throw new Error(`hook: ${hook.status} ${hook.text}`);
    ids.push(project.json.id);
  }
  agent.destroy();
  return ids;
}

/** The commit time of every event, from the store: the event row is written in the change's transaction. */
async function commitTimes(databaseUrl) {
  const q = await openQuery(databaseUrl);
  try {
    const rows = await q.all('select payload, created_at from web_hook_events');
    return new Map(rows.map((r) => {
      const body = JSON.parse(r.payload);
      return [`${body.project.id}/${body.tag}/${body.action}`, Date.parse(r.created_at)];
    }));
  } finally {
    await q.close();
  }
}

async function pendingDeliveries(databaseUrl) {
  const q = await openQuery(databaseUrl);
  try {
    const [row] = await q.all("select count(*) as n from web_hook_deliveries where state = 'pending'");
    return Number(row.n);
  } finally {
    await q.close();
  }
}

async function drained(databaseUrl, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if ((await pendingDeliveries(databaseUrl)) === 0) return true;
    await sleep(200);
  }
  return false;
}

const percentile = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN);

/** Creates `count` releases over the projects with `concurrency` clients, optionally paced at `rate` a second. */
async function createReleases(ports, projectIds, count, { concurrency = 16, rate, prefix, stop = () => false, acked = new Set() }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  let next = 0;
  const started = Date.now();
  const worker = async () => {
    while (next < count && !stop()) {
      const i = next++;
      if (rate) {
        const due = started + (i * 1000) / rate;
        if (due > Date.now()) await sleep(due - Date.now());
      }
      const projectId = projectIds[i % projectIds.length];
      const port = ports[i % ports.length];
      const tag = `${prefix}-${i}`;
      try {
        const res = await call(agent, port, 'POST', `/api/v4/projects/${projectId}/releases`, { tag_name: tag, ref: 'main' });
        if (res.status === 201) acked.add(`${projectId}/${tag}/create`);
        else if (!stop()) throw new Error(`release ${tag}: ${res.status} ${res.text}`);
      } catch (error) {
        if (!stop()) throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  return acked;
}

export async function webhookLoad({ databaseUrl, phase, events = 2000, rate = 50, seconds = 10, rounds = 5, log = () => {} }) {
  const receivers = await startReceivers();
  const results = {};
  const problems = [];
  const servers = [];
  try {
    const port = await freePort();
    const server = serverProcess(databaseUrl, port);
    servers.push(server);
    await server.start();
    const projectIds = await setup(port, receivers, RECEIVERS);

    if (phase === 'all' || phase === 'throughput') {
      // A backlog first (an instance that delivers nothing takes the writes), then the delivering
      // instance alone drains it: its rate is the delivery rate, not the rate of creates.
      await server.kill('SIGTERM');
      const apiOnly = serverProcess(databaseUrl, await freePort(), { WEBHOOK_WORKERS: '0' });
      servers.push(apiOnly);
      await apiOnly.start();
      const from = receivers.receipts.length;
      const created = Date.now();
      const acked = await createReleases([apiOnly.port], projectIds, events, { prefix: 'tp' });
      const createdIn = (Date.now() - created) / 1000;
      await apiOnly.kill('SIGTERM');
      servers.pop();
      await server.start();
      const started = Date.now();
      if (!(await drained(databaseUrl, 300_000))) problems.push('throughput: deliveries still pending after 300 s');
      const got = receivers.receipts.slice(from);
      const seconds = (Math.max(...got.map((r) => r.at)) - started) / 1000;
      results.throughput = { events: acked.size, received: got.length, createdPerSecond: acked.size / createdIn, deliveredPerSecond: got.length / seconds, seconds };
      log(`throughput: ${acked.size} events created in ${createdIn.toFixed(1)} s (${(acked.size / createdIn).toFixed(0)}/s) with delivery off; then ${got.length} delivered in ${seconds.toFixed(1)} s: ${(got.length / seconds).toFixed(0)} events/s`);
      if (got.length !== acked.size) problems.push(`throughput: ${acked.size} events, ${got.length} receipts`);
    }

    if (phase === 'all' || phase === 'latency') {
      const from = receivers.receipts.length;
      const count = rate * seconds;
      const acked = await createReleases([port], projectIds, count, { prefix: 'lat', rate, concurrency: 8 });
      if (!(await drained(databaseUrl, 120_000))) problems.push('latency: deliveries still pending after 120 s');
      const commits = await commitTimes(databaseUrl);
      const latencies = receivers.receipts.slice(from).map((r) => r.at - (commits.get(r.event) ?? NaN)).filter((n) => !Number.isNaN(n)).sort((a, b) => a - b);
      results.latency = { events: acked.size, rate, p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies[latencies.length - 1] };
      log(`latency: ${acked.size} events at ${rate}/s, commit to receipt p50 ${results.latency.p50} ms, p99 ${results.latency.p99} ms, max ${results.latency.max} ms`);
    }

    if (phase === 'all' || phase === 'duplicates') {
      const port2 = await freePort();
      const second = serverProcess(databaseUrl, port2);
      servers.push(second);
      await second.start();
      const from = receivers.receipts.length;
      const acked = await createReleases([port, port2], projectIds, Math.min(events, 1000), { prefix: 'dup' });
      if (!(await drained(databaseUrl, 300_000))) problems.push('duplicates: deliveries still pending after 300 s');
      await sleep(500);
      const got = receivers.receipts.slice(from);
      const keys = new Set(got.map((r) => r.key));
      const missing = [...acked].filter((e) => !got.some((r) => r.event === e)).length;
      results.duplicates = { events: acked.size, received: got.length, distinctKeys: keys.size, duplicates: got.length - keys.size, missing };
      log(`duplicates: 2 instances, ${acked.size} events, ${got.length} receipts, ${keys.size} distinct Idempotency-Keys: ${got.length - keys.size} duplicates, ${missing} missing`);
      if (got.length !== keys.size) problems.push(`duplicates: ${got.length - keys.size} without any crash`);
      if (missing) problems.push(`duplicates phase: ${missing} events never received`);
      await second.kill('SIGTERM');
      servers.pop();
    }

    if (phase === 'all' || phase === 'kill') {
      const from = receivers.receipts.length;
      const acked = new Set();
      for (let round = 1; round <= rounds; round++) {
        if (round > 1) await server.start();
        let killed = false;
        const creating = createReleases([port], projectIds, 1_000_000, { prefix: `k${round}`, stop: () => killed, acked });
        await sleep(1000 + Math.floor(Math.random() * 2000));
        killed = true;
        await server.kill();
        await creating.catch(() => {});
        log(`kill round ${round}/${rounds}: ${acked.size} events acknowledged so far`);
      }
      await server.start();
      if (!(await drained(databaseUrl, 300_000))) problems.push('kill: deliveries still pending after 300 s');
      await sleep(500);
      const got = receivers.receipts.slice(from);
      const received = new Set(got.map((r) => r.event));
      const lost = [...acked].filter((e) => !received.has(e));
      const keys = new Set(got.map((r) => r.key));
      results.kill = { rounds, acknowledged: acked.size, received: received.size, lost: lost.length, duplicates: got.length - keys.size };
      log(`kill -9: ${rounds} rounds, ${acked.size} events acknowledged, ${lost.length} lost, ${got.length - keys.size} sent twice (a kill mid-delivery), ${received.size - [...acked].filter((e) => received.has(e)).length} delivered though their 201 was cut off`);
      for (const e of lost.slice(0, 10)) problems.push(`lost: ${e}`);
    }
    await server.kill('SIGTERM');
  } finally {
    for (const s of servers) await s.kill();
    await receivers.close();
  }
  return { store: databaseUrl.startsWith('sqlite:') ? 'sqlite' : 'postgres', results, problems };
}

async function main() {
  const args = process.argv.slice(2);
  const option = (name, fallback) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : fallback;
  };
  const postgres = args.includes('--postgres');
  if (!args.includes('--no-build') && !buildDist()) process.exit(1);
  const { databaseUrl, cleanup } = await scratchStore(postgres, 'hookload');
  try {
    const result = await webhookLoad({
      databaseUrl,
      phase: option('--phase', 'all'),
      events: Number(option('--events', 2000)),
      rate: Number(option('--rate', 50)),
      rounds: Number(option('--rounds', 5)),
      log: (line) => console.log(line),
    });
    console.log(`\nwebhook-load (${result.store}): ${JSON.stringify(result.results)}`);
    for (const p of result.problems.slice(0, 20)) console.log(`  problem: ${p}`);
    process.exitCode = result.problems.length ? 1 : 0;
  } finally {
    await cleanup();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
