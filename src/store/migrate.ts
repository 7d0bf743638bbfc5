import { Migrator, sql, type Migration, type MigrationProvider, type MigrationResultSet } from 'kysely';
import type { Store } from './db.js';
import { init } from './migrations/001_init.js';
import { jobTokens } from './migrations/002_job_tokens.js';
import { auditIdempotency } from './migrations/003_audit_idempotency.js';
import { perfIndexes } from './migrations/004_perf_indexes.js';
import { auditRequestId } from './migrations/005_audit_request_id.js';
import { milestones } from './migrations/006_milestones.js';
import { linkGivenOrder } from './migrations/007_link_given_order.js';
import { files } from './migrations/008_files.js';
import { webhooks } from './migrations/009_webhooks.js';
import { webSessions } from './migrations/010_web_sessions.js';

/** Migrations are compiled in, so a built server never depends on files found at run time. */
function provider(store: Store): MigrationProvider {
  return {
    async getMigrations(): Promise<Record<string, Migration>> {
      return {
        '001_init': init(store.dialect),
        '002_job_tokens': jobTokens(store.dialect),
        '003_audit_idempotency': auditIdempotency(store.dialect),
        '004_perf_indexes': perfIndexes(store.dialect),
        '005_audit_request_id': auditRequestId(),
        '006_milestones': milestones(store.dialect),
        '007_link_given_order': linkGivenOrder(),
        '008_files': files(store.dialect),
        '009_webhooks': webhooks(store.dialect),
        '010_web_sessions': webSessions(store.dialect),
      };
    },
  };
}

/**
 * Brings the schema up to date, applying each migration exactly once even when several
 * instances start together. On PostgreSQL, Kysely's migrator holds a session advisory lock
 * (pg_advisory_lock) around reading and applying the pending migrations, and applies them in one
 * transaction. On SQLite it takes no lock, so we hold the database's write lock for the run.
 */
export async function migrate(store: Store): Promise<string[]> {
  const { error, results } = store.dialect === 'postgres' ? await migratePostgres(store) : await migrateSqlite(store);
  if (error) throw error;
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

async function migratePostgres(store: Store): Promise<MigrationResultSet> {
  // Without a schema, the migrator's "does the table exist" check matches its bookkeeping tables in
  // ANY schema of the database, and a second tenant (`?schema=`) would skip creating its own.
  const { rows } = await sql<{ schema: string | null; path: string }>`select current_schema() as schema, current_setting('search_path') as path`.execute(store.db);
  const schema = rows[0].schema;
  if (schema === null) {
    throw new Error(`DATABASE_URL: no schema of the search path (${rows[0].path}) exists; create it first (create schema <name>)`);
  }
  const migrator = new Migrator({ db: store.db, provider: provider(store), migrationTableSchema: schema });
  // The advisory lock is one for the whole database, every schema's tenants included: a node whose
  // schema is up to date does not queue behind another schema's migration. Only pending
  // migrations are applied under the lock, where the migrator reads them again.
  if ((await migrator.getMigrations()).every((m) => m.executedAt !== undefined)) return { results: [] };
  return migrator.migrateToLatest();
}

async function migrateSqlite(store: Store): Promise<MigrationResultSet> {
  // BEGIN IMMEDIATE waits (busy_timeout) for other processes' write locks, then keeps them out
  // until we commit: the one connection runs the migrator inside this transaction.
  await sql`begin immediate`.execute(store.db);
  try {
    const result = await new Migrator({ db: store.db, provider: provider(store) }).migrateToLatest();
    await sql.raw(result.error ? 'rollback' : 'commit').execute(store.db);
    return result;
  } catch (error) {
    await sql`rollback`.execute(store.db).catch(() => {});
    throw error;
  }
}
