// Every piece of a file that streams through relinks is a fresh Buffer (what a socket or a file
// read hands over, and on PostgreSQL the driver's own copies), and all of them live outside V8's
// heap. V8 collects dead young buffers only once some 32 MB of them wait, and the heap's own young
// generation, which the rest of a request fills, hardly grows while bytes stream: so a streaming
// file raised the server's peak RSS by some 30 MB of dead buffers (docs/files.md#memory). With
// `--expose-gc`, which `npm start` and bin/relinks.js pass, every STEP bytes streamed (in or out,
// all requests together) run one young-generation collection: about a millisecond with little
// alive, and the server's CPU time for a 1 GiB upload and download stayed within run-to-run noise.
// A STEP of 4 MiB left downloads from PostgreSQL, where the driver adds copies of its own, up to
// 10 MB higher. Without the flag, nothing changes.

const STEP = 2 * 1024 * 1024;

type Collect = (options: { type: 'minor' }) => void;
const collect = (globalThis as { gc?: Collect }).gc;
let streamed = 0;

/** Counts bytes a file stream moved; runs a young-generation collection every STEP of them. */
export function noteStreamed(bytes: number): void {
  if (!collect) return;
  streamed += bytes;
  if (streamed < STEP) return;
  streamed = 0;
  collect({ type: 'minor' });
}
