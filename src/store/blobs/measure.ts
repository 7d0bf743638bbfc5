import { createHash } from 'node:crypto';
import { noteStreamed } from '../../gc-pacing.js';

/** Thrown while streaming when a body grows past its limit; the route answers 413. */
export class TooLarge extends Error {
  constructor(readonly limit: number) {
    super(`more than ${limit} bytes`);
  }
}

export interface Measured {
  /** The bytes, passed through unchanged. */
  chunks: AsyncGenerator<Buffer>;
  /** SHA-256 and size, known once `chunks` is consumed to its end. */
  result(): { sha256: string; size: number };
}

/** Hashes and counts bytes as they stream, and stops a body that passes `limit`. */
export function measure(source: AsyncIterable<Buffer | string>, limit: number): Measured {
  const hash = createHash('sha256');
  let size = 0;
  let done = false;
  async function* chunks() {
    for await (const piece of source) {
      const buffer = typeof piece === 'string' ? Buffer.from(piece) : piece;
      size += buffer.length;
      if (size > limit) throw new TooLarge(limit);
      hash.update(buffer);
      noteStreamed(buffer.length);
      yield buffer;
    }
    done = true;
  }
  let digest: string | undefined;
  return {
    chunks: chunks(),
    result() {
      if (!done) throw new Error('the stream was not read to its end');
      digest ??= hash.digest('hex');
      return { sha256: digest, size };
    },
  };
}
