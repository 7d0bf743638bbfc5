import type { Generated, Selectable } from 'kysely';

export interface BlobsTable {
  sha256: string;
  /** bigint on PostgreSQL: pg hands it over as a string. */
  size: number | string;
  location: string;
  created_at: string;
}

export interface BlobChunksTable {
  location: string;
  seq: number;
  data: Buffer;
}

export interface PackagesTable {
  id: Generated<number>;
  project_id: number;
  name: string;
  version: string;
  package_type: string;
  status: 'default' | 'hidden';
  created_at: string;
  updated_at: string;
}

export interface PackageFilesTable {
  id: Generated<number>;
  package_id: number;
  file_name: string;
  size: number | string;
  file_sha256: string;
  created_at: string;
  updated_at: string;
}

export interface UploadsTable {
  id: Generated<number>;
  project_id: number;
  secret: string;
  filename: string;
  size: number | string;
  sha256: string;
  uploaded_by: number | null;
  created_at: string;
}

export type CountedSubject = 'link' | 'package_file';

export interface DownloadCountsTable {
  subject: CountedSubject;
  subject_id: number;
  downloads: number | string;
  last_downloaded_at: string;
}

export type Package = Selectable<PackagesTable>;
export type PackageFile = Selectable<PackageFilesTable>;
export type Upload = Selectable<UploadsTable>;
