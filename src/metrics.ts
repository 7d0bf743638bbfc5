import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type pg from 'pg';
import { FastHistogram } from './histogram.js';

// The process's Prometheus metrics, served at /-/metrics (src/http/metrics.ts). They live outside
// http/ so that the store, the services and the rate limiter can record into them. One registry
// per process: servers started side by side in one process (tests) add into the same series.
// Every name is listed in docs/metrics.md.

export const registry = new Registry();
const registers = [registry];

// Most requests and queries here take well under a millisecond, so the buckets start low.
const REQUEST_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const QUERY_SECONDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

// The three histograms observed on every request or query are FastHistograms (histogram.ts).

/** observe(seconds, method, route, status) */
export const httpRequestDuration = new FastHistogram(
  'http_request_duration_seconds',
  'Time from receiving a request to finishing its response, by method, route template and status',
  ['method', 'route', 'status'],
  REQUEST_SECONDS,
  registry,
);

/** observe(seconds, operation) */
export const dbQueryDuration = new FastHistogram(
  'relinks_db_query_duration_seconds',
  'Time the database took to answer a statement sent through Kysely, by kind of statement',
  ['operation'],
  QUERY_SECONDS,
  registry,
);

export const dbQueryErrors = new Counter({
  name: 'relinks_db_query_errors_total',
  help: 'Statements that failed, by kind of statement',
  labelNames: ['operation'] as const,
  registers,
});

/** observe(seconds) */
export const dbConnectionWait = new FastHistogram(
  'relinks_db_connection_acquire_seconds',
  'Time spent waiting for a database connection (the PostgreSQL pool, or SQLite\'s single connection)',
  [],
  QUERY_SECONDS,
  registry,
);

export const groupCommitBatchSize = new Histogram({
  name: 'relinks_group_commit_batch_size',
  help: 'Units of work committed together in one SQLite transaction (group commit)',
  buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
  registers,
});

export const rateLimitRejections = new Counter({
  name: 'relinks_rate_limit_rejections_total',
  help: 'Requests answered 429, by the throttle that refused them',
  labelNames: ['throttle'] as const,
  registers,
});

export const downloads = new Counter({
  name: 'relinks_downloads_total',
  help: 'Release asset downloads answered, by API or web form of the URL',
  labelNames: ['via'] as const,
  registers,
});

const downloadBytes = new Counter({
  name: 'relinks_download_bytes_total',
  help: 'Bytes of asset files sent by relinks itself (a download that redirects sends none)',
  registers,
});

const uploads = new Counter({ name: 'relinks_uploads_total', help: 'Files uploaded', registers });
const uploadBytes = new Counter({ name: 'relinks_upload_bytes_total', help: 'Bytes of files uploaded', registers });

/** For the file-serving download path: the bytes it sent. */
export function recordDownloadBytes(bytes: number): void {
  downloadBytes.inc(bytes);
}

/** For the upload feature: one file of `bytes` stored. */
export function recordUpload(bytes: number): void {
  uploads.inc();
  uploadBytes.inc(bytes);
}

// Figures that are state rather than events (bytes on disk, jobs queued) are asked for at scrape
// time, from whoever owns that state; until someone registers a probe they read 0.
type Probe<T> = () => T | Promise<T>;

let storedBytesProbe: Probe<number> | undefined;
let webhookQueueProbe: Probe<{ depth: number; oldestAgeSeconds: number }> | undefined;

/** Registers how to learn the bytes of uploaded files stored; undefined forgets it. */
export function setStoredBytesProbe(probe: Probe<number> | undefined): void {
  storedBytesProbe = probe;
}

/** Registers how to learn the webhook queue's depth and its oldest job's age; undefined forgets it. */
export function setWebhookQueueProbe(probe: Probe<{ depth: number; oldestAgeSeconds: number }> | undefined): void {
  webhookQueueProbe = probe;
}

new Gauge({
  name: 'relinks_stored_bytes',
  help: 'Bytes of uploaded files stored',
  registers,
  async collect() {
    this.set(storedBytesProbe ? await storedBytesProbe() : 0);
  },
});

new Gauge({
  name: 'relinks_webhook_queue_depth',
  help: 'Webhook deliveries waiting to be sent',
  registers,
  async collect() {
    this.set(webhookQueueProbe ? (await webhookQueueProbe()).depth : 0);
  },
});

new Gauge({
  name: 'relinks_webhook_queue_oldest_age_seconds',
  help: 'Age of the oldest webhook delivery waiting to be sent',
  registers,
  async collect() {
    this.set(webhookQueueProbe ? (await webhookQueueProbe()).oldestAgeSeconds : 0);
  },
});

// pg-pool keeps its own counts; they are read at scrape time rather than tracked on every checkout.
const pools = new Set<pg.Pool>();

/** Reports `pool` in the pool gauges until the returned function is called (when the store closes). */
export function watchPool(pool: pg.Pool): () => void {
  pools.add(pool);
  return () => void pools.delete(pool);
}

const sumOver = (count: (pool: pg.Pool) => number) => [...pools].reduce((sum, pool) => sum + count(pool), 0);

new Gauge({
  name: 'relinks_db_pool_connections',
  help: 'PostgreSQL pool connections, in use or idle',
  labelNames: ['state'] as const,
  registers,
  collect() {
    this.set({ state: 'idle' }, sumOver((p) => p.idleCount));
    this.set({ state: 'in_use' }, sumOver((p) => p.totalCount - p.idleCount));
  },
});

new Gauge({
  name: 'relinks_db_pool_waiting',
  help: 'Requests for a PostgreSQL connection waiting because the pool is exhausted',
  registers,
  collect() {
    this.set(sumOver((p) => p.waitingCount));
  },
});

new Gauge({
  name: 'relinks_db_pool_max',
  help: 'Most connections the PostgreSQL pool may open (DATABASE_POOL_MAX)',
  registers,
  collect() {
    this.set(sumOver((p) => p.options.max ?? 0));
  },
});

let processMetrics = false;

/** Node's own metrics (CPU, memory, event-loop lag, GC), started only when metrics are on. */
export function startProcessMetrics(): void {
  if (processMetrics) return;
  processMetrics = true;
  collectDefaultMetrics({ register: registry });
}
