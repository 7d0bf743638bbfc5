import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { ApiError } from '../errors.js';
import { rateLimitRejections } from '../metrics.js';
import { canWriteReleases } from '../policy.js';
import { visibleProject } from '../services/projects.js';
import { credentialsOf } from './auth.js';
import { factsOf, isPublic } from './route-facts.js';

// GitLab's user and IP rate limits (its Rack::Attack throttles), on @fastify/rate-limit's counters:
// in process, or in Redis when REDIS_URL is set so that several instances share one count.
//
// Order, as on GitLab: a request with no credentials is counted against its IP at once (onRequest,
// before its body is read); a request with credentials is counted once they are checked: against
// its user when they are valid (preHandler, after the auth hook), against its IP when they are not
// (its 401 becomes a 429 once the IP is over). Release and link writes then also count against
// their project, for users who may write there (so no one else can use up a project's budget, and
// a 429 never reveals a project the user cannot see).

type Check = (request: FastifyRequest) => Promise<{ isAllowed: boolean; max?: number; ttlInSeconds?: number; isExceeded?: boolean }>;

interface Limiter {
  /** GitLab's throttle name, sent as RateLimit-Name. */
  name: string;
  check: Check;
}

/** The steps of the request pipeline (pipeline.ts) that count requests, each at its place. */
export interface RateLimits {
  /** onRequest: an anonymous request counts against its IP before its body is read. */
  beforeBody(request: FastifyRequest): Promise<void>;
  /** preHandler, after authentication: the user's count, then the project's for release writes. */
  afterAuth(request: FastifyRequest): Promise<void>;
  /** onSend: credentials that failed (401) count against the IP; the 429 body when it is over. */
  onUnauthorized(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown>;
}

/** Requests whose credentials are checked later, and those already counted against their IP. */
const withCredentials = new WeakSet<FastifyRequest>();
const countedByIp = new WeakSet<FastifyRequest>();
/** The counter a limiter's check is about to increment. */
const keys = new WeakMap<FastifyRequest, string>();

/** GitLab's throttled-response headers and our JSON body. */
function tooMany(limiter: Limiter, max: number, ttlInSeconds: number, periodSeconds: number) {
  const retryAfter = Math.max(1, ttlInSeconds);
  const resetAt = Math.floor(Date.now() / 1000) + retryAfter;
  return {
    body: { message: 'Retry later' },
    headers: {
      'retry-after': String(retryAfter),
      'ratelimit-name': limiter.name,
      // GitLab states the limit per minute whatever the period.
      'ratelimit-limit': String(Math.ceil((max * 60) / periodSeconds)),
      'ratelimit-remaining': '0',
      // GitLab's RateLimit-Reset is a Unix time (python-gitlab reads it so), with an HTTP-date twin.
      'ratelimit-reset': String(resetAt),
      'ratelimit-resettime': new Date(resetAt * 1000).toUTCString(),
    },
  };
}

export async function registerRateLimits(app: FastifyInstance, config: Config): Promise<RateLimits | null> {
  const { authenticated, unauthenticated, releaseWrites, periodSeconds } = config.rateLimits;
  if (authenticated === 0 && unauthenticated === 0 && releaseWrites === 0) return null;

  let redis: Redis | undefined;
  if (config.redisUrl) {
    // No offline queue: while Redis is away a count fails at once and the request goes through
    // (skipOnError) instead of waiting. Unreachable at start, though, is a configuration error.
    // Loaded only when used: ioredis alone is some 20 MB of resident memory.
    const { Redis: RedisClient } = await import('ioredis');
    redis = new RedisClient(config.redisUrl, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 1000, connectTimeout: 5000 });
    let lastWarning = 0;
    redis.on('error', (error) => {
      if (Date.now() - lastWarning < 60_000) return;
      lastWarning = Date.now();
      app.log.warn({ err: error }, 'rate-limit counters unavailable in Redis: requests are not limited meanwhile');
    });
    try {
      await redis.connect();
    } catch (error) {
      redis.disconnect();
      throw new Error(`REDIS_URL: cannot reach Redis for the rate-limit counters (${(error as Error).message})`);
    }
    const client = redis;
    app.addHook('onClose', async () => {
      await client.quit().catch(() => client.disconnect());
    });
  }
  await app.register(rateLimit, { global: false, redis, nameSpace: config.redisKeyPrefix, skipOnError: true });

  const limiter = (name: string, max: number): Limiter | null =>
    max === 0
      ? null
      : { name, check: app.createRateLimit({ max, timeWindow: periodSeconds * 1000, keyGenerator: (request) => keys.get(request)! }) };
  const byUser = limiter('throttle_authenticated_api', authenticated);
  const byIp = limiter('throttle_unauthenticated_api', unauthenticated);
  const byProject = limiter('throttle_release_writes', releaseWrites);

  /** Counts the request on `key`; the 429 to send when it is over, or null. */
  async function count(request: FastifyRequest, limiter: Limiter, key: string) {
    keys.set(request, key);
    const result = await limiter.check(request);
    if (result.isAllowed || !result.isExceeded) return null;
    rateLimitRejections.inc({ throttle: limiter.name });
    return tooMany(limiter, result.max!, result.ttlInSeconds!, periodSeconds);
  }

  const ipKey = (request: FastifyRequest) => `ip:${request.ip}`;

  return {
    async beforeBody(request) {
      if (isPublic(request)) return;
      let credentials: unknown;
      try {
        credentials = credentialsOf(request);
      } catch {
        credentials = 'malformed';
      }
      if (credentials !== null) {
        withCredentials.add(request);
        return;
      }
      if (!byIp) return;
      countedByIp.add(request);
      const over = await count(request, byIp, ipKey(request));
      if (over) throw new ApiError(429, over.body, over.headers);
    },

    async afterAuth(request) {
      if (isPublic(request) || !request.ctx) return;
      const { actor } = request.ctx;
      if (actor.user && byUser) {
        const over = await count(request, byUser, `user:${actor.user.id}`);
        if (over) throw new ApiError(429, over.body, over.headers);
      }
      // Credentials that stood for no one (a browser's ended session) leave an anonymous request:
      // it counts against its IP like any other.
      if (!actor.user && byIp && withCredentials.has(request) && !countedByIp.has(request)) {
        countedByIp.add(request);
        const over = await count(request, byIp, ipKey(request));
        if (over) throw new ApiError(429, over.body, over.headers);
      }
      if (byProject && actor.user && factsOf(request).throttle === 'release-writes') {
        const ref = (request.params as { id?: unknown }).id;
        const view = typeof ref === 'string' ? await visibleProject(request.ctx, ref).catch(() => null) : null;
        if (view && canWriteReleases(actor, view)) {
          const over = await count(request, byProject, `project:${view.project.id}`);
          if (over) throw new ApiError(429, over.body, over.headers);
        }
      }
    },

    // Credentials that fail count as an unauthenticated request from the IP, as on GitLab.
    async onUnauthorized(request, reply, payload) {
      if (!byIp || reply.statusCode !== 401 || !withCredentials.has(request) || countedByIp.has(request)) return payload;
      countedByIp.add(request);
      const over = await count(request, byIp, ipKey(request));
      if (!over) return payload;
      reply.code(429).headers(over.headers).header('content-type', 'application/json');
      return JSON.stringify(over.body);
    },
  };
}
