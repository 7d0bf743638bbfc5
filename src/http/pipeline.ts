import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import cookie from '@fastify/cookie';
import type { Config } from '../config.js';
import { anonymous } from '../policy.js';
import type { Ctx } from '../services/context.js';
import type { Store } from '../store/db.js';
import type { Files } from '../services/files.js';
import { authenticate, personalTokens } from './auth.js';
import type { TokenResolver } from './credentials.js';
import { browserSessions, verifyCsrf } from './sessions.js';
import { registerDrain } from './drain.js';
import { throwBodyError } from './forms.js';
import { registerRateLimits } from './rate-limit.js';
import { factsOf, isPublic, readsStream } from './route-facts.js';
import { collectRoutes } from './route-list.js';
import { rejectNullBytes, setResponseHeaders } from './security.js';
import { settleRequestBlanks } from './validation.js';
import { unsupportedMediaType } from '../errors.js';

// The one request pipeline. Every global hook there is, registered here in the order a request
// meets them; each step reads the facts its route declares (route-facts.ts) and does only what
// that route needs.

export interface PipelineOptions {
  config: Config;
  store: Store;
  /** Token kinds beyond personal access tokens, tried in order after them. */
  tokenResolvers: TokenResolver[];
  files: Files;
}

/** GitLab merges query and body parameters; a body that is not an object carries none. */
function mergeParameters(request: FastifyRequest): void {
  const body = request.body && typeof request.body === 'object' && !Array.isArray(request.body) ? request.body : {};
  const query = request.query && typeof request.query === 'object' ? request.query : {};
  request.body = { ...query, ...body };
}

async function pipeline(app: FastifyInstance, { config, store, tokenResolvers, files }: PipelineOptions) {
  collectRoutes(app);
  app.decorateRequest('ctx', null as unknown as Ctx);
  app.decorateRequest('routeFacts', null);
  const drain = registerDrain(app);
  const limits = await registerRateLimits(app, config);
  const resolvers = [personalTokens, browserSessions, ...tokenResolvers];
  // Cookies are parsed only where a route reads them (http/sessions.ts), not on every request.
  await app.register(cookie, { hook: false });

  // 1. Before the body is read: anonymous requests count against their IP.
  if (limits) app.addHook('onRequest', limits.beforeBody);

  // 2. Parameters: a route that takes a body gets its form fields and GitLab's query+body merge;
  //    blank values are settled as Grape does, and no parameter may hold a NUL.
  app.addHook('preValidation', async (request) => {
    throwBodyError(request);
    const kinds = factsOf(request).body;
    // A form takes form bodies only: JSON is what scripts send, never a browser's form.
    if (kinds && !kinds.includes('json') && /^application\/json\b/i.test(request.headers['content-type'] ?? '')) throw unsupportedMediaType();
    if (kinds !== undefined && request.routeOptions.schema?.body) mergeParameters(request);
    settleRequestBlanks(request);
    rejectNullBytes(request, !readsStream(request));
  });

  // 3. Who is asking (by the credentials the route takes), a form's authenticity token, then the
  //    per-user and per-project limits.
  app.addHook('preHandler', async (request) => {
    const actor = isPublic(request) ? anonymous : await authenticate(store.db, request, resolvers);
    request.ctx = { db: store.db, actor, config, write: store.write, files, requestId: request.id };
    const facts = factsOf(request);
    if (!isPublic(request) && facts.auth.includes('session') && facts.body) verifyCsrf(request, config);
    if (limits) await limits.afterAuth(request);
  });

  // 4. The one onSend: the headers every answer carries.
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-request-id', request.id);
    // python-gitlab only parses JSON when the type is exactly application/json.
    if (reply.getHeader('content-type') === 'application/json; charset=utf-8') reply.header('content-type', 'application/json');
    setResponseHeaders(reply);
    if (drain.draining()) reply.header('connection', 'close');
    return limits ? limits.onUnauthorized(request, reply, payload) : payload;
  });
}

export default fp(pipeline, { name: 'relinks-pipeline', fastify: '5.x', dependencies: ['relinks-bodies'] });
