#!/usr/bin/env node
// Crash test: clients create links as fast as they can while the server (`node bin/relinks.js serve`)
// is killed with SIGKILL and started again, round after round. Afterwards, straight from the
// database: every link that got a 201 is there with every column as sent, none is duplicated, no
// row is half-written or unexplained, and SQLite's integrity_check says ok.
//
//   npm run crashtest                     # 20 rounds on a fresh SQLite file
//   npm run crashtest -- --postgres       # the same on a fresh PostgreSQL schema (TEST_DATABASE_URL)
//   options: --rounds N  --concurrency N  --no-build
// Exit status 0 only when nothing acknowledged was lost or damaged.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { buildDist, freePort, root, sleep, scratchStore, callJson } from './lib.mjs';

const ROOT_TOKEN = 'crash-test-root-token-0123456789';
const LINK_TYPES = ['other', 'runbook', 'image', 'package'];


/** One JSON request as root; see lib.mjs callJson. */
const call = (agent, port, method, urlPath, body) => callJson({ agent, port, token: ROOT_TOKEN, method, urlPath, body, timeoutMs: 15_000 });

/** PUT of raw bytes (a generic package file); resolves { status } or rejects on any network failure. */
function putFile(agent, port, urlPath, bytes) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: 'PUT', path: urlPath, agent, headers: { 'private-token': ROOT_TOKEN, 'content-length': bytes.length } },
      (res) => {
        res.resume();
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode }));
      },
    );
    req.setTimeout(15_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(bytes);
  });
}

/** GET of a file's bytes: { status, sha256 }. */
function getFile(agent, port, urlPath) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'GET', path: urlPath, agent, headers: { 'private-token': ROOT_TOKEN } }, (res) => {
      const hash = createHash('sha256');
      res.on('data', (c) => hash.update(c));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode, sha256: hash.digest('hex') }));
    });
    req.on('error', reject);
    req.end();
  });
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** The server as a child process, started and killed at will. */
function serverProcess(databaseUrl, port) {
  let child = null;
  let output = '';
  return {
    get output() {
      return output;
    },
    async start() {
      child = spawn(process.execPath, [path.join(root, 'bin/relinks.js'), 'serve'], {
        env: {
          ...process.env,
          PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: databaseUrl, RELINKS_INITIAL_ROOT_TOKEN: ROOT_TOKEN,
          EXTERNAL_URL: `http://127.0.0.1:${port}`, LOG_LEVEL: 'error', RATE_LIMITS: 'off',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const keep = (d) => (output = (output + d).slice(-20_000));
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      const agent = new http.Agent({ keepAlive: false });
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode} while starting:\n${output}`);
        try {
          const res = await call(agent, port, 'GET', '/-/readiness');
          if (res.status === 200) return;
        } catch {
          // not listening yet
        }
        await sleep(25);
      }
      throw new Error(`server not ready within 30 s:\n${output}`);
    },
    async kill() {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
    /** The orderly way out, for the end of the run. */
    async stop() {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Reads back what the database holds, the same way on both stores. */
async function openCheck(databaseUrl) {
  if (databaseUrl.startsWith('sqlite:')) {
    const db = new Database(databaseUrl.slice('sqlite:'.length), { readonly: true });
    return {
      async all(sqlText, ...args) {
        return db.prepare(sqlText.replace(/\$\d+/g, '?')).all(...args);
      },
      async integrity() {
        const rows = db.pragma('integrity_check');
        const fk = db.pragma('foreign_key_check');
        return rows.length === 1 && rows[0].integrity_check === 'ok' && fk.length === 0 ? 'ok' : JSON.stringify({ rows, fk });
      },
      async close() {
        db.close();
      },
    };
  }
  const url = new URL(databaseUrl);
  const schema = url.searchParams.get('schema');
  url.searchParams.delete('schema');
  const client = new pg.Client({ connectionString: url.toString(), options: schema ? `-c search_path=${schema}` : undefined });
  await client.connect();
  return {
    async all(sqlText, ...args) {
      return (await client.query(sqlText, args)).rows;
    },
    async integrity() {
      // PostgreSQL has no integrity_check; what a torn write would break is checked instead:
      // every link's release exists (foreign keys) and every release's tag exists.
      const orphans = await client.query('select count(*)::int as n from release_links l where not exists (select 1 from releases r where r.id = l.release_id)');
      return orphans.rows[0].n === 0 ? 'ok (no integrity_check on PostgreSQL; foreign keys hold)' : `${orphans.rows[0].n} orphaned links`;
    },
    async close() {
      await client.end();
    },
  };
}

/**
 * Runs the crash test against an existing, empty store. Returns the figures; `problems` is empty
 * when nothing acknowledged was lost, duplicated or damaged.
 */
export async function crashTest({ databaseUrl, rounds = 20, concurrency = 16, minAcked = 50, log = () => {} }) {
  const port = await freePort();
  const server = serverProcess(databaseUrl, port);
  const attempts = new Map(); // name → { sent, tag, acked: id | null, answered: boolean }
  const releases = new Map(); // tag → acknowledged?
  const files = new Map(); // generic package path → { sha256, acked }
  const fileProblems = [];
  let projectId;
  try {
    await server.start();
    const setupAgent = new http.Agent({ keepAlive: false });
    const project = await call(setupAgent, port, 'POST', '/api/v4/projects', { name: `crash-${randomBytes(3).toString('hex')}` });
    if (project.status !== 201) throw new Error(`project create: ${project.status} ${project.text}`);
    projectId = project.json.id;

    for (let round = 1; round <= rounds; round++) {
      if (round > 1) await server.start();
      let killed = false;
      const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
      // A release per worker and round keeps each far below the 1,000-links limit.
      const worker = async (w) => {
        const tag = `r${round}w${w}`;
        try {
          const rel = await call(agent, port, 'POST', `/api/v4/projects/${projectId}/releases`, { tag_name: tag, ref: 'main' });
          if (rel.status !== 201) throw new Error(`release ${tag}: ${rel.status} ${rel.text}`);
          releases.set(tag, true);
        } catch (error) {
          if (killed) return;
          throw error;
        }
        for (let i = 0; !killed; i++) {
          const name = `${tag}-w${w}-${i}`;
          const sent = { name, url: `https://example.com/crash/${tag}/${w}/${i}`, filepath: `/crash/${tag}/w${w}/${i}`, link_type: LINK_TYPES[i % 4] };
          const attempt = { sent, tag, acked: null, answered: false };
          attempts.set(name, attempt);
          try {
            const res = await call(agent, port, 'POST', `/api/v4/projects/${projectId}/releases/${tag}/assets/links`, sent);
            attempt.answered = true;
            if (res.status === 201) attempt.acked = res.json;
            else if (!killed) throw new Error(`unexpected ${res.status} ${res.text}`);
          } catch (error) {
            if (!killed) throw error;
          }
        }
      };
      // Files too: uploads of a few hundred KiB, so kills land mid-stream and mid-commit as well.
      const fileWorker = async (w) => {
        for (let i = 0; !killed; i++) {
          const filePath = `/api/v4/projects/${projectId}/packages/generic/crash/${round}.${w}.${i}/f.bin`;
          const bytes = randomBytes(100_000 + Math.floor(Math.random() * 400_000));
          const entry = { sha256: sha256(bytes), acked: false };
          files.set(filePath, entry);
          try {
            const res = await putFile(agent, port, filePath, bytes);
            if (res.status === 201) entry.acked = true;
            else if (!killed) throw new Error(`file upload: unexpected ${res.status}`);
          } catch (error) {
            if (!killed) throw error;
          }
        }
      };
      const workers = [...Array.from({ length: concurrency }, (_, w) => worker(w)), fileWorker(0), fileWorker(1)];
      // Kill at a random moment once writes flow, so the kill lands mid-transaction, mid-fsync or mid-response.
      const ackedThisRound = () => [...attempts.values()].filter((a) => a.tag.startsWith(`r${round}w`) && a.acked).length;
      // A file upload too: on a busy machine 30 links can be acknowledged before any file is.
      const filesThisRound = () => [...files].filter(([p, f]) => p.includes(`/generic/crash/${round}.`) && f.acked).length;
      const flowing = Date.now() + 20_000;
      while ((ackedThisRound() < minAcked || filesThisRound() === 0) && Date.now() < flowing) await sleep(10);
      await sleep(Math.floor(Math.random() * 400));
      killed = true;
      await server.kill();
      await Promise.all(workers);
      agent.destroy();
      const acked = [...attempts.values()].filter((a) => a.tag.startsWith(`r${round}w`) && a.acked).length;
      log(`round ${round}/${rounds}: ${acked} links acknowledged before kill -9`);
    }
    // One more start: the store must open cleanly after the last kill and serve what it holds.
    await server.start();
    const listed = await call(setupAgent, port, 'GET', `/api/v4/projects/${projectId}/releases/r1w0/assets/links?per_page=1`);
    if (listed.status !== 200) throw new Error(`after the last restart: ${listed.status} ${listed.text}`);
    // Every file answered 201 is there with the same bytes; no other file is half there.
    for (const [filePath, entry] of files) {
      const got = await getFile(setupAgent, port, filePath);
      if (entry.acked && (got.status !== 200 || got.sha256 !== entry.sha256)) fileProblems.push(`lost or damaged file: ${filePath} (${got.status})`);
      if (!entry.acked && got.status === 200 && got.sha256 !== entry.sha256) fileProblems.push(`half-written file: ${filePath}`);
    }
    await server.stop();
  } catch (error) {
    await server.kill();
    throw error;
  }

  // Verification, straight from the database.
  const check = await openCheck(databaseUrl);
  try {
    const rows = await check.all(
      `select l.id, l.name, l.url, l.filepath, l.link_type, r.tag_name from release_links l
       join releases r on r.id = l.release_id where r.project_id = $1`,
      projectId,
    );
    const byName = new Map();
    const problems = [];
    for (const row of rows) {
      if (byName.has(row.name)) problems.push(`duplicated: ${row.name}`);
      byName.set(row.name, row);
    }
    let lost = 0;
    let unknownWritten = 0;
    const same = (row, a) =>
      row.url === a.sent.url && row.filepath === a.sent.filepath && row.link_type === a.sent.link_type && row.tag_name === a.tag;
    for (const [name, a] of attempts) {
      const row = byName.get(name);
      if (a.acked) {
        if (!row) {
          lost++;
          problems.push(`lost: ${name} (id ${a.acked.id}) was acknowledged with 201`);
        } else if (Number(row.id) !== a.acked.id || !same(row, a)) problems.push(`damaged: ${name}: ${JSON.stringify(row)}`);
      } else if (row) {
        // No answer came (the kill cut it): it may or may not have committed, but never partly.
        unknownWritten++;
        if (!same(row, a)) problems.push(`half-written: ${name}: ${JSON.stringify(row)}`);
      }
    }
    for (const name of byName.keys()) if (!attempts.has(name)) problems.push(`unexplained row: ${name}`);
    const releaseRows = await check.all('select tag_name from releases where project_id = $1', projectId);
    for (const tag of releases.keys()) if (!releaseRows.some((r) => r.tag_name === tag)) problems.push(`lost release ${tag}`);
    problems.push(...fileProblems);
    const integrity = await check.integrity();
    if (!integrity.startsWith('ok')) problems.push(`integrity: ${integrity}`);
    return {
      store: databaseUrl.startsWith('sqlite:') ? 'sqlite' : 'postgres',
      rounds,
      acknowledged: [...attempts.values()].filter((a) => a.acked).length,
      filesAcknowledged: [...files.values()].filter((f) => f.acked).length,
      attempted: attempts.size,
      unanswered: [...attempts.values()].filter((a) => !a.answered).length,
      unansweredButWritten: unknownWritten,
      lost,
      rows: rows.length,
      integrity,
      problems,
    };
  } finally {
    await check.close();
  }
}

async function main() {
  const args = process.argv.slice(2);
  const option = (name, fallback) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : fallback;
  };
  const postgres = args.includes('--postgres');
  const rounds = option('--rounds', 20);
  const concurrency = option('--concurrency', 16);
  if (!args.includes('--no-build')) {
    if (!buildDist()) process.exit(1);
  }

  const { databaseUrl, cleanup } = await scratchStore(postgres, 'crash');

  const started = Date.now();
  try {
    const result = await crashTest({ databaseUrl, rounds, concurrency, log: (line) => console.log(line) });
    console.log(
      `\ncrashtest (${result.store}): ${result.rounds} kill -9 rounds, ${result.acknowledged} links acknowledged of ${result.attempted} attempted, ` +
        `${result.filesAcknowledged} files acknowledged (each read back by SHA-256), ` +
        `${result.lost} lost, ${result.unanswered} unanswered (${result.unansweredButWritten} of them committed whole), ` +
        `integrity: ${result.integrity}, ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
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
