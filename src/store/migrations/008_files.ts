import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../db.js';
import { idColumn } from './columns.js';

// Hosted files: generic packages and their files, project uploads, the bytes behind them (blobs,
// stored once per SHA-256 whatever the backend) and download counts.
export function files(dialect: Dialect) {
  const id = idColumn(dialect);
  const bytes = dialect === 'postgres' ? sql`bytea` : sql`blob`;
  const big = dialect === 'postgres' ? 'bigint' : 'integer';
  return {
    async up(db: Kysely<unknown>) {
      // One row per distinct content; `location` says where the backend keeps it.
      await db.schema
        .createTable('blobs')
        .addColumn('sha256', 'text', (c) => c.primaryKey())
        .addColumn('size', big, (c) => c.notNull())
        .addColumn('location', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('blobs_location').on('blobs').column('location').execute();
      // The database backend's bytes, in fixed-size chunks so a range is read without the rest.
      await db.schema
        .createTable('blob_chunks')
        .addColumn('location', 'text', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('data', bytes, (c) => c.notNull())
        .addPrimaryKeyConstraint('blob_chunks_pkey', ['location', 'seq'])
        .execute();
      // Files are mostly compressed already: PostgreSQL would try to compress every chunk in vain.
      if (dialect === 'postgres') await sql`alter table blob_chunks alter column data set storage external`.execute(db);

      await id(db.schema.createTable('packages'))
        .addColumn('project_id', 'integer', (c) => c.notNull().references('projects.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('package_type', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull().defaultTo('default'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('packages_project_type_name_version_key', ['project_id', 'package_type', 'name', 'version'])
        .execute();

      await id(db.schema.createTable('package_files'))
        .addColumn('package_id', 'integer', (c) => c.notNull().references('packages.id').onDelete('cascade'))
        .addColumn('file_name', 'text', (c) => c.notNull())
        .addColumn('size', big, (c) => c.notNull())
        .addColumn('file_sha256', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('package_files_package_id_file_name').on('package_files').columns(['package_id', 'file_name']).execute();
      await db.schema.createIndex('package_files_file_sha256').on('package_files').column('file_sha256').execute();

      await id(db.schema.createTable('uploads'))
        .addColumn('project_id', 'integer', (c) => c.notNull().references('projects.id').onDelete('cascade'))
        .addColumn('secret', 'text', (c) => c.notNull())
        .addColumn('filename', 'text', (c) => c.notNull())
        .addColumn('size', big, (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('uploaded_by', 'integer')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('uploads_secret_key', ['secret'])
        .execute();
      await db.schema.createIndex('uploads_sha256').on('uploads').column('sha256').execute();
      // A project's uploads, newest first; and a project's deletion finds them without a scan.
      await db.schema.createIndex('uploads_project_id_created_at').on('uploads').columns(['project_id', 'created_at']).execute();

      // Counted in memory and added here in batches: no write per download on the request path.
      await db.schema
        .createTable('download_counts')
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('subject_id', 'integer', (c) => c.notNull())
        .addColumn('downloads', big, (c) => c.notNull())
        .addColumn('last_downloaded_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('download_counts_pkey', ['subject', 'subject_id'])
        .execute();
    },
  };
}
