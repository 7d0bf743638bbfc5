// Maps a unique-index violation to the column it guards, the same way on both stores.

interface DriverError {
  code?: string;
  constraint?: string;
  message?: string;
}

/** True when `error` is a violation of the unique index whose last column is `table.column`. */
export function violates(error: unknown, table: string, column: string): boolean {
  const e = error as DriverError | undefined;
  if (e?.code === '23505' && e.constraint) {
    // PostgreSQL reports the constraint; ours are all named "<table>_<columns>_key".
    return e.constraint.startsWith(`${table}_`) && e.constraint.endsWith(`_${column}_key`);
  }
  if (e?.code === 'SQLITE_CONSTRAINT_UNIQUE' && e.message) {
    // SQLite reports the columns: "UNIQUE constraint failed: release_links.release_id, release_links.name".
    return e.message.endsWith(`${table}.${column}`);
  }
  return false;
}

export function isUniqueViolation(error: unknown): boolean {
  const e = error as DriverError | undefined;
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE';
}

// Socket failures, and PostgreSQL's admin/crash shutdown, cannot-connect-now and class 08 (connection exception).
const LOST_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', '57P01', '57P02', '57P03']);
// pg reports a socket closed under a query, or a client used after that, only by message.
const LOST_MESSAGES = /^Connection terminated|Client has encountered a connection error and is not queryable|Client was closed and is not queryable/;

/** True when the database connection was lost or could not be made: the database is unreachable, not the request wrong. */
export function isConnectionLoss(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const e = error as DriverError & { errors?: unknown };
  if (typeof e.code === 'string' && (LOST_CODES.has(e.code) || /^08[0-9A-Z]{3}$/.test(e.code))) return true;
  if (typeof e.message === 'string' && LOST_MESSAGES.test(e.message)) return true;
  // Connecting to a host name with several addresses fails with one error per address.
  return Array.isArray(e.errors) && e.errors.length > 0 && e.errors.every(isConnectionLoss);
}

/**
 * True when PostgreSQL refused to run a named statement because its result columns changed since
 * it was prepared. It refuses before running anything, so the statement had no effect.
 */
export function isStalePlan(error: unknown): boolean {
  const e = error as (DriverError & { routine?: string }) | undefined;
  // The routine is not translated (lc_messages), the message is; 0A000 alone covers much else.
  return e?.code === '0A000' && (e.routine === 'RevalidateCachedQuery' || e.message === 'cached plan must not change result type');
}

export const now = (): string => new Date().toISOString();
