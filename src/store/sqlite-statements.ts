import type SQLite from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';
import { timedStatement } from './measured.js';

/**
 * Kysely's SQLite driver prepares every query anew, and preparing (parsing and planning) costs more
 * than running a typical indexed lookup. This keeps prepared statements by SQL text, so each query
 * shape is prepared once. Values are always bound parameters, so the number of shapes is small;
 * the bound still keeps a stream of one-off statements from growing without end.
 */
export function withStatementCache(database: SQLite.Database, { timed = false, max = 500 } = {}): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => database.close(),
    prepare(sql: string): SqliteStatement {
      const cached = cache.get(sql);
      // A statement still being iterated (a streamed query) cannot be run again until it ends.
      if (cached && !cached.busy) return cached as unknown as SqliteStatement;
      const prepared = database.prepare(sql);
      // With metrics on, each statement is timed (measured.ts); the wrapper is cached with it.
      const statement = timed ? timedStatement(prepared, sql) : prepared;
      if (!cached) {
        if (cache.size >= max) cache.delete(cache.keys().next().value!);
        cache.set(sql, statement);
      }
      return statement as unknown as SqliteStatement;
    },
  };
}
