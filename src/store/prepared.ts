import { createQueryId, type CompiledQuery, type Compilable, type Kysely } from 'kysely';
import { nameStatement } from './pg-statements.js';
import type { DB } from './schema.js';

// Building a Kysely query and compiling it to SQL costs more per request than the indexed lookup
// it runs. For the queries on the hot path, `prepared` builds and compiles once per dialect, with
// markers standing for the arguments, and afterwards only puts the arguments in the markers'
// places. The database then reuses the prepared statement too: SQLite by its text
// (sqlite-statements.ts), PostgreSQL as a named statement on each connection (pg-statements.ts).
//
// Rule for `build`: use each argument only as a value in the query (where, values, set...), never
// in JavaScript logic (if, Number(), string operations): at compile time it holds a marker.

const MARKER = '\u0000relinks-arg:';

// `*` (Kysely's selectAll, returningAll) as a column list: PostgreSQL expands it whenever it plans
// the statement, so a column added by a migration changes a named statement's result type, which
// it refuses to run, even in a transaction that then cannot go on. count(*) and the like are fine.
const STAR = /(?:\bselect|\breturning|,)\s+(?:"[^"]+"\.)?\*/i;

interface Entry {
  query: CompiledQuery;
  /** For each SQL parameter, the argument it takes, or -1 for a constant compiled into the query. */
  slots: number[];
}

/** Compiled SQL depends only on the dialect, named by its adapter's class. */
const dialectOf = (db: Kysely<DB>): object => db.getExecutor().adapter.constructor;

export interface PreparedOptions {
  /**
   * false: sent unnamed on PostgreSQL, so it is planned for each run's values. A named statement
   * soon runs on one generic plan made without them (most of what naming saves); set this when
   * that plan may walk a whole index (test/query-plans.test.ts checks the generic plans).
   */
  namedOnPostgres?: boolean;
}

export function prepared<A extends unknown[], R>(build: (db: Kysely<DB>, ...args: A) => Compilable<R>, options: PreparedOptions = {}) {
  const byDialect = new Map<object, Entry>();

  function entryFor(db: Kysely<DB>, arity: number): Entry {
    const dialect = dialectOf(db);
    let entry = byDialect.get(dialect);
    if (!entry) {
      const markers = Array.from({ length: arity }, (_, i) => `${MARKER}${i}`) as unknown as A;
      const query = build(db, ...markers).compile();
      const slots = query.parameters.map((p) => (typeof p === 'string' && p.startsWith(MARKER) ? Number(p.slice(MARKER.length)) : -1));
      entry = { query, slots };
      if (options.namedOnPostgres !== false) {
        if (STAR.test(query.sql)) throw new Error(`A named statement must name its columns (columns.ts), not select or return *: ${query.sql}`);
        nameStatement(query.sql);
      }
      byDialect.set(dialect, entry);
    }
    return entry;
  }

  /** Runs the query with these arguments; resolves to its rows. */
  return async function run(db: Kysely<DB>, ...args: A): Promise<R[]> {
    const { query, slots } = entryFor(db, args.length);
    const parameters = slots.map((slot, i) => (slot >= 0 ? args[slot] : query.parameters[i]));
    const result = await db.executeQuery<R>({ query: query.query, sql: query.sql, parameters, queryId: createQueryId() });
    return result.rows;
  };
}
