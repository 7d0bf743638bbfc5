import type { FastifyReply, FastifyRequest } from 'fastify';
import { badParams } from '../errors.js';
import type { Ctx } from '../services/context.js';
import { idempotentCreate } from '../services/idempotency.js';

const MAX_KEY_LENGTH = 255;
const CREDENTIAL_PARAMS = new Set(['private_token', 'job_token']);

/**
 * The `Idempotency-Key` header: a structured-field string (`"abc"`, as the draft writes it) or, as
 * most clients send it, the bare value. Null when absent; 400 when empty, too long or not printable ASCII.
 */
export function idempotencyKeyOf(request: FastifyRequest): string | null {
  const raw = request.headers['idempotency-key'];
  if (raw === undefined) return null;
  if (Array.isArray(raw)) throw badParams('Idempotency-Key must be sent once');
  const quoted = /^"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"$/.exec(raw);
  const key = quoted ? quoted[1].replace(/\\(["\\])/g, '$1') : raw;
  if (key === '' || (!quoted && raw.startsWith('"')) || key.length > MAX_KEY_LENGTH || !/^[\x20-\x7e]+$/.test(key)) {
    throw badParams(`Idempotency-Key is invalid (1 to ${MAX_KEY_LENGTH} printable ASCII characters)`);
  }
  return key;
}

/** The parsed parameters minus credentials: a retry with another token of the same user still matches. */
function paramsOf(request: FastifyRequest): unknown {
  const body = request.body && typeof request.body === 'object' ? (request.body as Record<string, unknown>) : {};
  return {
    path: request.params,
    body: Object.fromEntries(Object.entries(body).filter(([name]) => !CREDENTIAL_PARAMS.has(name))),
  };
}

/** Answers a create with 201, or with the stored response of an earlier request with the same Idempotency-Key. */
export function sendCreated(request: FastifyRequest, reply: FastifyReply, create: (ctx: Ctx) => Promise<unknown>) {
  return sendIdempotent(request, reply, 201, create);
}

/** Answers a change with `status`, or replays an earlier request with the same Idempotency-Key (see sendCreated). */
export async function sendIdempotent(request: FastifyRequest, reply: FastifyReply, status: number, change: (ctx: Ctx) => Promise<unknown>) {
  const key = idempotencyKeyOf(request);
  const scope = `${request.method} ${request.routeOptions.url}`;
  const outcome = await idempotentCreate(request.ctx, key === null ? null : { key, scope, params: paramsOf(request) }, change, status);
  if (outcome.replayed) reply.header('idempotent-replayed', 'true');
  return reply.code(outcome.status).send(outcome.body);
}
