import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { ApiError, routeNotFound } from './errors.js';
import { authenticate, personalTokens, type TokenResolver } from './http/auth.js';
import { addAtLeastOneOf, registerBlankParams, schemaErrorFormatter } from './http/validation.js';
import { registerFormParsers } from './http/forms.js';
import { registerRateLimits } from './http/rate-limit.js';
import { collectRoutes } from './http/route-list.js';
import { registerDrain } from './http/drain.js';
import { registerApiDocs } from './http/api-docs.js';
import { registerOpenApi } from './http/openapi.js';
import { registerResponseCheck } from './http/response-check.js';
import { clientErrorHandler, frameworkErrors, registerSecurity } from './http/security.js';
import { anonymous } from './policy.js';
import { registerRoutes } from './routes/index.js';
import type { Ctx } from './services/context.js';
import type { Store } from './store/db.js';
import { isConnectionLoss } from './store/errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    ctx: Ctx;
  }
}

export const BODY_LIMIT = 1024 * 1024;

export interface AppOptions {
  config: Config;
  store: Store;
  /** Token kinds beyond personal access tokens, tried in order after them. */
  tokenResolvers?: TokenResolver[];
  logger?: boolean;
  /** When given, every answer is checked against the OpenAPI document and problems are added here (tests). */
  responseProblems?: string[];
}

export async function buildApp({ config, store, tokenResolvers = [], logger = true, responseProblems }: AppOptions): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    logger: logger ? { level: config.logLevel } : false,
    bodyLimit: BODY_LIMIT,
    // Only these may tell us the client's address (X-Forwarded-For): see TRUSTED_PROXIES.
    trustProxy: config.trustedProxies.length ? config.trustedProxies : false,
    return503OnClosing: true,
    // On close, keep-alive sockets without a request in progress are closed at once; busy ones finish.
    forceCloseConnections: 'idle',
    // Tags may be 255 characters and project paths longer; longer segments name nothing (404).
    routerOptions: { maxParamLength: 4096 },
    frameworkErrors,
    clientErrorHandler,
    ajv: {
      customOptions: { allErrors: true, coerceTypes: 'array', useDefaults: true, removeAdditional: false },
      plugins: [addAtLeastOneOf],
    },
    schemaErrorFormatter,
  });

  // Rails-style nested form fields (assets[links][0][name]) as curl --data and curl --form send them.
  await registerFormParsers(app, BODY_LIMIT);
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (request, body, done) => {
    // An empty JSON body (curl -X DELETE -H 'Content-Type: application/json') means no parameters.
    if (body === '' || (typeof body === 'string' && body.trim() === '')) return done(null, {});
    parseJson(request, body as string, done);
  });

  // GitLab merges query and body parameters; a body that is not an object carries none.
  app.addHook('preValidation', async (request) => {
    if (!request.routeOptions.schema?.body) return;
    const body = request.body && typeof request.body === 'object' && !Array.isArray(request.body) ? request.body : {};
    const query = request.query && typeof request.query === 'object' ? request.query : {};
    request.body = { ...query, ...body };
  });
  // After the merge, so a blank query parameter is settled in the body too.
  registerBlankParams(app);

  registerSecurity(app);
  registerDrain(app);
  collectRoutes(app);
  await registerOpenApi(app);

  const resolvers = [personalTokens, ...tokenResolvers];
  app.decorateRequest('ctx', null as unknown as Ctx);
  app.addHook('preHandler', async (request) => {
    const actor = request.routeOptions.config?.public ? anonymous : await authenticate(store.db, request, resolvers);
    request.ctx = { db: store.db, actor, config, write: store.write };
  });
  // After authentication, so a user is limited per user and an anonymous caller per IP.
  await registerRateLimits(app, config);

  // python-gitlab only parses JSON when the type is exactly application/json.
  app.addHook('onSend', async (_request, reply, payload) => {
    const type = reply.getHeader('content-type');
    if (type === 'application/json; charset=utf-8') reply.header('content-type', 'application/json');
    reply.header('x-content-type-options', 'nosniff');
    return payload;
  });

  app.setErrorHandler((error: FastifyError | ApiError, request, reply) => {
    if (error instanceof ApiError) {
      return reply.code(error.status).headers(error.headers).send(error.body);
    }
    const status = (error as FastifyError).statusCode ?? 500;
    if (status === 413) return reply.code(413).send({ message: '413 Request Entity Too Large' });
    if (status === 415) return reply.code(415).send({ message: '415 Unsupported Media Type' });
    if (status >= 400 && status < 500) {
      // Malformed JSON and other request errors found before our code runs.
      return reply.code(status).send({ error: status === 400 ? `400 Bad request - ${error.message}` : error.message });
    }
    if (isConnectionLoss(error)) {
      // The database is unreachable: a load balancer may try another node, a client may retry later.
      request.log.warn({ err: error }, 'database unreachable');
      return reply.code(503).send({ message: '503 Service Unavailable' });
    }
    request.log.error({ err: error }, 'unexpected error');
    return reply.code(500).send({ message: '500 Internal Server Error' });
  });

  app.setNotFoundHandler((_request, reply) => {
    const e = routeNotFound();
    reply.code(e.status).send(e.body);
  });

  if (responseProblems) registerResponseCheck(app, responseProblems);
  registerApiDocs(app);
  await registerRoutes(app, { config, store });
  return app;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Skip authentication entirely (health probes). */
    public?: boolean;
  }
}
