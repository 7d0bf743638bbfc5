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

export const now = (): string => new Date().toISOString();
