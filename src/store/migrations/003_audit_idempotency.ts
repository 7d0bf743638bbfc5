import type { Kysely } from 'kysely';
import type { Dialect } from '../db.js';
import { idColumn } from './columns.js';

// The audit log of release and link changes, and the remembered responses of idempotent creates.

export function auditIdempotency(dialect: Dialect) {
  const id = idColumn(dialect);

  return {
    async up(db: Kysely<unknown>) {
      // No foreign keys: an audit trail outlives the users and projects it names.
      await id(db.schema.createTable('audit_events'))
        .addColumn('project_id', 'integer', (c) => c.notNull())
        .addColumn('author_id', 'integer')
        .addColumn('author_name', 'text', (c) => c.notNull())
        .addColumn('author_username', 'text', (c) => c.notNull())
        .addColumn('token_kind', 'text', (c) => c.notNull())
        .addColumn('event_name', 'text', (c) => c.notNull())
        .addColumn('target_type', 'text', (c) => c.notNull())
        .addColumn('target_id', 'integer', (c) => c.notNull())
        .addColumn('target_details', 'text', (c) => c.notNull())
        .addColumn('before_json', 'text')
        .addColumn('after_json', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('audit_events_project_id_created_at')
        .on('audit_events')
        .columns(['project_id', 'created_at', 'id'])
        .execute();

      // One key per user and route: a unique index, so of two racing requests with one key only one commits.
      await id(db.schema.createTable('idempotency_keys'))
        .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('response', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('idempotency_keys_user_id_scope_key_key', ['user_id', 'scope', 'key'])
        .execute();
      await db.schema.createIndex('idempotency_keys_expires_at').on('idempotency_keys').column('expires_at').execute();
    },
  };
}
