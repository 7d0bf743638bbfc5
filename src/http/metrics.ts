import net from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { routeNotFound } from '../errors.js';
import { httpRequestDuration, registry, startProcessMetrics } from '../metrics.js';
import { facts, factsOf } from './route-facts.js';
import { GitLabError, PlainText } from '../routes/responses.js';

// GET /-/metrics in Prometheus' text format, as GitLab serves it: only to the monitoring IP
// allowlist, everyone else gets the same 404 as a path that does not exist. No token: a scraper
// has none, and the route is public so it is neither authenticated nor rate-limited.

/** The route label of requests that matched no route: the raw URL would make a series per path. */
export const UNMATCHED_ROUTE = 'unmatched';

function allowList(ranges: string[]): net.BlockList {
  const list = new net.BlockList();
  for (const range of ranges) {
    const [address, bits] = range.split('/');
    const type = net.isIPv6(address) ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(bits), type);
  }
  return list;
}

const METRICS_SCHEMA = {
  summary: "Prometheus metrics (to the monitoring IP allowlist; 404 to anyone else, as GitLab answers)",
  tags: ['Health'],
  response: {
    200: PlainText,
    404: GitLabError,
  },
};

export function registerMetrics(app: FastifyInstance, config: Config): void {
  if (!config.metricsEnabled) return;
  startProcessMetrics();
  const allowed = allowList(config.metricsAllowedIps);

  // Fastify times every response already (hrtime from the request's arrival to 'finish'): reading
  // reply.elapsedTime costs nothing more. A callback hook, not an async one: no promise per request.
  app.addHook('onResponse', (request, reply, done) => {
    const route = factsOf(request).url ?? UNMATCHED_ROUTE;
    httpRequestDuration.observe(reply.elapsedTime / 1000, request.method, route, reply.statusCode);
    done();
  });

  app.get('/-/metrics', { config: facts.public, schema: METRICS_SCHEMA }, async (request, reply) => {
    // request.ip honours TRUSTED_PROXIES: behind a trusted proxy it is the client's address.
    // BlockList matches an IPv4-mapped IPv6 address (::ffff:127.0.0.1) against IPv4 ranges.
    if (!allowed.check(request.ip, net.isIPv6(request.ip) ? 'ipv6' : 'ipv4')) {
      const e = routeNotFound();
      return reply.code(404).send(e.body);
    }
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}
