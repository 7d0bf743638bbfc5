import path from 'node:path';
import { Transform, pipeline, type Readable } from 'node:stream';
import { sql, type Kysely } from 'kysely';
import { noteStreamed } from '../gc-pacing.js';
import { recordUpload, setStoredBytesProbe } from '../metrics.js';
import type { Config } from '../config.js';
import type { BlobBackend, ByteRange } from '../store/blobs/backend.js';
import { dropBlobIfUnused, findBlob, isKnownLocation, keepBlob, unreferencedBlobs, type BlobRow } from '../store/blobs/blobs.js';
import { databaseBackend } from '../store/blobs/database.js';
import { diskBackend } from '../store/blobs/disk.js';
import { measure, TooLarge, type Measured } from '../store/blobs/measure.js';
import { ApiError } from '../errors.js';
import { s3Backend } from '../store/blobs/s3.js';
import type { Store } from '../store/db.js';
import type { DB } from '../store/schema.js';
import { DownloadCounter } from './download-counter.js';

// Hosted files' bytes: streamed in while hashed and counted, recorded in the same transaction as
// the file that names them, streamed out by range; content no file names any more is swept.

export interface Files {
  backend: BlobBackend;
  counter: DownloadCounter;
  /** Removes unreferenced content and abandoned partial writes; returns how many went. */
  sweep(graceMs?: number): Promise<number>;
  close(): Promise<void>;
}

export interface StoredContent {
  sha256: string;
  size: number;
}

export function backendFor(config: Config, store: Store): BlobBackend {
  const url = config.storageUrl;
  if (url === 'database') {
    if (!store.pool) throw new Error('STORAGE_URL=database needs PostgreSQL');
    return databaseBackend(store.db, store.pool);
  }
  if (url.startsWith('s3://')) return s3Backend(url, process.env);
  return diskBackend(path.resolve(url.slice('file:'.length)));
}

export function openFiles(config: Config, store: Store, log: { warn(o: object, m: string): void }): Files {
  const backend = backendFor(config, store);
  const counter = new DownloadCounter(store.write, config.downloadCountFlushMs, (err) => log.warn({ err }, 'download counts not written; kept for the next batch'));
  const sweep = (graceMs = config.blobSweepGraceSeconds * 1000) => sweepBlobs(store, backend, graceMs);
  setStoredBytesProbe(async () => Number((await sql<{ n: string | null }>`select sum(size) as n from blobs`.execute(store.db)).rows[0]?.n ?? 0));
  const timer = setInterval(() => void sweep().catch((err) => log.warn({ err }, 'blob sweep failed')), config.blobSweepIntervalSeconds * 1000);
  timer.unref();
  return {
    backend,
    counter,
    sweep,
    async close() {
      clearInterval(timer);
      setStoredBytesProbe(undefined);
      await counter.close();
      await backend.close?.();
    },
  };
}

/**
 * Streams `source` into the backend and runs `record` (which writes the rows naming the content)
 * in the same unit of work as the content's own row. Nothing is recorded unless every byte arrived;
 * bytes that end up unrecorded are removed (or, after a crash, swept).
 */
export async function storeContent<T>(write: Store['write'], files: Files, source: AsyncIterable<Buffer>, limit: number, record: (trx: Kysely<DB>, content: StoredContent) => Promise<T>): Promise<T> {
  try {
    return await storeMeasured(write, files, measure(source, limit), record);
  } catch (error) {
    if (error instanceof TooLarge) throw new ApiError(413, { message: '413 Request Entity Too Large' });
    throw error;
  }
}

async function storeMeasured<T>(write: Store['write'], files: Files, measured: Measured, record: (trx: Kysely<DB>, content: StoredContent) => Promise<T>): Promise<T> {
  const { backend } = files;
  if (backend.transactional) {
    const out = await write(async (trx) => {
      const location = await backend.write(measured.chunks, trx);
      const content = measured.result();
      const kept = await keepBlob(trx, content, location);
      if (kept !== location) await backend.remove(location, trx);
      return record(trx, content);
    });
    recordUpload(measured.result().size);
    return out;
  }
  const location = await backend.write(measured.chunks);
  const content = measured.result();
  let kept = location;
  try {
    const out = await write(async (trx) => {
      kept = await keepBlob(trx, content, location);
      return record(trx, content);
    });
    if (kept !== location) await backend.remove(location).catch(() => {});
    recordUpload(content.size);
    return out;
  } catch (error) {
    await backend.remove(location).catch(() => {});
    throw error;
  }
}

export interface OpenedContent extends BlobRow {
  open(range?: ByteRange): Readable;
}

/** The content with this SHA-256, ready to stream; undefined if its row is gone. */
export async function openContent(db: Kysely<DB>, files: Files, sha256: string): Promise<OpenedContent | undefined> {
  const blob = await findBlob(db, sha256);
  if (!blob) return undefined;
  return { ...blob, open: (range) => paced(files.backend.read(blob.location, range)) };
}

/** The stream unchanged, its bytes counted for gc-pacing.ts (uploads are counted by measure()). */
function paced(source: Readable): Readable {
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      noteStreamed(chunk.length);
      done(null, chunk);
    },
  });
  // Either side ending early (the client gone, the backend failing) ends the other.
  return pipeline(source, counted, () => {});
}

async function sweepBlobs(store: Store, backend: BlobBackend, graceMs: number): Promise<number> {
  let removed = 0;
  for (;;) {
    const candidates = await unreferencedBlobs(store.db, 100);
    let progressed = false;
    for (const sha256 of candidates) {
      const location = await store.write(async (trx) => {
        const gone = await dropBlobIfUnused(trx, store.dialect, sha256);
        // The database backend's chunks go in the same transaction as their row.
        if (gone && backend.transactional) await backend.remove(gone, trx);
        return gone;
      });
      if (location === null) continue;
      progressed = true;
      removed++;
      // The row is gone, so no new file can be recorded against these bytes any more.
      if (!backend.transactional) await backend.remove(location);
    }
    if (!progressed || candidates.length < 100) break;
  }
  // Bytes written but never recorded: a crash between the write and its commit.
  if (backend.list) {
    for await (const location of backend.list(Date.now() - graceMs)) {
      if (!(await isKnownLocation(store.db, location))) {
        await backend.remove(location);
        removed++;
      }
    }
  }
  return removed;
}
