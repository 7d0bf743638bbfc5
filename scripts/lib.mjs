// What the repo's scripts (test, bench, crashtest) share.
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A TCP port free on 127.0.0.1 right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Compiles src to dist with the project's TypeScript; true when it succeeded. */
export function buildDist() {
  const r = spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.json')], { stdio: 'inherit' });
  return r.status === 0;
}

/**
 * A store of its own for a script's run: a fresh PostgreSQL schema (TEST_DATABASE_URL) or a SQLite
 * file in a temporary folder. `cleanup` drops it.
 */
export async function scratchStore(postgres, label) {
  const { randomBytes } = await import('node:crypto');
  if (postgres) {
    const { default: pg } = await import('pg');
    const base = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
    const schema = `${label}_${process.pid}_${randomBytes(3).toString('hex')}`;
    const run = async (sql) => {
      const client = new pg.Client({ connectionString: base });
      await client.connect();
      try {
        await client.query(sql);
      } finally {
        await client.end();
      }
    };
    await run(`create schema ${schema}`);
    const url = new URL(base);
    url.searchParams.set('schema', schema);
    return { databaseUrl: url.toString(), cleanup: () => run(`drop schema if exists ${schema} cascade`) };
  }
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `relinks-${label}-`));
  return { databaseUrl: `sqlite:${path.join(dir, 'relinks.db')}`, cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** One JSON request to 127.0.0.1:`port`; resolves { status, json, text } or rejects on any network failure. */
export async function callJson({ agent, port, token, method, urlPath, body, timeoutMs }) {
  const { default: http } = await import('node:http');
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request(
      { host: '127.0.0.1', port, method, path: urlPath, agent, headers: { 'private-token': token, ...(data ? { 'content-type': 'application/json', 'content-length': data.length } : {}) } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let json;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode, json, text });
        });
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(data);
  });
}
