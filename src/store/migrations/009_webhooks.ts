import type { Kysely } from 'kysely';
import type { Dialect } from '../db.js';
import { idColumn } from './columns.js';

// Project webhooks and their durable delivery. A change writes one event and one delivery per hook
// in its own transaction (the outbox); workers on any instance claim deliveries, send them, and
// log every attempt. Deleting a project takes its hooks, events, deliveries and logs with it.
export function webhooks(dialect: Dialect) {
  const id = idColumn(dialect);
  return {
    async up(db: Kysely<unknown>) {
      await id(db.schema.createTable('web_hooks'))
        .addColumn('project_id', 'integer', (c) => c.notNull().references('projects.id').onDelete('cascade'))
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('token', 'text')
        .addColumn('name', 'text')
        .addColumn('description', 'text')
        .addColumn('releases_events', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('enable_ssl_verification', 'integer', (c) => c.notNull().defaultTo(1))
        // The other *_events flags and the push filter: accepted and shown, never fired (JSON object).
        .addColumn('other_events', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('push_events_branch_filter', 'text')
        .addColumn('branch_filter_strategy', 'text', (c) => c.notNull().defaultTo('wildcard'))
        // {"Header-Name": "value"}, sent with every delivery, never shown back.
        .addColumn('custom_headers', 'text', (c) => c.notNull().defaultTo('{}'))
        // GitLab's auto-disabling state (WebHooks::AutoDisabling).
        .addColumn('recent_failures', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('disabled_until', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('web_hooks_project_id').on('web_hooks').column('project_id').execute();

      await id(db.schema.createTable('web_hook_events'))
        .addColumn('project_id', 'integer', (c) => c.notNull().references('projects.id').onDelete('cascade'))
        .addColumn('trigger', 'text', (c) => c.notNull())
        /** X-Gitlab-Event-UUID */
        .addColumn('uuid', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        /** The X-Request-Id of the request whose change this is. */
        .addColumn('request_id', 'varchar(128)')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();

      await id(db.schema.createTable('web_hook_deliveries'))
        .addColumn('event_id', 'integer', (c) => c.notNull().references('web_hook_events.id').onDelete('cascade'))
        .addColumn('hook_id', 'integer', (c) => c.notNull().references('web_hooks.id').onDelete('cascade'))
        /** Idempotency-Key: the same on every attempt of this delivery. */
        .addColumn('idempotency_key', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull().defaultTo('pending'))
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', 'text', (c) => c.notNull())
        /** A worker's claim: nobody else sends this delivery before it runs out. */
        .addColumn('locked_until', 'text')
        .addColumn('locked_by', 'text')
        .addColumn('last_error', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('finished_at', 'text')
        .execute();
      await db.schema.createIndex('web_hook_deliveries_state_next_attempt_at').on('web_hook_deliveries').columns(['state', 'next_attempt_at']).execute();
      await db.schema.createIndex('web_hook_deliveries_hook_id_state').on('web_hook_deliveries').columns(['hook_id', 'state']).execute();
      await db.schema.createIndex('web_hook_deliveries_event_id').on('web_hook_deliveries').column('event_id').execute();
      // What the pruning of week-old rows looks up.
      await db.schema.createIndex('web_hook_deliveries_created_at').on('web_hook_deliveries').column('created_at').execute();
      await db.schema.createIndex('web_hook_events_created_at').on('web_hook_events').column('created_at').execute();
      // A project's deletion finds its events without a scan.
      await db.schema.createIndex('web_hook_events_project_id').on('web_hook_events').column('project_id').execute();

      // What GitLab's WebHookLog keeps of each attempt (and of each test call).
      await id(db.schema.createTable('web_hook_logs'))
        .addColumn('hook_id', 'integer', (c) => c.notNull().references('web_hooks.id').onDelete('cascade'))
        .addColumn('delivery_id', 'integer')
        .addColumn('trigger', 'text', (c) => c.notNull())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('request_headers', 'text', (c) => c.notNull())
        .addColumn('request_data', 'text', (c) => c.notNull())
        .addColumn('response_headers', 'text', (c) => c.notNull())
        .addColumn('response_body', 'text', (c) => c.notNull())
        .addColumn('response_status', 'text', (c) => c.notNull())
        .addColumn('execution_duration', 'real', (c) => c.notNull())
        .addColumn('internal_error_message', 'text')
        .addColumn('request_id', 'varchar(128)')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('web_hook_logs_hook_id_created_at').on('web_hook_logs').columns(['hook_id', 'created_at', 'id']).execute();
      await db.schema.createIndex('web_hook_logs_created_at').on('web_hook_logs').column('created_at').execute();
    },
  };
}
