import { AsyncLocalStorage } from 'node:async_hooks';
import type { Kysely } from 'kysely';
import type { DB } from './schema.js';

// Work that must wait until a unit of work is committed (telling a worker that a row it may claim
// now exists). Inside Store.write's unit, `afterCommit(fn)` keeps fn; the store calls the unit's
// functions once the write has resolved, that is once its COMMIT has returned, and drops them if
// it failed. Outside a unit fn runs at once.

const units = new AsyncLocalStorage<Array<() => void>>();

export function afterCommit(fn: () => void): void {
  const pending = units.getStore();
  if (pending) pending.push(fn);
  else fn();
}

/** Runs one write through `run` (the store's commit path) with a list for its afterCommit calls. */
export async function withAfterCommit<T>(run: (work: (trx: Kysely<DB>) => Promise<T>) => Promise<T>, work: (trx: Kysely<DB>) => Promise<T>): Promise<T> {
  const pending: Array<() => void> = [];
  // A unit that group commit re-runs alone starts its list again: only the run that committed counts.
  const value = await run((trx) => {
    pending.length = 0;
    return units.run(pending, () => work(trx));
  });
  for (const fn of pending) fn();
  return value;
}
