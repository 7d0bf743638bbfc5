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

/**
 * A prepared statement whose all() and run() are timed; iterate() (a streamed read) is left as it
 * is. Its kind's series is found once, when it is prepared. Kysely's driver calls all() and run()
 * with one array of parameters, and that is all this takes.
 */
class TimedStatement {
  readonly reader: boolean;
  private readonly observe: (seconds: number) => void;

  constructor(
    private readonly statement: SQLite.Statement,
    private readonly operation: string,
  ) {
    this.reader = statement.reader;
    this.observe = dbQueryDuration.observerOf(operation);
  }

  get busy(): boolean {
    return this.statement.busy;
  }

  all(parameters: unknown[]): unknown[] {
    const started = performance.now();
    try {
      const rows = this.statement.all(parameters);
      this.observe((performance.now() - started) / 1000);
      return rows;
    } catch (error) {
      dbQueryErrors.inc({ operation: this.operation });
      throw error;
    }
  }

  run(parameters: unknown[]): SQLite.RunResult {
    const started = performance.now();
    try {
      const result = this.statement.run(parameters);
      this.observe((performance.now() - started) / 1000);
      return result;
    } catch (error) {
      dbQueryErrors.inc({ operation: this.operation });
      throw error;
    }
  }

  iterate(parameters: unknown[]): IterableIterator<unknown> {
    return this.statement.iterate(parameters);
  }
}

/** The same statement, timed (see TimedStatement). */
export function timedStatement(statement: SQLite.Statement, sql: string): SQLite.Statement {
  return new TimedStatement(statement, operationOf(sql)) as unknown as SQLite.Statement;
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

/** For a caller that found a database connection free: observeNoWait(0). */
const observeNoWait = dbConnectionWait.observerOf();

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
      const release = driver.releaseConnection.bind(driver);
      // Holders and waiters of the connection. The driver's mutex is taken and given back only
      // here, so with none the connection is free and the wait is nil: it is recorded as such,
      // without a timing callback, which would cost each query one more promise.
      let claims = 0;
      driver.acquireConnection = () => {
        if (claims++ === 0) {
          observeNoWait(0);
          return acquire();
        }
        const started = performance.now();
        return acquire().then((connection) => {
          connectionWaited(started);
          return connection;
        });
      };
      driver.releaseConnection = (connection) => {
        claims--;
        return release(connection);
      };
      return driver;
    },
  };
}
