import type { Kysely, KyselyPlugin } from 'kysely';
import type { DB } from './schema.js';

// Work that must wait until a unit of work is committed (telling a worker that a row it may claim
// now exists). Inside Store.write's unit, `afterCommit(trx, fn)` keeps fn with the unit's handle;
// the store calls the unit's functions once the write has resolved, that is once its COMMIT has
// returned, and drops them if it failed. Given a handle that is no unit's, fn runs at once.
//
// The list travels with the handle, not in an AsyncLocalStorage: on Node 20 the first run() of one
// turns on promise hooks for the whole process for good, and every read paid for them (a GET of
// one link took 18% more instructions, callgrind).

const pendingOf = new WeakMap<object, Array<() => void>>();

/** Adds nothing to a query: withPlugin(UNIT) only makes a handle of the unit's own. */
const UNIT: KyselyPlugin = {
  transformQuery: (args) => args.node,
  transformResult: async (args) => args.result,
};

export function afterCommit(trx: Kysely<DB>, fn: () => void): void {
  const pending = pendingOf.get(trx);
  if (pending) pending.push(fn);
  else fn();
}

/** Runs one write through `run` (the store's commit path) with a list for its afterCommit calls. */
export async function withAfterCommit<T>(run: (work: (trx: Kysely<DB>) => Promise<T>) => Promise<T>, work: (trx: Kysely<DB>) => Promise<T>): Promise<T> {
  let pending: Array<() => void> = [];
  // Units of one group commit share a transaction, so each gets a handle of its own; a unit that
  // group commit re-runs alone starts a new list: only the run that committed counts.
  const value = await run((trx) => {
    const unit = trx.withPlugin(UNIT);
    pendingOf.set(unit, (pending = []));
    return work(unit);
  });
  for (const fn of pending) fn();
  return value;
}
