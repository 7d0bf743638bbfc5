import type { FastifyInstance } from 'fastify';

/**
 * Graceful shutdown for keep-alive clients. On close, Fastify stops accepting connections and
 * closes the idle ones, but a connection busy with a request when the close begins would be kept
 * alive after its answer, holding the close open until the keep-alive timeout. From the moment
 * the close begins, every answer says `Connection: close`, so each connection ends right after its
 * in-flight response and the process can exit as soon as the last one is out.
 */
export function registerDrain(app: FastifyInstance): void {
  let draining = false;
  app.addHook('preClose', async () => {
    draining = true;
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (draining) reply.header('connection', 'close');
    return payload;
  });
}
