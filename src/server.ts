import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { issueToken, tokenDigest } from './services/tokens.js';
import { ensureRoot } from './services/users.js';
import { openStore, type Store } from './store/db.js';
import { migrate } from './store/migrate.js';
import { findTokenByDigest } from './store/tokens.js';

export interface Running {
  app: FastifyInstance;
  store: Store;
  url: string;
  close(): Promise<void>;
}

/** Opens the store, migrates it, bootstraps root when asked, and starts listening. */
export async function startServer(config: Config, options: { logger?: boolean } = {}): Promise<Running> {
  const store = openStore({ databaseUrl: config.databaseUrl, poolMax: config.databasePoolMax });
  await migrate(store);
  if (config.initialRootToken) {
    await ensureRoot(store.db, config.initialRootToken, async (db, userId, token) => {
      if (!(await findTokenByDigest(db, tokenDigest(token)))) {
        await issueToken(db, userId, { name: 'initial root token', scopes: ['api'] }, token);
      }
    });
  }
  const app = await buildApp({ config, store, logger: options.logger ?? true });
  const address = await app.listen({ port: config.port, host: config.host });
  const port = new URL(address).port;
  let closed = false;
  return {
    app,
    store,
    url: `http://127.0.0.1:${port}`,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await store.close();
    },
  };
}
