import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type SQLite from 'better-sqlite3';
import type { Socket } from 'node:net';
import type pg from 'pg';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import type { DB } from './schema.js';
import { currentSchemaIntrospection } from './introspector.js';
import { reconnecting } from './reconnect.js';
import { authChangesPlugin, noteCommit } from './auth-changes.js';
import { groupCommit } from './group-commit.js';
import { withAfterCommit } from './after-commit.js';
import { withStatementCache } from './sqlite-statements.js';
import { namedStatements } from './pg-statements.js';
import { timingConnections } from './measured.js';
import { groupCommitBatchSize, watchPool } from '../metrics.js';

export type Dialect = 'sqlite' | 'postgres';

// Each driver is loaded only by a store that uses it: a SQLite server does not pay pg's memory,
// nor a PostgreSQL one better-sqlite3's (RSS is a target: see the benchmark in docs/operations.md).
const require = createRequire(import.meta.url);
const load = <T>(name: string): T => require(name) as T;

export interface Store {
  db: Kysely<DB>;
  dialect: Dialect;
  /** The raw SQLite handle, for pragmas and checks that have no portable form. */
  sqlite?: SQLite.Database;
  pool?: pg.Pool;
  /**
   * Runs one unit of work in a transaction and resolves only once it is committed durably.
   * Every write goes through here, so the commit strategy (e.g. group commit) lives in one place.
   */
  write<T>(work: (trx: Kysely<DB>) => Promise<T>): Promise<T>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface StoreOptions {
  databaseUrl: string;
  poolMax?: number;
  /** PostgreSQL: a checked-out connection silent this long is ended as lost. */
  stallTimeoutMs?: number;
  /** Record query, connection and group-commit figures for /-/metrics (METRICS_ENABLED). */
  metrics?: boolean;
}

export function openStore(options: StoreOptions): Store {
  const url = options.databaseUrl;
  const metrics = options.metrics ?? false;
  if (url.startsWith('sqlite:')) return openSqlite(url.slice('sqlite:'.length), metrics);
  return openPostgres(url, options.poolMax ?? 10, options.stallTimeoutMs ?? 60_000, metrics);
}

/**
 * After an ANALYZE, better-sqlite3's SQLite (built with STAT4) marks every statement whose bound
 * value the planner compared with the samples, and re-parses and re-plans it on each run: an
 * indexed lookup here went from 6 µs to 40 µs. Our queries are equality lookups that the indexes
 * and sqlite_stat1 plan well, so the samples are dropped when the store opens.
 */
export function dropStat4Samples(database: SQLite.Database): void {
  const stat4 = database.prepare("select 1 from sqlite_schema where name = 'sqlite_stat4'").get();
  if (!stat4) return;
  database.exec('delete from sqlite_stat4; analyze sqlite_schema');
}

function openSqlite(file: string, metrics: boolean): Store {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const database = new (load<typeof SQLite>('better-sqlite3'))(file);
  database.pragma('journal_mode = WAL');
  // FULL: a commit is on disk before we answer 201 (NORMAL could lose the last commits on power loss).
  database.pragma('synchronous = FULL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  dropStat4Samples(database);
  const dialect = new SqliteDialect({ database: withStatementCache(database, { timed: metrics }) });
  const db = new Kysely<DB>({
    dialect: metrics ? timingConnections(dialect) : dialect,
    plugins: [authChangesPlugin],
  });
  // Writes of one event-loop turn share a transaction and its fsync: see group-commit.ts.
  const statement = (text: string) => database.prepare(text);
  const [open, release, rollback] = [statement('savepoint unit'), statement('release unit'), statement('rollback to unit')];
  const commits = groupCommit(db, {
    onCommit: metrics ? (size) => groupCommitBatchSize.observe(size) : undefined,
    savepoints: {
      open: () => void open.run(),
      release: () => void release.run(),
      rollback: () => {
        rollback.run();
        release.run();
      },
    },
  });
  return {
    db,
    dialect: 'sqlite',
    sqlite: database,
    write: (work) => withAfterCommit((unit) => noteCommit(() => commits.write(unit)), work),
    async ping() {
      database.prepare('select 1').get();
    },
    async close() {
      await commits.idle();
      await db.destroy();
    },
  };
}

/** `?schema=name` picks a PostgreSQL schema, so test runs and tenants never collide in one database. */
export function parsePostgresUrl(url: string): { connectionString: string; schema?: string } {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema') ?? undefined;
  parsed.searchParams.delete('schema');
  if (schema !== undefined && !/^[a-z_][a-z0-9_]*$/.test(schema)) {
    throw new Error(`schema must be a plain lowercase identifier, got "${schema}"`);
  }
  return { connectionString: parsed.toString(), schema };
}

function openPostgres(url: string, max: number, stallTimeoutMs: number, metrics: boolean): Store {
  const { connectionString, schema } = parsePostgresUrl(url);
  const pool = new (load<typeof pg>('pg').Pool)({
    connectionString,
    max,
    connectionTimeoutMillis: 5000,
    // A peer that vanished without a reset (cable, NAT, failover) is noticed instead of waited on forever.
    keepAlive: true,
    // Shows who holds connections in pg_stat_activity; `?application_name=` in DATABASE_URL overrides it.
    application_name: 'relinks',
    options: schema ? `-c search_path=${schema}` : undefined,
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  // Nor may a checked-out one: pg-pool listens for errors only on idle clients, and an 'error'
  // event without a listener throws. The query in flight still fails and is handled (reconnect.ts).
  pool.on('connect', (client) => {
    client.on('error', () => {});
    // A connection that goes silent without a reset (packets dropped) would hold its request until
    // TCP gives up, many minutes later. Silence past the stall timeout ends it, so the query fails
    // as a lost connection: a read is retried on a fresh one, a write answers 503. Idle pooled
    // connections are closed after 10 s anyway, so only a checked-out connection can stall.
    const socket = (client as unknown as { connection?: { stream?: Socket } }).connection?.stream;
    socket?.setTimeout(stallTimeoutMs, () => {
      socket.destroy(new Error(`Connection terminated: no answer from PostgreSQL for ${stallTimeoutMs} ms`));
    });
  });
  const dialect = currentSchemaIntrospection(reconnecting(new PostgresDialect({ pool: namedStatements(pool, { timed: metrics }) })));
  const db = new Kysely<DB>({ dialect, plugins: [authChangesPlugin] });
  const unwatch = metrics ? watchPool(pool) : () => {};
  return {
    db,
    dialect: 'postgres',
    pool,
    write: (work) => withAfterCommit((unit) => noteCommit(() => db.transaction().execute(unit)), work),
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      unwatch();
      await db.destroy();
    },
  };
}
