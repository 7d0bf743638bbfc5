import type { Store } from '../store/db.js';
import { addDownloadCounts, type CountBatchRow } from '../store/download-counts.js';
import type { CountedSubject } from '../store/file-schema.js';

// Downloads are counted in memory and added to the database in one batch per interval, like the
// group commit: a download never waits for a write. The last batch is written when the server
// stops (SIGTERM closes the app, which closes this). A batch that fails is kept for the next one.

export class DownloadCounter {
  private pending = new Map<string, CountBatchRow>();
  private timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly write: Store['write'],
    flushMs: number,
    private readonly onError: (error: unknown) => void = () => {},
  ) {
    this.timer = setInterval(() => void this.flush(), flushMs);
    this.timer.unref();
  }

  hit(subject: CountedSubject, id: number): void {
    const key = `${subject}:${id}`;
    const at = new Date().toISOString();
    const row = this.pending.get(key);
    if (row) {
      row.downloads++;
      row.last_downloaded_at = at;
    } else {
      this.pending.set(key, { subject, subject_id: id, downloads: 1, last_downloaded_at: at });
    }
  }

  /** Writes what has been counted so far; resolves once it is committed. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (!this.pending.size) return;
      const batch = this.pending;
      this.pending = new Map();
      try {
        await this.write((trx) => addDownloadCounts(trx, [...batch.values()]));
      } catch (error) {
        for (const [key, row] of batch) {
          const later = this.pending.get(key);
          if (later) later.downloads += row.downloads;
          else this.pending.set(key, row);
        }
        this.onError(error);
      }
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
