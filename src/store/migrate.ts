import { Migrator, type Migration, type MigrationProvider } from 'kysely';
import type { Store } from './db.js';
import { init } from './migrations/001_init.js';
import { auditIdempotency } from './migrations/003_audit_idempotency.js';

/** Migrations are compiled in, so a built server never depends on files found at run time. */
function provider(store: Store): MigrationProvider {
  return {
    async getMigrations(): Promise<Record<string, Migration>> {
      return {
        '001_init': init(store.dialect),
        '003_audit_idempotency': auditIdempotency(store.dialect),
      };
    },
  };
}

/**
 * Brings the schema up to date. On PostgreSQL, Kysely's migrator holds an advisory lock for the
 * whole run, so instances starting together apply each migration exactly once.
 */
export async function migrate(store: Store): Promise<string[]> {
  const migrator = new Migrator({ db: store.db, provider: provider(store) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error;
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
