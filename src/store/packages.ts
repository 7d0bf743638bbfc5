import { sql, type Kysely } from 'kysely';
import { now } from './errors.js';
import type { Package, PackageFile } from './file-schema.js';
import { rowsAndTotal, type Page } from './page.js';
import type { DB } from './schema.js';

// Packages and their files. A package is unique per project, type, name and version (index).

export interface PackageRow extends Package {
  /** The latest download of any of its files (batched counts: see services/download-counter.ts). */
  last_downloaded_at: string | null;
}

// Correlated on the outer `p`: one subquery per listed package, served by the count table's key.
const LAST_DOWNLOADED = sql<string | null>`(select max(c.last_downloaded_at) from download_counts c join package_files pf on pf.id = c.subject_id and c.subject = 'package_file' where pf.package_id = p.id)`;

function withLastDownload(db: Kysely<DB>) {
  return db.selectFrom('packages as p').selectAll('p').select(LAST_DOWNLOADED.as('last_downloaded_at'));
}

/** Finds the package or makes it, under its unique index; `status` given on an upload is applied. */
export async function upsertPackage(trx: Kysely<DB>, p: { project_id: number; name: string; version: string; package_type: string; status?: 'default' | 'hidden' }): Promise<Package> {
  const at = now();
  await trx
    .insertInto('packages')
    .values({ project_id: p.project_id, name: p.name, version: p.version, package_type: p.package_type, status: p.status ?? 'default', created_at: at, updated_at: at })
    .onConflict((oc) =>
      oc.columns(['project_id', 'package_type', 'name', 'version']).doUpdateSet(p.status ? { status: p.status, updated_at: at } : { updated_at: at }),
    )
    .execute();
  return (await findPackageByVersion(trx, p.project_id, p.package_type, p.name, p.version))!;
}

export async function insertPackageFile(trx: Kysely<DB>, f: { package_id: number; file_name: string; size: number; file_sha256: string }): Promise<PackageFile> {
  const at = now();
  return trx.insertInto('package_files').values({ ...f, created_at: at, updated_at: at }).returningAll().executeTakeFirstOrThrow();
}

export async function findPackageByVersion(db: Kysely<DB>, projectId: number, type: string, name: string, version: string): Promise<Package | undefined> {
  return db
    .selectFrom('packages')
    .selectAll()
    .where('project_id', '=', projectId)
    .where('package_type', '=', type)
    .where('name', '=', name)
    .where('version', '=', version)
    .executeTakeFirst();
}

/** With duplicates allowed (GitLab's default), the newest file of that name is the one served. */
export async function newestPackageFile(db: Kysely<DB>, packageId: number, fileName: string): Promise<PackageFile | undefined> {
  return db.selectFrom('package_files').selectAll().where('package_id', '=', packageId).where('file_name', '=', fileName).orderBy('id', 'desc').limit(1).executeTakeFirst();
}

/** Ids are 32-bit integers on PostgreSQL: a larger one names nothing (and must not reach a query). */
export const MAX_ID = 2147483647;

export async function findPackage(db: Kysely<DB>, projectId: number, packageId: number): Promise<PackageRow | undefined> {
  if (packageId > MAX_ID) return undefined;
  return withLastDownload(db).where('p.project_id', '=', projectId).where('p.id', '=', packageId).executeTakeFirst() as Promise<PackageRow | undefined>;
}

export interface PackageFilter {
  package_type?: string;
  package_name?: string;
  package_version?: string;
  /** GitLab's statuses; only `default` and `hidden` occur here, so the others list nothing. */
  status?: string;
  order_by: 'created_at' | 'name' | 'version' | 'type';
  sort: 'asc' | 'desc';
}

const ORDER_COLUMN = { created_at: 'p.created_at', name: 'p.name', version: 'p.version', type: 'p.package_type' } as const;

export async function listPackages(db: Kysely<DB>, projectId: number, f: PackageFilter, page: Page): Promise<{ rows: PackageRow[]; total: number }> {
  let q = db.selectFrom('packages as p').where('p.project_id', '=', projectId);
  // Hidden packages are listed only when asked for by status, as on GitLab.
  q = q.where('p.status', '=', (f.status ?? 'default') as 'default');
  if (f.package_type) q = q.where('p.package_type', '=', f.package_type);
  if (f.package_version) q = q.where('p.version', '=', f.package_version);
  if (f.package_name) {
    const pattern = `%${f.package_name.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    q = q.where(sql<boolean>`lower(p.name) like ${pattern} escape '\\'`);
  }
  const rows = q
    .selectAll('p')
    .select(LAST_DOWNLOADED.as('last_downloaded_at'))
    .orderBy(ORDER_COLUMN[f.order_by], f.sort)
    .orderBy('p.id', f.sort)
    .limit(page.perPage)
    .offset(page.offset)
    .execute() as Promise<PackageRow[]>;
  const count = q.select(sql<string>`count(*)`.as('n')).executeTakeFirstOrThrow();
  return rowsAndTotal(rows, count);
}

/** Other versions of a package's name in its project, newest first (GitLab's `versions`). */
export async function otherVersions(db: Kysely<DB>, pkg: Package): Promise<Package[]> {
  return db
    .selectFrom('packages')
    .selectAll()
    .where('project_id', '=', pkg.project_id)
    .where('package_type', '=', pkg.package_type)
    .where('name', '=', pkg.name)
    .where('id', '!=', pkg.id)
    .where('status', '=', 'default')
    .orderBy('created_at', 'desc')
    .limit(100)
    .execute();
}

export async function listPackageFiles(db: Kysely<DB>, packageId: number, page: Page): Promise<{ rows: PackageFile[]; total: number }> {
  const q = db.selectFrom('package_files').where('package_id', '=', packageId);
  return rowsAndTotal(
    q.selectAll().orderBy('id').limit(page.perPage).offset(page.offset).execute(),
    q.select(sql<string>`count(*)`.as('n')).executeTakeFirstOrThrow(),
  );
}

export async function findPackageFile(db: Kysely<DB>, packageId: number, fileId: number): Promise<PackageFile | undefined> {
  if (fileId > MAX_ID) return undefined;
  return db.selectFrom('package_files').selectAll().where('package_id', '=', packageId).where('id', '=', fileId).executeTakeFirst();
}

export async function deletePackageRow(trx: Kysely<DB>, packageId: number): Promise<number> {
  const files = await trx.selectFrom('package_files').select(sql<string>`count(*)`.as('n')).where('package_id', '=', packageId).executeTakeFirstOrThrow();
  await trx.deleteFrom('package_files').where('package_id', '=', packageId).execute();
  await trx.deleteFrom('packages').where('id', '=', packageId).execute();
  return Number(files.n);
}

export async function deletePackageFileRow(trx: Kysely<DB>, fileId: number): Promise<void> {
  await trx.deleteFrom('package_files').where('id', '=', fileId).execute();
}
