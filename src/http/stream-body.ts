import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { ApiError } from '../errors.js';

// File routes read their body themselves, as it arrives: in the plugin that holds them, every
// content type (and none, as `curl --upload-file` sends) passes through unparsed, so nothing is
// read before the pipeline has authenticated the caller.

export function streamBodies(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
}

/** The request's body stream (an empty one when the request had no body). */
export function bodyStream(request: FastifyRequest): IncomingMessage {
  const body = request.body as IncomingMessage | undefined;
  return body && typeof (body as { pipe?: unknown }).pipe === 'function' ? body : request.raw;
}

export const tooLarge = () => new ApiError(413, { message: '413 Request Entity Too Large' });

/** Refuses a body whose declared length is already over the limit, before a byte of it is read. */
export function checkDeclaredLength(request: FastifyRequest, limit: number): void {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge();
}

/**
 * An answer given before the body was read to its end (an error, a refusal) closes the connection:
 * otherwise Node would read and discard the rest of a possibly huge upload to keep it alive.
 */
export function closeIfUnread(request: FastifyRequest, reply: FastifyReply): void {
  if (!request.raw.complete) reply.header('connection', 'close');
}

/** The body's bytes; throws if the client stopped sending before the end it announced. */
export async function* completeBody(request: FastifyRequest): AsyncGenerator<Buffer> {
  const body = bodyStream(request);
  for await (const chunk of body) yield chunk as Buffer;
  if (!body.complete) throw new Error('the request body ended early');
}
