import { sql, type Kysely } from 'kysely';
import type { DB } from './schema.js';

// Counters of failed sign-ins, one row per key. Counting is one upsert, so instances (and
// requests) that fail at the same moment all count.

export interface FailureState {
  failures: number;
  locked_until: string | null;
}

export async function findFailures(db: Kysely<DB>, keys: string[]): Promise<Map<string, FailureState>> {
  if (!keys.length) return new Map();
  const rows = await db.selectFrom('sign_in_failures').select(['key', 'failures', 'locked_until']).where('key', 'in', keys).execute();
  return new Map(rows.map((r) => [r.key, { failures: Number(r.failures), locked_until: r.locked_until }]));
}

/** Adds a failure to `key`, starting a new window when the last began before `windowStart`. Returns the count. */
export async function countFailure(db: Kysely<DB>, key: string, at: string, windowStart: string): Promise<number> {
  const row = await db
    .insertInto('sign_in_failures')
    .values({ key, failures: 1, window_started_at: at, locked_until: null })
    .onConflict((oc) =>
      oc.column('key').doUpdateSet({
        failures: sql<number>`case when sign_in_failures.window_started_at < ${windowStart} then 1 else sign_in_failures.failures + 1 end`,
        window_started_at: sql<string>`case when sign_in_failures.window_started_at < ${windowStart} then ${at} else sign_in_failures.window_started_at end`,
      }),
    )
    .returning('failures')
    .executeTakeFirstOrThrow();
  return Number(row.failures);
}

export async function lockUntil(db: Kysely<DB>, key: string, until: string): Promise<void> {
  await db.updateTable('sign_in_failures').set({ locked_until: until }).where('key', '=', key).execute();
}

/** Counts whose window has passed and that lock nothing: they would count nothing any more. */
export async function deleteStaleFailures(db: Kysely<DB>, windowStart: string, at: string): Promise<void> {
  await db
    .deleteFrom('sign_in_failures')
    .where('window_started_at', '<', windowStart)
    .where((e) => e.or([e('locked_until', 'is', null), e('locked_until', '<', at)]))
    .execute();
}

export async function clearFailures(db: Kysely<DB>, key: string): Promise<void> {
  await db.deleteFrom('sign_in_failures').where('key', '=', key).execute();
}
