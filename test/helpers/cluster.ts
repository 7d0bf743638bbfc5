import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import type { RequestOptions, Response } from './server.js';
import { requestTo, ROOT_TOKEN } from './server.js';
import { repoRoot as root } from './root.js';
import { postgresBaseUrl, type TestStore } from './store.js';

// Several relinks processes on one store, as they run in production: `node bin/relinks.js serve`
// from the built dist, each on a port of its own, sharing only the database.

/** A port nobody listens on right now (PORT=0 would not tell us which port the server took). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const START_TIMEOUT_MS = 60_000;

export { requestTo };

export interface Instance {
  url: string;
  port: number;
  child: ChildProcess;
  /** What the process wrote to stderr, for failure messages. */
  stderr(): string;
  request<T = any>(method: string, urlPath: string, options?: RequestOptions): Promise<Response<T>>;
  /** Sends the signal and waits for the process to exit; returns its exit code (null when killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface InstanceOptions {
  databaseUrl: string;
  port?: number;
  env?: Record<string, string>;
}

/** Spawns `relinks serve`; resolves once it is listening, or rejects with its stderr if it exits first. */
export async function startInstance(options: InstanceOptions): Promise<Instance> {
  const port = options.port ?? (await freePort());
  const child = spawn(process.execPath, [path.join(root, 'bin/relinks.js'), 'serve'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: options.databaseUrl,
      RELINKS_INITIAL_ROOT_TOKEN: ROOT_TOKEN,
      EXTERNAL_URL: 'http://relinks.test',
      LOG_LEVEL: 'warn',
      ...options.env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const instance: Instance = {
    url,
    port,
    child,
    stderr: () => stderr,
    request: (method, urlPath, opts) => requestTo(url, method, urlPath, opts),
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  // Generous: on a loaded 2-core machine several node processes starting at once take a while.
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`relinks on port ${port} exited (${child.exitCode ?? child.signalCode}) before listening:\n${stderr}`);
    }
    try {
      const res = await fetch(`${url}/-/liveness`);
      await res.arrayBuffer();
      if (res.ok) return instance;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`relinks on port ${port} did not start within ${START_TIMEOUT_MS / 1000} s:\n${stderr}`);
    }
    await sleep(50);
  }
}

/**
 * Starts `count` instances at the same moment. Each started one is pushed to `into` right away,
 * so a `finally`/`after` that stops `into` also stops them when a sibling fails to start.
 */
export async function startInstances(count: number, options: InstanceOptions, into: Instance[]): Promise<Instance[]> {
  const settled = await Promise.allSettled(
    Array.from({ length: count }, async () => {
      const instance = await startInstance(options);
      into.push(instance);
      return instance;
    }),
  );
  const failed = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason instanceof Error ? s.reason.message : String(s.reason)] : []));
  if (failed.length) throw new Error(`${failed.length} of ${count} instances failed to start:\n${failed.join('\n')}`);
  return settled.map((s) => (s as PromiseFulfilledResult<Instance>).value);
}

/** Stops every instance still running, even when some already exited; for `finally` blocks. */
export async function stopAll(instances: Iterable<Instance | undefined>, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  await Promise.all([...instances].map((i) => i?.stop(signal)));
}

/** Runs `work` over `items` with at most `limit` in flight. */
export async function inBatches<T, R>(items: T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Reads the test store directly, bypassing relinks: what is really in the table. */
export async function queryStore<T = Record<string, unknown>>(store: TestStore, text: string): Promise<T[]> {
  if (store.kind === 'sqlite') {
    const file = store.databaseUrl.slice('sqlite:'.length);
    if (!fs.existsSync(file)) throw new Error(`no SQLite file at ${file}`);
    const db = new SQLite(file, { readonly: true });
    try {
      return db.prepare(text).all() as T[];
    } finally {
      db.close();
    }
  }
  const schema = new URL(store.databaseUrl).searchParams.get('schema');
  const client = new pg.Client({ connectionString: postgresBaseUrl(), options: schema ? `-c search_path=${schema}` : undefined });
  await client.connect();
  try {
    return (await client.query(text)).rows as T[];
  } finally {
    await client.end();
  }
}
