import type { Kysely } from 'kysely';
import type { Config } from '../config.js';
import type { Actor } from '../policy.js';
import type { DB } from '../store/schema.js';
import type { Store } from '../store/db.js';

/** What every use case needs: the store, who is asking, and the server's settings. */
export interface Ctx {
  db: Kysely<DB>;
  actor: Actor;
  config: Config;
  /** Durable unit of work: see Store.write. */
  write: Store['write'];
}
