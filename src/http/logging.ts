import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import type { Bindings, ChildLoggerOptions, Level, Logger, LoggerOptions } from 'pino';

// What a log line may say about a request. GitLab filters credentials from every log it writes
// (Rails' filter_parameters); relinks does the same in one place: the request serializer writes
// the URL with secret parameters masked, and pino's redaction masks secret headers and fields in
// anything else a log call is handed.

export const FILTERED = '[FILTERED]';

/**
 * Parameter names whose values are credentials. As Rails' filter, a name matches when it contains
 * one of these words (`private_token`, `job_token`, `access_token`, `token`, `password`, nested
 * `user[password]`).
 */
const SECRET_NAME = /token|password|secret|passwd|api_?key|authorization|cookie/i;

export const isSecretName = (name: string): boolean => SECRET_NAME.test(name);

/** The URL with the values of secret query parameters masked; the path is kept as sent. */
export function filterUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const query = url.slice(q + 1);
  const filtered = query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const rawName = eq < 0 ? pair : pair.slice(0, eq);
      let name = rawName;
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      } catch {
        // A malformed name is still checked as written.
      }
      return eq >= 0 && isSecretName(name) ? `${rawName}=${FILTERED}` : pair;
    })
    .join('&');
  return `${url.slice(0, q)}?${filtered}`;
}

// Headers and body fields that carry credentials, wherever a log call puts a request or its parts.
const SECRET_HEADERS = ['authorization', '["private-token"]', '["job-token"]', 'cookie', '["x-gitlab-token"]', '["proxy-authorization"]'];
const SECRET_FIELDS = ['private_token', 'job_token', 'access_token', 'token', 'password', 'secret', 'authenticity_token'];

const REDACT_PATHS = [
  // `*.headers` covers what libraries log of their own accord (the multipart parser logs its busboy
  // options, the request's headers among them, at trace level).
  ...SECRET_HEADERS.map((h) => (h.startsWith('[') ? h : `.${h}`)).flatMap((h) => [`headers${h}`, `*.headers${h}`]),
  'res.headers["set-cookie"]',
  ...SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `body.${f}`, `req.body.${f}`, `query.${f}`, `req.query.${f}`]),
];

/** A sane incoming X-Request-Id is kept (a proxy in front may have set it); any other gets a new one. */
const SANE_REQUEST_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  if (typeof given === 'string' && SANE_REQUEST_ID.test(given)) return given;
  return randomUUID().replaceAll('-', '');
}

/** The fields of a request worth a log line, its URL filtered. */
function serializeRequest(request: FastifyRequest) {
  return {
    method: request.method,
    url: filterUrl(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: FILTERED },
    serializers: { req: serializeRequest as never },
  };
}

type LogCall = (...args: unknown[]) => void;

/**
 * Fastify makes a child logger for every request, so that each of its lines carries the request
 * id. pino's child() serializes (and redacts) those bindings when it is made, though most requests
 * write no line at the levels a server runs at: this one is made at the first line written.
 */
class RequestLogger {
  #child: Logger | undefined;

  constructor(
    private readonly parent: Logger,
    private readonly bindings: Bindings,
  ) {}

  private get real(): Logger {
    return (this.#child ??= this.parent.child(this.bindings));
  }

  private write(level: Level, args: unknown[]): void {
    if (this.isLevelEnabled(level)) (this.real[level] as LogCall)(...args);
  }

  get level(): string {
    return this.real.level;
  }

  set level(level: string) {
    this.real.level = level;
  }

  isLevelEnabled(level: string): boolean {
    return (this.#child ?? this.parent).isLevelEnabled(level);
  }

  trace(...args: unknown[]): void {
    this.write('trace', args);
  }

  debug(...args: unknown[]): void {
    this.write('debug', args);
  }

  info(...args: unknown[]): void {
    this.write('info', args);
  }

  warn(...args: unknown[]): void {
    this.write('warn', args);
  }

  error(...args: unknown[]): void {
    this.write('error', args);
  }

  fatal(...args: unknown[]): void {
    this.write('fatal', args);
  }

  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): Logger {
    return this.real.child(bindings, options);
  }
}

/** Fastify's childLoggerFactory: a request's logger, made when first used (see RequestLogger). */
export function requestLogger(logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  // A route's own level or serializers (none today) need pino's child at once; so does a logger
  // that is not pino (Fastify's silent one when logging is off, whose child() costs nothing).
  if (Object.keys(options).length > 0 || typeof (logger as Partial<Logger>).isLevelEnabled !== 'function') return logger.child(bindings, options);
  return new RequestLogger(logger as unknown as Logger, bindings) as unknown as FastifyBaseLogger;
}
