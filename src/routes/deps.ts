import type { Config } from '../config.js';
import type { Store } from '../store/db.js';

// Apart from routes/index.ts, which imports every route module: each of them needs this type.

export interface RouteDeps {
  config: Config;
  store: Store;
}
