import type SQLite from 'better-sqlite3';
import type { Dialect } from 'kysely';
import { dbConnectionWait, dbQueryDuration, dbQueryErrors } from '../metrics.js';

// Database timings for /-/metrics, wired in by openStore only when metrics are on, so a store
// with metrics off pays nothing for them. They are taken under Kysely, where the statements meet
// the driver: Kysely's own `log` option wraps every query in three more async calls, and a GET of
// one link with it took about 10% more instructions than with metrics off (callgrind); timed here,
// 1–6% more over several runs (docs/metrics.md).

const OPERATIONS = new Map([
  ['select', 'select'],
  ['with', 'select'],
  ['insert', 'insert'],
  ['update', 'update'],
  ['delete', 'delete'],
  // Kysely sends these as raw statements; the COMMIT is where SQLite's fsync is.
  ['begin', 'begin'],
  ['commit', 'commit'],
  ['rollback', 'rollback'],
]);

/** The kind of statement, from its first word: the label is never the statement's text. */
export function operationOf(sql: string): string {
  const start = sql.search(/\S/);
  let end = start;
  while (end < sql.length && sql.charCodeAt(end) > 32 && sql[end] !== '(') end++;
  return OPERATIONS.get(sql.slice(start, end).toLowerCase()) ?? 'other';
}

/** The same statement, its all() and run() timed; iterate() (a streamed read) is left as it is. */
export function timedStatement(statement: SQLite.Statement, sql: string): SQLite.Statement {
  const operation = operationOf(sql);
  const timed = <A extends unknown[], R>(run: (...args: A) => R) => (...args: A): R => {
    const started = performance.now();
    try {
      const result = run(...args);
      dbQueryDuration.observe((performance.now() - started) / 1000, operation);
      return result;
    } catch (error) {
      dbQueryErrors.inc({ operation });
      throw error;
    }
  };
  // What Kysely's driver and the statement cache use of a statement, and nothing more.
  const wrapper = {
    reader: statement.reader,
    get busy() {
      return statement.busy;
    },
    all: timed(statement.all.bind(statement)),
    run: timed(statement.run.bind(statement)),
    iterate: statement.iterate.bind(statement),
  };
  return wrapper as unknown as SQLite.Statement;
}

/** For a query already sent: its duration, or its failure, once it settles. */
export function timeQuery<T>(sql: string, running: Promise<T>): Promise<T> {
  const started = performance.now();
  return running.then(
    (result) => {
      dbQueryDuration.observe((performance.now() - started) / 1000, operationOf(sql));
      return result;
    },
    (error) => {
      dbQueryErrors.inc({ operation: operationOf(sql) });
      throw error;
    },
  );
}

/** How long a caller waited for a database connection, from `started` (performance.now()). */
export function connectionWaited(started: number): void {
  dbConnectionWait.observe((performance.now() - started) / 1000);
}

/**
 * The same dialect, timing how long each query or transaction waits for SQLite's one connection
 * (the queue a group commit holds from BEGIN to COMMIT). PostgreSQL's pool checkout is timed in
 * pg-statements.ts, inside a call that is async already.
 */
export function timingConnections(dialect: Dialect): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createDriver() {
      const driver = dialect.createDriver();
      const acquire = driver.acquireConnection.bind(driver);
      driver.acquireConnection = () => {
        const started = performance.now();
        return acquire().then((connection) => {
          connectionWaited(started);
          return connection;
        });
      };
      return driver;
    },
  };
}
