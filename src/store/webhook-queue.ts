import { sql, type ExpressionBuilder, type Kysely } from 'kysely';
import type { Dialect } from './db.js';
import type { DB } from './schema.js';
import { PERMANENTLY_DISABLED_FAILURE_THRESHOLD, TEMPORARILY_DISABLED_FAILURE_THRESHOLD, type NewWebHookLog, type WebHookEventsTable } from './webhook-schema.js';

// The webhook outbox: events written with the change that caused them, one delivery per hook, and
// the claims that let exactly one worker of any instance send a delivery at a time.

/** Hooks of the project that a release event goes to: release events on, not permanently disabled. */
export async function releaseHookIds(trx: Kysely<DB>, projectId: number): Promise<number[]> {
  const rows = await trx
    .selectFrom('web_hooks')
    .select('id')
    .where('project_id', '=', projectId)
    .where('releases_events', '=', 1)
    .where('recent_failures', '<=', PERMANENTLY_DISABLED_FAILURE_THRESHOLD)
    .orderBy('id')
    .execute();
  return rows.map((r) => r.id);
}

/** An event row as written: every column of the table but its generated id. */
export type NewEvent = Omit<WebHookEventsTable, 'id'>;

/** Writes the event and its deliveries (inside the change's transaction). */
export async function enqueueEvent(trx: Kysely<DB>, event: NewEvent, deliveries: Array<{ hookId: number; idempotencyKey: string }>): Promise<number> {
  const { id } = await trx.insertInto('web_hook_events').values(event).returning('id').executeTakeFirstOrThrow();
  await trx
    .insertInto('web_hook_deliveries')
    .values(deliveries.map((d) => ({ event_id: id, hook_id: d.hookId, idempotency_key: d.idempotencyKey, state: 'pending' as const, attempts: 0, next_attempt_at: event.created_at, created_at: event.created_at })))
    .execute();
  return id;
}

/** A hook may be sent to now: GitLab's `executable` scope. */
const executableAt = (now: string) => sql<boolean>`(h.recent_failures <= ${PERMANENTLY_DISABLED_FAILURE_THRESHOLD} and (h.recent_failures <= ${TEMPORARILY_DISABLED_FAILURE_THRESHOLD} or h.disabled_until is null or h.disabled_until < ${now}))`;

/** How many due deliveries one look reads at most before picking one per hook. */
const SCAN = 512;

/** A delivery no worker holds at `now`: never claimed, or its claim has run out. */
const unclaimedAt = (now: string) => (w: ExpressionBuilder<DB, 'web_hook_deliveries'>) =>
  w.or([w('locked_until', 'is', null), w('locked_until', '<', now)]);

/**
 * The oldest due, unclaimed delivery of each hook that may be sent to now, leaving out the hooks
 * this worker is sending to already and the deliveries it found held by another worker (`held`:
 * a row another transaction has locked, on PostgreSQL), so the look goes past them to the next.
 * Read without locks: claim() decides who gets them.
 */
export async function dueDeliveries(db: Kysely<DB>, now: string, busyHooks: number[], limit: number, held: number[] = []): Promise<Array<{ id: number; hook_id: number; url: string }>> {
  const rows = await db
    .selectFrom('web_hook_deliveries as d')
    .innerJoin('web_hooks as h', 'h.id', 'd.hook_id')
    .select(['d.hook_id', 'h.url', sql<number>`min(d.id)`.as('id')])
    .where('d.id', 'in', (eb) =>
      eb
        .selectFrom('web_hook_deliveries')
        .select('id')
        .where('state', '=', 'pending')
        .where('next_attempt_at', '<=', now)
        .where(unclaimedAt(now))
        .$if(held.length > 0, (q) => q.where('id', 'not in', held))
        .orderBy('next_attempt_at')
        .limit(SCAN),
    )
    .where(executableAt(now))
    .$if(busyHooks.length > 0, (q) => q.where('d.hook_id', 'not in', busyHooks))
    .groupBy(['d.hook_id', 'h.url'])
    .orderBy(sql`min(d.id)`)
    .limit(limit)
    .execute();
  return rows.map((r) => ({ id: Number(r.id), hook_id: r.hook_id, url: r.url }));
}

/**
 * Claims the deliveries that are still unclaimed, until `until`. On PostgreSQL the rows are taken
 * with FOR UPDATE SKIP LOCKED, so a worker of another instance claiming at the same moment gets
 * the others instead of waiting; the conditions are checked again by the UPDATE itself, so on
 * either store a delivery claimed meanwhile is left out.
 */
export async function claim(trx: Kysely<DB>, dialect: Dialect, ids: number[], now: string, until: string, worker: string): Promise<number[]> {
  if (ids.length === 0) return [];
  const rows = await trx
    .updateTable('web_hook_deliveries')
    .set({ locked_until: until, locked_by: worker })
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('web_hook_deliveries')
        .select('id')
        .where('id', 'in', ids)
        .where('state', '=', 'pending')
        .where(unclaimedAt(now))
        .$if(dialect === 'postgres', (q) => q.forUpdate().skipLocked()),
    )
    .where('state', '=', 'pending')
    .where(unclaimedAt(now))
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}

/**
 * The oldest due, unclaimed delivery of one hook, claimed for this worker (the slot that just sent
 * to the hook goes on with it). On PostgreSQL a delivery whose row another transaction holds is
 * passed over for the next one (SKIP LOCKED is applied before the LIMIT).
 */
export async function claimNextOfHook(trx: Kysely<DB>, dialect: Dialect, hookId: number, now: string, until: string, worker: string): Promise<number | undefined> {
  const row = await trx
    .updateTable('web_hook_deliveries')
    .set({ locked_until: until, locked_by: worker })
    // `=`, not `in`: an uncorrelated scalar subquery runs once. Under `in` PostgreSQL may run a
    // LIMIT … SKIP LOCKED subquery again for other rows, and each run can pick another delivery.
    .where('id', '=', (eb) =>
      eb
        .selectFrom('web_hook_deliveries')
        .select('id')
        .where('hook_id', '=', hookId)
        .where('state', '=', 'pending')
        .where('next_attempt_at', '<=', now)
        .where(unclaimedAt(now))
        .orderBy('id')
        .limit(1)
        .$if(dialect === 'postgres', (q) => q.forUpdate().skipLocked()),
    )
    .where('state', '=', 'pending')
    .where(unclaimedAt(now))
    .returning('id')
    .executeTakeFirst();
  return row?.id;
}

export interface ClaimedDelivery {
  id: number;
  attempts: number;
  idempotency_key: string;
  created_at: string;
  event_id: number;
  event_uuid: string;
  trigger: string;
  payload: string;
  request_id: string | null;
  hook_id: number;
  project_id: number;
  url: string;
  token: string | null;
  custom_headers: string;
  enable_ssl_verification: number;
}

/** What sending the claimed deliveries needs: the event's payload and the hook as it is now. */
export async function claimedDeliveries(db: Kysely<DB>, ids: number[]): Promise<ClaimedDelivery[]> {
  if (ids.length === 0) return [];
  return db
    .selectFrom('web_hook_deliveries as d')
    .innerJoin('web_hook_events as e', 'e.id', 'd.event_id')
    .innerJoin('web_hooks as h', 'h.id', 'd.hook_id')
    .select([
      'd.id', 'd.attempts', 'd.idempotency_key', 'd.created_at',
      'e.id as event_id', 'e.uuid as event_uuid', 'e.trigger', 'e.payload', 'e.request_id',
      'h.id as hook_id', 'h.project_id', 'h.url', 'h.token', 'h.custom_headers', 'h.enable_ssl_verification',
    ])
    .where('d.id', 'in', ids)
    .orderBy('d.id')
    .execute();
}

export type Outcome =
  | { kind: 'delivered'; at: string }
  | { kind: 'retry'; at: string; next: string; error: string }
  | { kind: 'failed'; at: string; error: string };

/** Records an attempt's outcome for a delivery this worker holds; false when its claim was lost. */
export async function finishDelivery(trx: Kysely<DB>, id: number, worker: string, outcome: Outcome): Promise<boolean> {
  const common = { attempts: sql<number>`attempts + 1`, locked_until: null, locked_by: null };
  const values =
    outcome.kind === 'delivered'
      ? { ...common, state: 'delivered' as const, finished_at: outcome.at, last_error: null }
      : outcome.kind === 'failed'
        ? { ...common, state: 'failed' as const, finished_at: outcome.at, last_error: outcome.error }
        : { ...common, next_attempt_at: outcome.next, last_error: outcome.error };
  const result = await trx
    .updateTable('web_hook_deliveries')
    .set(values)
    .where('id', '=', id)
    .where('locked_by', '=', worker)
    .where('state', '=', 'pending')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Gives a claimed delivery back untouched (shutdown): the next worker sends it at once. */
export async function releaseClaim(db: Kysely<DB>, id: number, worker: string): Promise<void> {
  await db.updateTable('web_hook_deliveries').set({ locked_until: null, locked_by: null }).where('id', '=', id).where('locked_by', '=', worker).execute();
}

/** A permanently disabled hook sends nothing more: what it still had pending is given up. */
export async function failPendingOfHook(trx: Kysely<DB>, hookId: number, at: string, error: string): Promise<number> {
  const result = await trx
    .updateTable('web_hook_deliveries')
    .set({ state: 'failed', finished_at: at, last_error: error, locked_until: null, locked_by: null })
    .where('hook_id', '=', hookId)
    .where('state', '=', 'pending')
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export async function insertLog(trx: Kysely<DB>, log: NewWebHookLog): Promise<void> {
  await trx.insertInto('web_hook_logs').values(log).execute();
}

/** Deliveries waiting (due or not, claimed or not) and when the oldest of them was committed. */
export async function queueStats(db: Kysely<DB>): Promise<{ depth: number; oldest: string | null }> {
  const row = await db
    .selectFrom('web_hook_deliveries')
    .select([sql<string>`count(*)`.as('n'), sql<string | null>`min(created_at)`.as('oldest')])
    .where('state', '=', 'pending')
    .executeTakeFirstOrThrow();
  return { depth: Number(row.n), oldest: row.oldest };
}

/** Drops what is older than `before`: logs, finished deliveries, and events left without deliveries. */
export async function prune(db: Kysely<DB>, before: string): Promise<void> {
  await db.deleteFrom('web_hook_logs').where('created_at', '<', before).execute();
  await db.deleteFrom('web_hook_deliveries').where('state', '!=', 'pending').where('created_at', '<', before).execute();
  await db
    .deleteFrom('web_hook_events')
    .where('created_at', '<', before)
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom('web_hook_deliveries as d').select('d.id').whereRef('d.event_id', '=', 'web_hook_events.id'))))
    .execute();
}
