import type { Package, PackageFile } from '../store/file-schema.js';
import type { PackageRow } from '../store/packages.js';

// GitLab's Package and PackageFile entities, in its key order.

export interface PackagePaths {
  /** The project's web path, e.g. `/group/project`. */
  projectPath: string;
  /** The API base URL, e.g. `https://relinks.example/api/v4`. */
  apiBase: string;
  canDestroy: boolean;
}

export function packageEntity(p: PackageRow, paths: PackagePaths, versions?: Package[]) {
  return {
    id: p.id,
    name: p.name,
    version: p.version,
    package_type: p.package_type,
    status: p.status,
    _links: {
      web_path: `${paths.projectPath}/-/packages/${p.id}`,
      ...(paths.canDestroy ? { delete_api_path: `${paths.apiBase}/projects/${p.project_id}/packages/${p.id}` } : {}),
    },
    created_at: p.created_at,
    last_downloaded_at: p.last_downloaded_at,
    tags: [] as string[],
    ...(versions ? { versions: versions.map((v) => ({ id: v.id, version: v.version, created_at: v.created_at, tags: [] as string[] })) } : {}),
  };
}

/** As the package files list shows it. relinks computes SHA-256 only; MD5 and SHA-1 are null, as GitLab leaves them under FIPS. */
export function packageFileEntity(f: PackageFile) {
  return {
    id: f.id,
    package_id: f.package_id,
    created_at: f.created_at,
    file_name: f.file_name,
    size: Number(f.size),
    file_md5: null,
    file_sha1: null,
    file_sha256: f.file_sha256,
  };
}

/** What a generic package upload answers with `select=package_file`: the stored record as GitLab shows it. */
export function uploadedPackageFileEntity(f: PackageFile, downloadUrl: string) {
  return {
    id: f.id,
    package_id: f.package_id,
    created_at: f.created_at,
    updated_at: f.updated_at,
    size: Number(f.size),
    file_store: 1,
    file_md5: null,
    file_sha1: null,
    file_name: f.file_name,
    file: { url: downloadUrl },
    file_sha256: f.file_sha256,
    verification_retry_at: null,
    verified_at: null,
    verification_failure: null,
    verification_retry_count: null,
    verification_checksum: null,
    verification_state: 0,
    verification_started_at: null,
    new_file_path: null,
  };
}
