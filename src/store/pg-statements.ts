import type pg from 'pg';
import type { PostgresCursor, PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';
import { isStalePlan } from './errors.js';
import { connectionWaited, timeQuery } from './measured.js';

// Kysely's PostgreSQL driver sends every query as an unnamed statement, which the server parses,
// analyses and plans afresh on each run. The hot queries (prepared.ts) go out as named statements
// instead: pg prepares one on a connection the first time that connection runs it (Parse), and
// afterwards sends only its name and values (Bind, Execute), so the server skips the parsing and,
// once it settles on a generic plan, the planning too. A connection new to the pool, or the fresh
// one that replaced a lost one (reconnect.ts), has none yet and prepares each on first use: pg
// keeps track, per connection, of which names it has prepared there.
//
// The names live here, under the driver, keyed by SQL text: Kysely hands its driver the text and
// values only, and one text gets one name for the whole process (pg refuses a name reused for
// another text on the same connection).

const names = new Map<string, string>();
let issued = 0;
const newName = () => `relinks_${++issued}`;

/** Runs `text` as a named statement on PostgreSQL from now on. Texts of other dialects never reach it. */
export function nameStatement(text: string): void {
  if (!names.has(text)) names.set(text, newName());
}

/** The name `text` runs under on PostgreSQL, if it is one of the named statements. */
export const statementName = (text: string): string | undefined => names.get(text);

/** The pool as Kysely's driver sees it: its connections run the named texts as named statements. */
export function namedStatements(pool: pg.Pool, { timed = false } = {}): PostgresPool {
  // One wrapper per pg client, so that Kysely (which keys its connection objects by client) reuses them.
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  return {
    async connect() {
      const started = timed ? performance.now() : 0;
      const client = await pool.connect();
      if (timed) connectionWaited(started);
      let wrapper = wrappers.get(client);
      if (!wrapper) wrappers.set(client, (wrapper = new NamedStatementClient(client, timed)));
      return wrapper;
    },
    end: () => pool.end(),
  };
}

class NamedStatementClient implements PostgresPoolClient {
  constructor(
    private readonly client: pg.PoolClient,
    /** With metrics on, each query's duration goes to /-/metrics (measured.ts). */
    private readonly timed: boolean,
  ) {}

  query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  query<R>(text: string | PostgresCursor<R>, values?: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    // A cursor (a streamed query) is pg-cursor's own statement.
    if (typeof text !== 'string') return this.client.query(text as unknown as pg.Submittable) as unknown as PostgresCursor<R>;
    const name = names.get(text);
    const run = name === undefined ? this.client.query(text, values as unknown[]) : this.named(name, text, values as unknown[]);
    return (this.timed ? timeQuery(text, run) : run) as unknown as Promise<PostgresQueryResult<R>>;
  }

  private async named(name: string, text: string, values: unknown[]): Promise<pg.QueryResult> {
    try {
      return await this.client.query({ name, text, values });
    } catch (error) {
      // PostgreSQL refuses, for good on this connection, a named statement whose result columns
      // changed since it was prepared. Named statements list their columns (prepared.ts refuses
      // `*`), so a column added by a migration only has PostgreSQL plan them again; what is left
      // is a migration that changes the type of a column one returns, on a node still running the
      // previous release. A new name has every connection prepare the text afresh; reconnect.ts
      // runs the refused query once more when no transaction is at stake.
      if (isStalePlan(error) && names.get(text) === name) names.set(text, newName());
      throw error;
    }
  }

  release(): void {
    this.client.release();
  }
}
