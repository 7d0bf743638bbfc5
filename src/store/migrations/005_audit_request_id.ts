import type { Kysely } from 'kysely';

// An audit event names the request that made the change (its X-Request-Id), so an operator can go
// from the event to that request's log lines. Events recorded before this have none.
export function auditRequestId() {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('audit_events').addColumn('request_id', 'varchar(128)').execute();
    },
  };
}
