import { sql, type Kysely } from 'kysely';
import { rowsAndTotal, type Page } from './page.js';
import type { AuditEvent, DB, NewAuditEvent } from './schema.js';

export async function insertAuditEvent(db: Kysely<DB>, values: NewAuditEvent): Promise<void> {
  await db.insertInto('audit_events').values(values).execute();
}

export interface AuditFilter {
  createdAfter?: string;
  createdBefore?: string;
}

/** A project's events, newest first; the id breaks ties between events of the same millisecond. */
export async function listAuditEvents(
  db: Kysely<DB>,
  projectId: number,
  filter: AuditFilter,
  page: Page,
): Promise<{ rows: AuditEvent[]; total: number }> {
  const base = db
    .selectFrom('audit_events')
    .where('project_id', '=', projectId)
    .$if(filter.createdAfter !== undefined, (q) => q.where('created_at', '>=', filter.createdAfter!))
    .$if(filter.createdBefore !== undefined, (q) => q.where('created_at', '<=', filter.createdBefore!));
  return rowsAndTotal(
    base.selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.perPage).offset(page.offset).execute(),
    base.select(sql<string>`count(*)`.as('n')).executeTakeFirstOrThrow(),
  );
}
