import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import type { DB } from '../schema.js';
import type { BlobBackend, ByteRange } from './backend.js';

// Bytes in the database itself (the default with PostgreSQL), so every instance serves every file
// with no shared disk. They are written in the transaction that records them: an upload that breaks
// off, or a process killed mid-upload, rolls back and leaves nothing behind.

/** Fixed, so the chunk holding any byte is known without reading the ones before it. */
export const CHUNK_SIZE = 256 * 1024;
/**
 * Chunks fetched per query when reading. PostgreSQL sends bytea as hex text, so each query holds
 * about three times its bytes in memory for a moment: 512 KiB of file, ~1.5 MB in flight.
 */
const CHUNKS_PER_READ = 2;

/** Cuts a stream of buffers of any size into CHUNK_SIZE pieces (the last one shorter). */
export async function* chunked(source: AsyncIterable<Buffer>, size = CHUNK_SIZE): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let length = 0;
  for await (const piece of source) {
    let buffer = piece;
    while (length + buffer.length >= size) {
      const take = size - length;
      pending.push(buffer.subarray(0, take));
      yield Buffer.concat(pending, size);
      buffer = buffer.subarray(take);
      pending = [];
      length = 0;
    }
    if (buffer.length) {
      pending.push(buffer);
      length += buffer.length;
    }
  }
  if (length) yield Buffer.concat(pending, length);
}

export function databaseBackend(db: Kysely<DB>): BlobBackend {
  return {
    name: 'database',
    transactional: true,
    async write(source, trx) {
      if (!trx) throw new Error('the database backend writes inside the recording transaction');
      const location = randomUUID();
      let seq = 0;
      for await (const data of chunked(source)) {
        await trx.insertInto('blob_chunks').values({ location, seq: seq++, data }).execute();
      }
      return location;
    },
    read(location, range?: ByteRange, reader = db) {
      const first = range ? Math.floor(range.start / CHUNK_SIZE) : 0;
      const last = range ? Math.floor(range.end / CHUNK_SIZE) : Number.MAX_SAFE_INTEGER;
      let next = first;
      async function* chunks() {
        while (next <= last) {
          const rows = await reader
            .selectFrom('blob_chunks')
            .select(['seq', 'data'])
            .where('location', '=', location)
            .where('seq', '>=', next)
            .where('seq', '<=', Math.min(last, next + CHUNKS_PER_READ - 1))
            .orderBy('seq')
            .execute();
          if (!rows.length) return;
          for (const row of rows) {
            let data = Buffer.from(row.data);
            if (range && row.seq === last) data = data.subarray(0, range.end - row.seq * CHUNK_SIZE + 1);
            if (range && row.seq === first) data = data.subarray(range.start - row.seq * CHUNK_SIZE);
            yield data;
          }
          next = rows[rows.length - 1].seq + 1;
          if (rows.length < CHUNKS_PER_READ) return;
        }
      }
      return Readable.from(chunks(), { objectMode: false });
    },
    async remove(location, trx = db) {
      await trx.deleteFrom('blob_chunks').where('location', '=', location).execute();
    },
  };
}
