import type { Kysely } from 'kysely';
import type { Config } from '../config.js';
import type { Actor } from '../policy.js';
import type { DB } from '../store/schema.js';
import type { Store } from '../store/db.js';
import type { Files } from './files.js';

/** What every use case needs: the store, who is asking, and the server's settings. */
export interface Ctx {
  db: Kysely<DB>;
  actor: Actor;
  config: Config;
  /** Durable unit of work: see Store.write. */
  write: Store['write'];
  /** Hosted files' bytes and download counts. */
  files: Files;
  /** The request's correlation id (X-Request-Id), recorded with what it changes. */
  requestId?: string;
  /** Set while a create runs under an Idempotency-Key: see services/idempotency.ts. */
  idempotency?: PendingKey;
}

/** The key a create runs under, handed to the service through `ctx.idempotency`. */
export interface PendingKey {
  userId: number;
  scope: string;
  key: string;
  fingerprint: string;
}
