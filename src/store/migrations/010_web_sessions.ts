import type { Kysely } from 'kysely';
import type { Dialect } from '../db.js';
import { idColumn } from './columns.js';

// Browser sign-in: sessions live in the database, so every instance knows them and a sign-out
// ends them everywhere at once; failed sign-ins are counted there too, for the same reason.
export function webSessions(dialect: Dialect) {
  const id = idColumn(dialect);
  return {
    async up(db: Kysely<unknown>) {
      await id(db.schema.createTable('web_sessions'))
        // Only the digest of the cookie's value, as for tokens: a leaked database signs no one in.
        .addColumn('session_digest', 'text', (c) => c.notNull().unique())
        .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        // A session opened with a personal access token ends with it, and has its scopes.
        .addColumn('token_id', 'integer', (c) => c.references('personal_access_tokens.id').onDelete('cascade'))
        .addColumn('scopes', 'text', (c) => c.notNull())
        // The forms' authenticity token: a page from elsewhere cannot know it.
        .addColumn('csrf_token', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('last_seen_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('web_sessions_user_id').on('web_sessions').column('user_id').execute();
      await db.schema.createIndex('web_sessions_token_id').on('web_sessions').column('token_id').execute();
      // Ended sessions are cleared at sign-ins: found by their end.
      await db.schema.createIndex('web_sessions_expires_at').on('web_sessions').column('expires_at').execute();

      // One row per account (or per unknown login name) and per client address.
      await id(db.schema.createTable('sign_in_failures'))
        .addColumn('key', 'text', (c) => c.notNull().unique())
        .addColumn('failures', 'integer', (c) => c.notNull())
        .addColumn('window_started_at', 'text', (c) => c.notNull())
        .addColumn('locked_until', 'text')
        .execute();
      await db.schema.createIndex('sign_in_failures_window_started_at').on('sign_in_failures').column('window_started_at').execute();
    },
  };
}
