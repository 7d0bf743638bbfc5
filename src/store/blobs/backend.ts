import type { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import type { DB } from '../schema.js';

/** Inclusive byte range, as HTTP's Range counts. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Where the bytes of hosted files live. A backend only moves bytes: which content exists, and under
 * which SHA-256, is recorded in the `blobs` table by store/blobs/blobs.ts.
 */
export interface BlobBackend {
  readonly name: 'disk' | 'database' | 's3';
  /**
   * True when the bytes are written inside the database transaction that records them (so an
   * aborted upload or a crash leaves nothing); false when they are written first and recorded after.
   */
  readonly transactional: boolean;
  /** Streams `source` to a new location and resolves once it is durable; leaves nothing on failure. */
  write(source: AsyncIterable<Buffer>, trx?: Kysely<DB>): Promise<string>;
  /** The bytes at `location`, or the range of them. */
  read(location: string, range?: ByteRange): Readable;
  remove(location: string, trx?: Kysely<DB>): Promise<void>;
  /** Locations written before `before` (ms since epoch); the sweeper removes those no blob row names. */
  list?(before: number): AsyncIterable<string>;
  close?(): Promise<void>;
}
