import type { Socket } from 'node:net';
import type { ConnectionError, FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { badParams, routeNotFound } from '../errors.js';

// Request hygiene and response headers that every route gets, whoever adds it.

/**
 * Headers for any response a browser might render. JSON is never rendered, but a future HTML page
 * (or an error page in front of one) gets them without having to remember; a route that needs a
 * looser policy sets its own header first and keeps it.
 */
const BROWSER_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

/**
 * Router failures that happen before any route or hook runs: Fastify would answer them itself with
 * its own body shape (and 414). Bad percent-encoding is a bad request; a path segment too long to
 * name anything cannot match a route.
 */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const e = error.code === 'FST_ERR_BAD_URL' ? badParams('400 Bad request - the URL is not valid percent-encoded UTF-8') : routeNotFound();
  // Written raw: these replies skip the hooks, and Fastify would add `; charset=utf-8` to the type.
  const body = JSON.stringify(e.body);
  reply.hijack();
  reply.raw.writeHead(e.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-content-type-options': 'nosniff',
    'x-request-id': request.id,
    ...BROWSER_HEADERS,
  });
  reply.raw.end(body);
}

/**
 * Requests Node's HTTP parser rejects (unknown method, malformed or oversized headers) never reach
 * Fastify: answer them in our JSON shape with the same headers as everything else, then hang up.
 */
export function clientErrorHandler(error: ConnectionError, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  if (socket.writable) {
    const timeout = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    const status = timeout ? '408 Request Timeout' : '400 Bad Request';
    // A HEAD request's answer has no body. The packet the parser choked on may begin with the tail
    // of an earlier request's body, so the bad request's method is the last request line before
    // the point of failure. When the request line came in an earlier packet (headers over the size
    // limit, split in transit) the method is unknown, and only an empty body is right for any method.
    const method = failedMethod(error);
    const body = method === undefined || method.endsWith('HEAD')
      ? ''
      : JSON.stringify(timeout ? { message: '408 Request Timeout' } : { error: '400 Bad request - malformed HTTP request' });
    const headers = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), connection: 'close', 'x-content-type-options': 'nosniff', ...BROWSER_HEADERS };
    socket.write(`HTTP/1.1 ${status}\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${body}`);
  }
  socket.destroy();
}

function failedMethod(error: ConnectionError): string | undefined {
  const raw: unknown = error.rawPacket;
  if (!Buffer.isBuffer(raw)) return undefined;
  const parsed = (error as { bytesParsed?: number }).bytesParsed ?? raw.length;
  // Up to the end of the line the parser failed in (which may be the request line itself).
  const lineEnd = raw.indexOf(0x0a, parsed);
  const text = raw.subarray(0, lineEnd < 0 ? raw.length : lineEnd).toString('latin1');
  // No separator is required before the method: an earlier body's last bytes run straight into
  // it ("…aaaGET /x"). Capital letters at the end of that body join the method ("…ZZGET"), which
  // is why the caller asks only whether it ends in HEAD.
  return [...text.matchAll(/([A-Z]{1,20}) (?:\/|\*|[a-z]+:\/\/)/g)].at(-1)?.[1];
}

/** True when any string (key or value) in the parsed input holds a NUL character. Iterative: input can be deeply nested. */
/** A stream (a file body a route reads itself) has a whole socket graph behind it: never walked. */
const isParsed = (value: object) => typeof (value as { pipe?: unknown }).pipe !== 'function' && !Buffer.isBuffer(value);

export function hasNullByte(input: unknown): boolean {
  const stack: unknown[] = [input];
  while (stack.length) {
    const value = stack.pop();
    if (typeof value === 'string') {
      if (value.includes('\u0000')) return true;
    } else if (value && typeof value === 'object' && isParsed(value)) {
      // Parsed parameters only: never a stream or any other object with a graph behind it.
      for (const [key, child] of Object.entries(value)) {
        if (key.includes('\u0000')) return true;
        stack.push(child);
      }
    }
  }
  return false;
}

/**
 * As GitLab's HandleNullBytes middleware: a NUL is never meaningful in a parameter, PostgreSQL
 * refuses it in text, and letting SQLite store it would make the two stores disagree.
 */
/** `body` false: the body is a stream the route reads itself (a file may hold any byte). */
export function rejectNullBytes(request: FastifyRequest, body = true): void {
  if (hasNullByte(request.params) || hasNullByte(request.query) || (body && hasNullByte(request.body))) {
    throw badParams('400 Bad request - null bytes are not allowed in parameters');
  }
}

/** The headers every answer carries, unless a route set its own first. */
export function setResponseHeaders(reply: FastifyReply): void {
  reply.header('x-content-type-options', 'nosniff');
  for (const [name, value] of Object.entries(BROWSER_HEADERS)) {
    if (!reply.hasHeader(name)) reply.header(name, value);
  }
}
