import { Type } from '@sinclair/typebox';
import { RELINKS_OWN } from './responses.js';

// Response bodies of hosted files (packages, package files, uploads), in their entities' key order.

const nullable = (schema: { type: string }) => Type.Unsafe({ ...schema, type: [schema.type, 'null'] });
const Str = Type.String();
const Int = Type.Integer();
const Tags = Type.Array(Str, { maxItems: 0 });

export const Package = Type.Object(
  {
    id: Int,
    name: Str,
    version: Str,
    package_type: Str,
    status: Str,
    _links: Type.Object({ web_path: Str, delete_api_path: Type.Optional(Str) }),
    created_at: Str,
    last_downloaded_at: nullable(Type.String()),
    tags: Tags,
    versions: Type.Optional(Type.Array(Type.Object({ id: Int, version: Str, created_at: Str, tags: Tags }))),
  },
  { title: 'Package' },
);

export const PackageFile = Type.Object(
  { id: Int, package_id: Int, created_at: Str, file_name: Str, size: Int, file_md5: Type.Null(), file_sha1: Type.Null(), file_sha256: Str },
  { title: 'PackageFile' },
);

export const UploadedPackageFile = Type.Object(
  {
    id: Int,
    package_id: Int,
    created_at: Str,
    updated_at: Str,
    size: Int,
    file_store: Int,
    file_md5: Type.Null(),
    file_sha1: Type.Null(),
    file_name: Str,
    file: Type.Object({ url: Str }),
    file_sha256: Str,
    verification_retry_at: Type.Null(),
    verified_at: Type.Null(),
    verification_failure: Type.Null(),
    verification_retry_count: Type.Null(),
    verification_checksum: Type.Null(),
    verification_state: Int,
    verification_started_at: Type.Null(),
    new_file_path: Type.Null(),
  },
  { title: 'UploadedPackageFile' },
);

export const UploadedFile = Type.Object({ id: Int, alt: Str, url: Str, full_path: Str, markdown: Str }, { title: 'UploadedFile' });

export const UploadListEntry = Type.Object(
  {
    id: Int,
    size: Int,
    filename: Str,
    created_at: Str,
    uploaded_by: nullable(Type.Object({ id: Int, username: Str, name: Str }) as unknown as { type: string }),
  },
  { title: 'Upload' },
);

/** Bytes of a hosted file; `206` for a range. */
const BINARY = { schema: { type: 'string', format: 'binary' } };
export const FileBytes = (description: string) => ({
  description,
  content: { 'application/octet-stream': BINARY, 'image/png': BINARY, 'image/jpeg': BINARY, 'image/gif': BINARY, 'image/webp': BINARY },
});

/** relinks' own: how often each asset was downloaded. */
export const DownloadCount = Type.Object(
  { id: Int, name: Str, downloads: Int, last_downloaded_at: nullable(Type.String()) },
  { title: 'DownloadCount', ...RELINKS_OWN },
);
