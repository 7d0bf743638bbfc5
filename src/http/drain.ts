import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

/**
 * Graceful shutdown for keep-alive clients. On close, Fastify stops accepting connections and
 * waits for the open ones to end; Node closes those idle at that instant, but a connection busy
 * then would be kept alive after its answer, and one where a next request has only begun to
 * arrive counts as busy for ever. So from the moment the close begins, every answer says
 * `Connection: close`, and every 100 ms the connections without a request in progress (one that
 * reached our hooks and has not been answered yet) are closed. In-flight requests finish; the
 * process exits as soon as the last of them is answered.
 */
export function registerDrain(app: FastifyInstance): { draining(): boolean } {
  let draining = false;
  let sweeper: NodeJS.Timeout | undefined;
  const inFlight = new Map<Socket, number>();
  const sockets = new Set<Socket>();

  app.server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      inFlight.delete(socket);
    });
  });
  app.addHook('onRequest', async (request) => {
    const socket = request.raw.socket;
    inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1);
  });
  app.addHook('onResponse', async (request) => {
    const socket = request.raw.socket;
    const left = (inFlight.get(socket) ?? 1) - 1;
    if (left > 0) inFlight.set(socket, left);
    else inFlight.delete(socket);
  });
  app.addHook('preClose', async () => {
    draining = true;
    const sweep = () => {
      for (const socket of sockets) if (!inFlight.has(socket)) socket.destroy();
    };
    sweeper = setInterval(sweep, 100);
    sweeper.unref();
  });
  app.addHook('onClose', async () => {
    clearInterval(sweeper);
  });
  // Read by the one onSend hook (pipeline.ts), which says `Connection: close` while draining.
  return { draining: () => draining };
}
