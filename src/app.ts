import Fastify, { LogController, type FastifyError, type FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import type { Config } from './config.js';
import { ApiError, routeNotFound } from './errors.js';
import type { TokenResolver } from './http/credentials.js';
import bodies from './http/bodies.js';
import pipeline from './http/pipeline.js';
import { addRelinksKeywords, schemaErrorFormatter, sharedValidators } from './http/validation.js';
import { loggerOptions, requestIdOf, requestLogger } from './http/logging.js';
import { clientErrorHandler, frameworkErrors } from './http/security.js';
import { registerMetrics } from './http/metrics.js';
import { registerApiDocs } from './http/api-docs.js';
import { registerOpenApi } from './http/openapi.js';
import { registerResponseCheck } from './http/response-check.js';
import { registerRoutes } from './routes/index.js';
import type { Ctx } from './services/context.js';
import { openFiles } from './services/files.js';
import type { Store } from './store/db.js';
import { isConnectionLoss } from './store/errors.js';
import { declaredOrderSerializer } from './http/serializer.js';

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
  /** Where log lines go (stdout when absent). */
  logStream?: DestinationStream;
  /** When given, every answer is checked against the OpenAPI document and problems are added here (tests). */
  responseProblems?: string[];
}

export async function buildApp({ config, store, tokenResolvers = [], logger = true, logStream, responseProblems }: AppOptions): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    logger: logger ? { ...loggerOptions(config.logLevel), stream: logStream } : false,
    // GitLab answers every request with its correlation id as X-Request-Id, and logs it under that name.
    genReqId: requestIdOf,
    childLoggerFactory: requestLogger,
    logController: new LogController({ requestIdLogLabel: 'correlation_id' }),
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
      plugins: [addRelinksKeywords],
    },
    schemaErrorFormatter,
    schemaController: { compilersFactory: { buildValidator: sharedValidators } },
  });
  app.setSerializerCompiler(declaredOrderSerializer);

  await app.register(bodies, { bodyLimit: BODY_LIMIT });
  const files = openFiles(config, store, app.log);
  // Closed with the app: the last counted downloads are written before the store closes.
  app.addHook('onClose', () => files.close());
  await app.register(pipeline, { config, store, tokenResolvers, files });
  await registerOpenApi(app);

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
  registerMetrics(app, config);
  registerApiDocs(app);
  await registerRoutes(app, { config, store });
  return app;
}
