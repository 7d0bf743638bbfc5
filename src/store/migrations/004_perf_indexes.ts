import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../db.js';

// Every request path query already has its index (test/query-plans.test.ts). These are the
// foreign key columns that had none: when the row they point at goes (a user, a namespace), the
// database must find the rows that point at it — to cascade, set null, or check — and without an
// index that is a scan of the whole table (releases has one row per release of every project).
// PostgreSQL never indexes a referencing column by itself; SQLite's documentation asks for it too.

const FOREIGN_KEY_INDEXES: [table: string, column: string][] = [
  ['releases', 'author_id'],
  ['projects', 'creator_id'],
  ['namespaces', 'owner_id'],
  ['namespaces', 'parent_id'],
  ['ci_job_tokens', 'user_id'],
];

/** Whether a table exists (in the current schema on PostgreSQL). */
async function tableExists(db: Kysely<unknown>, dialect: Dialect, table: string): Promise<boolean> {
  const { rows } =
    dialect === 'postgres'
      ? await sql<{ found: string | null }>`select to_regclass(${table})::text as found`.execute(db)
      : await sql<{ found: string | null }>`select name as found from sqlite_master where type = 'table' and name = ${table}`.execute(db);
  return rows.length > 0 && rows[0].found !== null;
}

export function perfIndexes(dialect: Dialect) {
  return {
    async up(db: Kysely<unknown>) {
      for (const [table, column] of FOREIGN_KEY_INDEXES) {
        // ci_job_tokens comes with job tokens (002): a store without them has nothing to index.
        if (!(await tableExists(db, dialect, table))) continue;
        await db.schema.createIndex(`${table}_${column}`).ifNotExists().on(table).column(column).execute();
      }
    },
    async down(db: Kysely<unknown>) {
      for (const [table, column] of FOREIGN_KEY_INDEXES) {
        await db.schema.dropIndex(`${table}_${column}`).ifExists().execute();
      }
    },
  };
}
