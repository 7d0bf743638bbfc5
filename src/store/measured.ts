import type { CompiledQuery, Dialect, LogEvent } from 'kysely';
import { dbConnectionWait, dbQueryDuration, dbQueryErrors } from '../metrics.js';

// Database timings for /-/metrics, wired in by openStore only when metrics are on, so a store
// with metrics off pays nothing for them.

const OPERATIONS: Record<string, string> = {
  SelectQueryNode: 'select',
  InsertQueryNode: 'insert',
  UpdateQueryNode: 'update',
  DeleteQueryNode: 'delete',
};
// Kysely sends these as raw statements of exactly this text; the COMMIT is where SQLite's fsync is.
const TRANSACTION_STATEMENTS = new Set(['begin', 'commit', 'rollback']);

function operationOf(query: CompiledQuery): string {
  return OPERATIONS[query.query.kind] ?? (TRANSACTION_STATEMENTS.has(query.sql) ? query.sql : 'other');
}

/**
 * Kysely's `log` option: Kysely times each statement itself (performance.now() around the driver
 * call) and hands over the duration. The label is the kind of statement, never its text.
 */
export function logQuery(event: LogEvent): void {
  const operation = operationOf(event.query);
  if (event.level === 'query') dbQueryDuration.observe(event.queryDurationMillis / 1000, operation);
  else dbQueryErrors.inc({ operation });
}

/**
 * The same dialect, timing how long each query or transaction waits for its connection: the
 * PostgreSQL pool's checkout, or on SQLite the queue for its one connection (which a group
 * commit holds from BEGIN to COMMIT).
 */
export function timingConnections(dialect: Dialect): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createDriver() {
      const driver = dialect.createDriver();
      const acquire = driver.acquireConnection.bind(driver);
      driver.acquireConnection = async () => {
        const started = performance.now();
        const connection = await acquire();
        dbConnectionWait.observe((performance.now() - started) / 1000);
        return connection;
      };
      return driver;
    },
  };
}
