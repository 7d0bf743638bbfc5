import type { BlobBackend } from './backend.js';

/** S3-compatible object storage: see docs/files.md. */
export function s3Backend(_url: string, _env: NodeJS.ProcessEnv): BlobBackend {
  throw new Error('STORAGE_URL=s3:// is not available in this build');
}
