import type { FastifyInstance } from 'fastify';
import { facts } from '../http/route-facts.js';
import type { RouteDeps } from './index.js';

export default async function healthRoutes(app: FastifyInstance, { store }: RouteDeps) {
  const open = { config: facts.public };
  app.get('/-/liveness', open, async () => ({ status: 'ok' }));

  // 200 only while the store answers, so a load balancer stops sending traffic to a node that lost it.
  app.get('/-/readiness', open, async (_request, reply) => {
    try {
      await store.ping();
      return { status: 'ok', master_check: [{ status: 'ok' }] };
    } catch {
      return reply.code(503).send({ status: 'failed', master_check: [{ status: 'failed', message: 'database unreachable' }] });
    }
  });

  app.get('/-/health', open, async (_request, reply) => reply.type('text/plain').send('relinks OK'));
}
