import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { facts } from '../http/route-facts.js';
import type { RouteDeps } from './deps.js';
import { PlainText, Probe } from './responses.js';

export default async function healthRoutes(instance: FastifyInstance, { store }: RouteDeps) {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const open = { config: facts.public };
  const probe = (summary: string, response: object) => ({ ...open, schema: { summary, tags: ['Health'], response } });
  app.get('/-/liveness', probe('The process runs', { 200: Probe }), async () => ({ status: 'ok' }));

  // 200 only while the store answers, so a load balancer stops sending traffic to a node that lost it.
  app.get('/-/readiness', probe('The database answers (503 while it does not)', { 200: Probe, 503: Probe }), async (_request, reply) => {
    try {
      await store.ping();
      return { status: 'ok', master_check: [{ status: 'ok' }] };
    } catch {
      return reply.code(503).send({ status: 'failed', master_check: [{ status: 'failed', message: 'database unreachable' }] });
    }
  });

  app.get('/-/health', probe('Plain-text health check', { 200: PlainText }), async (_request, reply) => reply.type('text/plain').send('relinks OK'));
}
