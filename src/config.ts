import net from 'node:net';
import path from 'node:path';
export interface Config {
  port: number;
  host: string;
  databaseUrl: string;
  externalUrl: string;
  initialRootToken: string | undefined;
  logLevel: string;
  databasePoolMax: number;
  /** PostgreSQL: how long a connection in use may stay silent before it counts as lost. */
  databaseStallTimeoutMs: number;
  /** Requests allowed per period; 0 turns that limit off. See rateLimitConfig. */
  rateLimits: RateLimits;
  /** Shared rate-limit counters for several instances; in-process counters without it. */
  redisUrl: string | undefined;
  redisKeyPrefix: string;
  /** Proxies whose X-Forwarded-For (and -Proto, -Host) are believed; [] believes none. */
  trustedProxies: string[];
  /** Prometheus metrics at /-/metrics, and the recording behind them; see docs/metrics.md. */
  metricsEnabled: boolean;
  /** Addresses and CIDR blocks allowed to read /-/metrics (the client IP as TRUSTED_PROXIES gives it). */
  metricsAllowedIps: string[];
  /** Where hosted files' bytes live; see storageUrlOf and docs/files.md. */
  storageUrl: string;
  /** Largest generic package file, in bytes (GitLab's generic_packages_max_file_size). */
  maxPackageFileSize: number;
  /** Largest project upload, in bytes (GitLab's max_attachment_size). */
  maxUploadSize: number;
  /** How often counted downloads are added to the database. */
  downloadCountFlushMs: number;
  /** How often content no file names any more is removed, and how old it must be. */
  blobSweepIntervalSeconds: number;
  blobSweepGraceSeconds: number;
  /** Project webhooks: delivery, retries and the local-network rule; see docs/webhooks.md. */
  webhooks: WebhookSettings;
}

export interface WebhookSettings {
  /** GitLab's "allow requests to the local network from webhooks": off refuses loopback, private and link-local targets. */
  allowLocalRequests: boolean;
  /** One attempt's limit, from connecting to the last byte read (GitLab's webhook_timeout). */
  timeoutMs: number;
  /** Deliveries this instance sends at once; 0 leaves delivery to other instances. */
  workers: number;
  /** How often an idle worker looks for deliveries that other instances committed. */
  pollIntervalMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Attempts of one delivery before it is given up. */
  maxAttempts: number;
  /** Encrypts hook tokens and custom header values at rest when set. */
  secretKey: string | undefined;
  /**
   * Not from the environment: resolves a hook's host name, both when a hook is saved and before
   * every attempt. The system resolver unless whoever starts the server (a test) gives another.
   */
  lookup?: HostLookup;
}

/** A host name's addresses, as `dns.lookup(host, { all: true })` gives them. */
export type HostLookup = (host: string) => Promise<Array<{ address: string; family: number }>>;

export interface RateLimits {
  authenticated: number;
  unauthenticated: number;
  releaseWrites: number;
  periodSeconds: number;
}

export class ConfigError extends Error {}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return Number(raw);
}

/** Reads and checks the environment once at start, so a typo fails loudly instead of at first use. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port = int(env, 'PORT', 8080, 0, 65535);
  const host = env.HOST || '0.0.0.0';

  const databaseUrl = env.DATABASE_URL || 'sqlite:./data/relinks.db';
  if (!/^sqlite:.+/.test(databaseUrl) && !/^postgres(ql)?:\/\/.+/.test(databaseUrl)) {
    // The message reaches a terminal or a log: never the password a mistyped URL may hold.
    const shown = databaseUrl.replace(/\/\/([^/:@]*):[^/@]*@/, '//$1:[FILTERED]@');
    throw new ConfigError(`DATABASE_URL must be sqlite:<path> or postgres://…, got "${shown}"`);
  }

  const externalUrl = (env.EXTERNAL_URL || `http://localhost:${port}`).replace(/\/+$/, '');
  let parsed: URL;
  try {
    parsed = new URL(externalUrl);
  } catch {
    throw new ConfigError(`EXTERNAL_URL must be an absolute http(s) URL, got "${externalUrl}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ConfigError(`EXTERNAL_URL must use http or https, got "${externalUrl}"`);
  }

  const initialRootToken = env.RELINKS_INITIAL_ROOT_TOKEN || undefined;
  if (initialRootToken !== undefined && initialRootToken.length < 20) {
    throw new ConfigError('RELINKS_INITIAL_ROOT_TOKEN must be at least 20 characters long');
  }

  const logLevel = env.LOG_LEVEL || 'info';
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }

  const databasePoolMax = int(env, 'DATABASE_POOL_MAX', 10, 1, 1000);
  const databaseStallTimeoutMs = int(env, 'DATABASE_STALL_TIMEOUT_MS', 60_000, 100, 3_600_000);

  const rateLimits = rateLimitConfig(env);
  const redisUrl = env.REDIS_URL || undefined;
  if (redisUrl !== undefined && !/^rediss?:\/\/.+/.test(redisUrl)) {
    throw new ConfigError(`REDIS_URL must be redis://… or rediss://…, got "${redisUrl}"`);
  }
  const redisKeyPrefix = env.RATE_LIMIT_REDIS_PREFIX ?? 'relinks:rate-limit:';

  const trustedProxies = trustedProxiesOf(env.TRUSTED_PROXIES);

  const metricsEnabled = bool(env, 'METRICS_ENABLED', true);
  const metricsAllowedIps = ipRangesOf(env, 'METRICS_ALLOWED_IPS', METRICS_ALLOWED_IPS_DEFAULT);

  const storageUrl = storageUrlOf(env.STORAGE_URL, databaseUrl);
  const maxPackageFileSize = int(env, 'MAX_PACKAGE_FILE_SIZE', 5 * 1024 ** 3, 1, Number.MAX_SAFE_INTEGER);
  const maxUploadSize = int(env, 'MAX_UPLOAD_SIZE', 100 * 1024 ** 2, 1, Number.MAX_SAFE_INTEGER);
  const downloadCountFlushMs = int(env, 'DOWNLOAD_COUNT_FLUSH_MS', 1000, 10, 3_600_000);
  const blobSweepIntervalSeconds = int(env, 'BLOB_SWEEP_INTERVAL_SECONDS', 3600, 1, 7 * 86400);
  const blobSweepGraceSeconds = int(env, 'BLOB_SWEEP_GRACE_SECONDS', 3600, 0, 7 * 86400);

  const webhooks = webhookConfig(env);

  return {
    port, host, databaseUrl, externalUrl, initialRootToken, logLevel, databasePoolMax, databaseStallTimeoutMs, rateLimits, redisUrl, redisKeyPrefix, trustedProxies, metricsEnabled, metricsAllowedIps,
    storageUrl, maxPackageFileSize, maxUploadSize, downloadCountFlushMs, blobSweepIntervalSeconds, blobSweepGraceSeconds, webhooks,
  };
}

/**
 * `file:<folder>` (the default with SQLite: `files/` beside the database), `database` (the default
 * with PostgreSQL: every instance serves every file with no shared disk) or `s3://<bucket>?…`.
 */
function storageUrlOf(raw: string | undefined, databaseUrl: string): string {
  const sqlitePath = databaseUrl.startsWith('sqlite:') ? databaseUrl.slice('sqlite:'.length) : null;
  if (raw === undefined || raw === '') {
    if (sqlitePath === null) return 'database';
    return `file:${sqlitePath === ':memory:' ? './data/files' : path.join(path.dirname(sqlitePath), 'files')}`;
  }
  if (raw === 'database') {
    // SQLite has one writer: an upload streaming into it would hold every other write back.
    if (sqlitePath !== null) throw new ConfigError('STORAGE_URL=database needs a PostgreSQL DATABASE_URL; with SQLite use file:<folder>');
    return raw;
  }
  if (/^file:.+/.test(raw) || /^s3:\/\/[^/?]+/.test(raw)) return raw;
  throw new ConfigError(`STORAGE_URL must be file:<folder>, database or s3://<bucket>?…, got "${raw.replace(/\/\/([^/:@]*):[^/@]*@/, '//$1:[FILTERED]@')}"`);
}

function webhookConfig(env: NodeJS.ProcessEnv): WebhookSettings {
  const retryBaseMs = int(env, 'WEBHOOK_RETRY_BASE_MS', 10_000, 1, 86_400_000);
  const retryMaxMs = int(env, 'WEBHOOK_RETRY_MAX_MS', 3_600_000, 1, 7 * 86_400_000);
  if (retryMaxMs < retryBaseMs) throw new ConfigError('WEBHOOK_RETRY_MAX_MS must not be below WEBHOOK_RETRY_BASE_MS');
  const secretKey = env.WEBHOOK_SECRET_KEY || undefined;
  if (secretKey !== undefined && secretKey.length < 32) throw new ConfigError('WEBHOOK_SECRET_KEY must be at least 32 characters long');
  return {
    allowLocalRequests: bool(env, 'WEBHOOK_ALLOW_LOCAL_REQUESTS', false),
    timeoutMs: int(env, 'WEBHOOK_TIMEOUT_MS', 10_000, 100, 600_000),
    workers: int(env, 'WEBHOOK_WORKERS', 4, 0, 256),
    pollIntervalMs: int(env, 'WEBHOOK_POLL_INTERVAL_MS', 1000, 10, 60_000),
    retryBaseMs,
    retryMaxMs,
    maxAttempts: int(env, 'WEBHOOK_MAX_ATTEMPTS', 12, 1, 1000),
    secretKey,
  };
}

function bool(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw !== 'true' && raw !== 'false') throw new ConfigError(`${name} must be true or false, got "${raw}"`);
  return raw === 'true';
}

/** GitLab's monitoring IP allowlist default: the same host only. */
export const METRICS_ALLOWED_IPS_DEFAULT = ['127.0.0.0/8', '::1/128'];

/** A comma-separated list of IP addresses and CIDR blocks. */
function ipRangesOf(env: NodeJS.ProcessEnv, name: string, fallback: string[]): string[] {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const entries = raw.split(',').map((e) => e.trim()).filter(Boolean);
  for (const entry of entries) {
    if (!isIpOrCidr(entry)) {
      throw new ConfigError(`${name} must be a comma-separated list of IP addresses and CIDR blocks, got "${entry}"`);
    }
  }
  return entries;
}

/** An IPv4 or IPv6 address, alone or with a prefix length (CIDR). */
function isIpOrCidr(entry: string): boolean {
  const [address, bits, extra] = entry.split('/');
  const family = net.isIP(address);
  const validBits = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 6 ? 128 : 32));
  return family !== 0 && validBits && extra === undefined;
}

// proxy-addr's (Fastify's) names for address ranges, besides addresses and CIDR blocks.
const PROXY_RANGES = ['loopback', 'linklocal', 'uniquelocal'];

/**
 * The client IP (per-IP rate limit, logs) comes from X-Forwarded-For only when the connection is
 * from a trusted proxy; otherwise any client could name itself a new IP with each request.
 * Default: a proxy on the same host (loopback). `none` trusts no one.
 */
function trustedProxiesOf(raw: string | undefined): string[] {
  if (raw === undefined || raw.trim() === '') return ['loopback'];
  if (raw.trim() === 'none') return [];
  const entries = raw.split(',').map((e) => e.trim()).filter(Boolean);
  for (const entry of entries) {
    if (PROXY_RANGES.includes(entry)) continue;
    if (!isIpOrCidr(entry)) {
      throw new ConfigError(`TRUSTED_PROXIES must be none, or a comma-separated list of IP addresses, CIDR blocks and ${PROXY_RANGES.join('/')}, got "${entry}"`);
    }
  }
  return entries;
}

/** GitLab.com's published figures: per user, per IP, and release/link writes per project, each a minute. */
export const RATE_LIMIT_DEFAULTS = { authenticated: 2000, unauthenticated: 500, releaseWrites: 300 } as const;

/**
 * As on self-managed GitLab, rate limits are off until switched on. RATE_LIMITS=on turns on all
 * three at their defaults (each overridable); without it only the limits given a figure are on;
 * RATE_LIMITS=off turns all off. A figure of 0 turns that one limit off.
 */
export function rateLimitConfig(env: NodeJS.ProcessEnv): RateLimits {
  const mode = env.RATE_LIMITS || '';
  if (!['', 'on', 'off'].includes(mode)) throw new ConfigError(`RATE_LIMITS must be on or off, got "${mode}"`);
  const figure = (name: string, fallback: number) => {
    const given = int(env, name, -1, 0, 10_000_000);
    if (mode === 'off') return 0;
    if (given >= 0) return given;
    return mode === 'on' ? fallback : 0;
  };
  return {
    authenticated: figure('RATE_LIMIT_AUTHENTICATED_PER_MINUTE', RATE_LIMIT_DEFAULTS.authenticated),
    unauthenticated: figure('RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE', RATE_LIMIT_DEFAULTS.unauthenticated),
    releaseWrites: figure('RATE_LIMIT_RELEASE_WRITES_PER_MINUTE', RATE_LIMIT_DEFAULTS.releaseWrites),
    // Shorter periods exist for tests; the figures' names keep GitLab's per-minute wording.
    periodSeconds: int(env, 'RATE_LIMIT_PERIOD_SECONDS', 60, 1, 3600),
  };
}
