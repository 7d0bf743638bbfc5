import type { CreateTableBuilder } from 'kysely';
import type { Dialect } from '../db.js';

type Table = CreateTableBuilder<string, never>;

/** Adds an integer primary key the database numbers: serial on PostgreSQL, autoincrement on SQLite. */
export const idColumn = (dialect: Dialect) => (t: Table) =>
  dialect === 'postgres'
    ? t.addColumn('id', 'serial', (c) => c.primaryKey())
    : t.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
