import { sql, type Kysely, type Updateable } from 'kysely';
import { rowsAndTotal, type Page } from './page.js';
import type { DB } from './schema.js';
import type { NewWebHook, WebHook, WebHookLog, WebHooksTable } from './webhook-schema.js';

// A project's webhooks (GitLab's ProjectHook rows) and their logs.

/** Serial ids are 32-bit on PostgreSQL: a larger one names no row (and must not reach the driver). */
const MAX_ID = 2147483647;

export async function insertHook(db: Kysely<DB>, values: NewWebHook): Promise<WebHook> {
  return db.insertInto('web_hooks').values(values).returningAll().executeTakeFirstOrThrow();
}

export async function findHook(db: Kysely<DB>, projectId: number, id: number): Promise<WebHook | undefined> {
  if (id > MAX_ID) return undefined;
  return db.selectFrom('web_hooks').selectAll().where('project_id', '=', projectId).where('id', '=', id).executeTakeFirst();
}

/** The hook row locked until the transaction ends (a no-op update, as lockedRelease does). */
export async function lockedHook(trx: Kysely<DB>, id: number): Promise<WebHook | undefined> {
  return trx.updateTable('web_hooks').set((eb) => ({ updated_at: eb.ref('updated_at') })).where('id', '=', id).returningAll().executeTakeFirst();
}

export async function countHooks(db: Kysely<DB>, projectId: number): Promise<number> {
  const row = await db.selectFrom('web_hooks').select(sql<string>`count(*)`.as('n')).where('project_id', '=', projectId).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** GitLab lists a project's hooks by id. */
export async function listHooks(db: Kysely<DB>, projectId: number, page: Page): Promise<{ rows: WebHook[]; total: number }> {
  const base = db.selectFrom('web_hooks').where('project_id', '=', projectId);
  return rowsAndTotal(
    base.selectAll().orderBy('id', 'asc').limit(page.perPage).offset(page.offset).execute(),
    base.select(sql<string>`count(*)`.as('n')).executeTakeFirstOrThrow(),
  );
}

export async function updateHook(db: Kysely<DB>, id: number, values: Updateable<WebHooksTable>): Promise<WebHook> {
  return db.updateTable('web_hooks').set(values).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

export async function deleteHook(db: Kysely<DB>, id: number): Promise<void> {
  await db.deleteFrom('web_hooks').where('id', '=', id).execute();
}

export interface LogFilter {
  since: string;
  /** Exact statuses ("200", "internal error") and ranges [low, high] of HTTP statuses. */
  statuses?: string[];
  ranges?: Array<[number, number]>;
}

/** A hook's log, newest first, as GitLab's WebHookLogsFinder lists it. */
export async function listHookLogs(db: Kysely<DB>, hookId: number, filter: LogFilter, page: Page): Promise<{ rows: WebHookLog[]; total: number }> {
  let base = db.selectFrom('web_hook_logs').where('hook_id', '=', hookId).where('created_at', '>=', filter.since);
  const statuses = filter.statuses ?? [];
  const ranges = filter.ranges ?? [];
  if (statuses.length || ranges.length) {
    base = base.where((eb) =>
      eb.or([
        ...(statuses.length ? [eb('response_status', 'in', statuses)] : []),
        // Statuses are kept as text ("200", or "internal error" for no answer): three digits compare as numbers do.
        ...ranges.map(([low, high]) => eb.and([eb('response_status', '>=', String(low)), eb('response_status', '<=', String(high)), eb(sql`length(response_status)`, '=', 3)])),
      ]),
    );
  }
  return rowsAndTotal(
    base.selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.perPage).offset(page.offset).execute(),
    base.select(sql<string>`count(*)`.as('n')).executeTakeFirstOrThrow(),
  );
}
