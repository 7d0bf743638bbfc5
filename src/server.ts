import type { FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { ApiError } from './errors.js';
import { jobTokens } from './http/job-tokens.js';
import { issueToken, tokenDigest } from './services/tokens.js';
import { ensureRoot } from './services/users.js';
import { openStore, type Store } from './store/db.js';
import { isUniqueViolation } from './store/errors.js';
import { migrate } from './store/migrate.js';
import { findTokenByDigest } from './store/tokens.js';
import { startDeliveryWorker } from './services/webhooks/worker.js';

export interface Running {
  app: FastifyInstance;
  store: Store;
  url: string;
  close(): Promise<void>;
}

/**
 * Makes root and its token exist. Instances started together race for these rows; the losers'
 * unique-index violations (409 for the user, a raw violation for the token) just mean another
 * instance won, and another pass finds its rows.
 */
async function bootstrapRoot(store: Store, rootToken: string): Promise<void> {
  const once = () =>
    ensureRoot(store.db, rootToken, async (db, userId, token) => {
      if (!(await findTokenByDigest(db, tokenDigest(token)))) {
        await issueToken(db, userId, { name: 'initial root token', scopes: ['api'] }, token);
      }
    });
  // Each of the two rows can be lost to another instance once, so the third pass always finds both.
  for (let attempt = 1; ; attempt++) {
    try {
      return await once();
    } catch (error) {
      const lostRace = isUniqueViolation(error) || (error instanceof ApiError && error.status === 409);
      if (!lostRace || attempt === 3) throw error;
    }
  }
}

/** Opens the store, migrates it, bootstraps root when asked, and starts listening. */
export async function startServer(config: Config, options: { logger?: boolean; logStream?: DestinationStream; responseProblems?: string[] } = {}): Promise<Running> {
  const store = openStore({ databaseUrl: config.databaseUrl, poolMax: config.databasePoolMax, stallTimeoutMs: config.databaseStallTimeoutMs, metrics: config.metricsEnabled });
  await migrate(store);
  if (config.initialRootToken) await bootstrapRoot(store, config.initialRootToken);
  const app = await buildApp({ config, store, tokenResolvers: [jobTokens], logger: options.logger ?? true, logStream: options.logStream, responseProblems: options.responseProblems });
  const address = await app.listen({ port: config.port, host: config.host });
  const port = new URL(address).port;
  const webhooks = startDeliveryWorker(store, config, app.log.child({ component: 'webhooks' }));
  let closed = false;
  return {
    app,
    store,
    url: `http://127.0.0.1:${port}`,
    async close() {
      if (closed) return;
      closed = true;
      // Requests in flight may still commit events; deliveries in flight finish or are handed back.
      await app.close();
      await webhooks.stop();
      await store.close();
    },
  };
}
