import { sql, type Kysely } from 'kysely';
import type { DB } from './schema.js';

// Group commit for SQLite. better-sqlite3 is synchronous and every durable COMMIT costs an fsync
// of the WAL, so one transaction per request caps writes at the disk's fsync rate. Instead, the
// units of work that arrive in the same event-loop turn run one after another inside ONE
// transaction, each under its own savepoint, and share its single COMMIT (one fsync):
// - a unit that throws is rolled back to its savepoint and its promise rejects alone; its
//   neighbours go on and commit;
// - no promise settles before COMMIT has returned, so nobody sees success for a write that is
//   not on disk (synchronous=FULL);
// - if the batch as a whole fails (COMMIT fails, or an error aborts the whole transaction), each
//   unit is run again in a transaction of its own, so only the culprit fails.
// Kysely's SqliteDialect has one connection behind a FIFO mutex: the batch holds it from BEGIN to
// COMMIT, and reads queued before the batch run before it, reads queued during it right after.
// A unit must do all its work through the `trx` it is given: a query on the outer `db`, or a
// nested `write`, from inside a unit would wait for the batch that is waiting for it.

export type Work<T> = (trx: Kysely<DB>) => Promise<T>;

interface Pending {
  work: Work<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** The three savepoint statements a unit needs, run on the batch's connection. */
export interface Savepoints {
  open(trx: Kysely<DB>): Promise<void> | void;
  release(trx: Kysely<DB>): Promise<void> | void;
  rollback(trx: Kysely<DB>): Promise<void> | void;
}

/** Through Kysely: portable, and what the tests use. */
export const kyselySavepoints: Savepoints = {
  open: async (trx) => void (await sql`savepoint unit`.execute(trx)),
  release: async (trx) => void (await sql`release unit`.execute(trx)),
  rollback: async (trx) => {
    await sql`rollback to unit`.execute(trx);
    await sql`release unit`.execute(trx);
  },
};

export interface GroupCommitOptions {
  /** Upper bound on units per transaction, so a long queue cannot hold reads back for long. */
  maxBatch?: number;
  /** Called after every committed batch with its size (for tests and measurements). */
  onCommit?: (size: number) => void;
  /**
   * How savepoints are taken. SQLite passes prepared statements on its own handle: the batch holds
   * the only connection, so they run exactly where Kysely's would, minus its per-query overhead.
   */
  savepoints?: Savepoints;
}

export interface GroupCommit {
  write<T>(work: Work<T>): Promise<T>;
  /** Resolves once nothing is queued or running (for an orderly close). */
  idle(): Promise<void>;
}

export function groupCommit(db: Kysely<DB>, options: GroupCommitOptions = {}): GroupCommit {
  const maxBatch = options.maxBatch ?? 256;
  const savepoints = options.savepoints ?? kyselySavepoints;
  let queue: Pending[] = [];
  let running = false;
  let scheduled = false;
  let idleWaiters: (() => void)[] = [];

  const schedule = () => {
    if (scheduled || running) return;
    scheduled = true;
    // setImmediate runs after this turn's I/O callbacks: every request parsed in this turn joins.
    setImmediate(() => void flush());
  };

  async function runBatch(batch: Pending[]): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    await db.transaction().execute(async (trx) => {
      for (const unit of batch) {
        await savepoints.open(trx);
        try {
          const value = await unit.work(trx);
          await savepoints.release(trx);
          outcomes.push({ ok: true, value });
        } catch (error) {
          // If this throws too, the whole transaction is gone: the caller retries unit by unit.
          await savepoints.rollback(trx);
          outcomes.push({ ok: false, error });
        }
      }
    });
    return outcomes;
  }

  async function runAlone(unit: Pending): Promise<Outcome> {
    try {
      return { ok: true, value: await db.transaction().execute(unit.work) };
    } catch (error) {
      return { ok: false, error };
    }
  }

  const notifyIdle = () => {
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const w of waiters) w();
  };

  async function flush(): Promise<void> {
    scheduled = false;
    if (running) return;
    if (queue.length === 0) return notifyIdle();
    running = true;
    const batch = queue.length <= maxBatch ? queue : queue.slice(0, maxBatch);
    queue = queue.length <= maxBatch ? [] : queue.slice(maxBatch);
    try {
      let outcomes: Outcome[];
      try {
        outcomes = await runBatch(batch);
        options.onCommit?.(batch.length);
      } catch (error) {
        if (batch.length === 1) outcomes = [{ ok: false, error }];
        else {
          outcomes = [];
          for (const unit of batch) {
            const outcome = await runAlone(unit);
            if (outcome.ok) options.onCommit?.(1);
            outcomes.push(outcome);
          }
        }
      }
      batch.forEach((unit, i) => {
        const outcome = outcomes[i];
        if (outcome.ok) unit.resolve(outcome.value);
        else unit.reject(outcome.error);
      });
    } finally {
      running = false;
      if (queue.length) schedule();
      else notifyIdle();
    }
  }

  return {
    write<T>(work: Work<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
        schedule();
      });
    },
    idle() {
      if (!running && !scheduled && queue.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
  };
}
