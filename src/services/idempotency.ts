import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { badParams, conflict, unprocessable } from '../errors.js';
import { now, violates } from '../store/errors.js';
import { deleteExpiredKeys, findKey, insertKey } from '../store/idempotency.js';
import type { DB } from '../store/schema.js';
import type { Ctx, PendingKey } from './context.js';

// Idempotent creates after the IETF httpapi Idempotency-Key draft: the first request with a key
// stores its response in the same transaction as the row it creates; a retry with the same key
// and the same parameters gets that response again, a reuse with other parameters a 422.

export const KEY_TTL_MS = 24 * 60 * 60 * 1000;
const PURGE_EVERY_MS = 10 * 60 * 1000;

export interface IdempotentRequest {
  key: string;
  /** The route, e.g. "POST /api/v4/projects/:id/releases": a key means something only on one route. */
  scope: string;
  /** The parsed parameters (path and body); their canonical form is the request's fingerprint. */
  params: unknown;
}

export interface Outcome {
  status: number;
  body: unknown;
  replayed: boolean;
}

/** JSON with object keys sorted at every level, so equal parameters always hash the same. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Parameters nested past any real request's depth (only a hostile body) are a 400, not a stack overflow. */
export function fingerprintOf(params: unknown): string {
  let text: string;
  try {
    text = canonical(params);
  } catch (error) {
    if (error instanceof RangeError) throw badParams('params are nested too deeply');
    throw error;
  }
  return createHash('sha256').update(text).digest('hex');
}

export const keyReused = () =>
  unprocessable('Idempotency-Key has already been used with different parameters');

/** The stored outcome of an earlier request with this key, or a 422 when that request differed. */
async function earlier(ctx: Ctx, pending: PendingKey): Promise<Outcome | undefined> {
  const row = await findKey(ctx.db, pending, now());
  if (!row) return undefined;
  if (row.fingerprint !== pending.fingerprint) throw keyReused();
  return { status: row.status, body: JSON.parse(row.response), replayed: true };
}

const lastPurge = new WeakMap<Kysely<DB>, number>();

/** Expired keys are removed now and then rather than on every request. */
async function purgeNowAndThen(ctx: Ctx): Promise<void> {
  const last = lastPurge.get(ctx.db) ?? 0;
  if (Date.now() - last < PURGE_EVERY_MS) return;
  lastPurge.set(ctx.db, Date.now());
  try {
    await ctx.write((trx) => deleteExpiredKeys(trx, now()));
  } catch {
    // The create already committed; a failed clean-up is retried on a later request.
  }
}

/**
 * Runs `create` (a use case whose write calls `rememberResponse`) unless a request with the same key
 * already succeeded, in which case its response is returned unchanged. Keys belong to one user.
 */
export async function idempotentCreate(
  ctx: Ctx,
  request: IdempotentRequest | null,
  create: (ctx: Ctx) => Promise<unknown>,
  status = 201,
): Promise<Outcome> {
  const user = ctx.actor.user;
  // Without a user there is no one to scope the key to; the create itself refuses anonymous writes.
  if (request === null || user === null) return { status, body: await create(ctx), replayed: false };
  const pending: PendingKey = { userId: user.id, scope: request.scope, key: request.key, fingerprint: fingerprintOf(request.params) };

  const done = await earlier(ctx, pending);
  if (done) return done;
  try {
    const body = await create({ ...ctx, idempotency: pending });
    await purgeNowAndThen(ctx);
    return { status, body, replayed: false };
  } catch (error) {
    // A request with the same key may have committed while this one ran (its row made ours clash,
    // or its key row made our key row clash): answer as that one did.
    const raced = await earlier(ctx, pending);
    if (raced) return raced;
    if (violates(error, 'idempotency_keys', 'key')) {
      throw conflict('A request with this Idempotency-Key is still being processed');
    }
    throw error;
  }
}

/**
 * Called by a create inside its `ctx.write`, with the response it is about to send: the key is
 * recorded in the same transaction as the created rows, so neither can exist without the other.
 */
export async function rememberResponse(trx: Kysely<DB>, ctx: Ctx, status: number, body: unknown): Promise<void> {
  const pending = ctx.idempotency;
  if (!pending) return;
  const createdAt = now();
  await insertKey(trx, {
    ...pending,
    status,
    response: JSON.stringify(body),
    createdAt,
    expiresAt: new Date(Date.parse(createdAt) + KEY_TTL_MS).toISOString(),
  });
}
