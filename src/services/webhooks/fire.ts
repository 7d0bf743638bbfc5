import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { afterCommit } from '../../store/after-commit.js';
import { now } from '../../store/errors.js';
import type { DB, Project, Release } from '../../store/schema.js';
import { enqueueEvent, releaseHookIds } from '../../store/webhook-queue.js';
import type { Ctx } from '../context.js';
import { releaseHookData, type ReleaseAction } from './payload.js';

// Where a change becomes a webhook event: the services that change releases call this inside their
// transaction, so the event (and a delivery per hook) commits with the change or not at all. Once
// it has committed, this process's workers are told, so a delivery does not wait for their poll.

const listeners = new Set<() => void>();

/** A worker's wake-up call, until the returned function removes it. */
export function onEnqueued(listener: () => void): () => void {
  listeners.add(listener);
  return () => void listeners.delete(listener);
}

const wake = () => {
  for (const listener of listeners) listener();
};

/**
 * GitLab's `release.execute_hooks(action)`: a Release Hook for every hook of the project with
 * release events on. `release` is the release as the event shows it: after a create or update,
 * and before a delete (so the payload still lists the links it takes along).
 */
export async function fireReleaseHooks(trx: Kysely<DB>, ctx: Ctx, project: Project, release: Release, action: ReleaseAction): Promise<void> {
  const hookIds = await releaseHookIds(trx, project.id);
  if (hookIds.length === 0) return;
  const data = await releaseHookData(trx, ctx.config.externalUrl, project, release, action);
  await enqueueEvent(
    trx,
    { project_id: project.id, trigger: 'release_hooks', uuid: randomUUID(), payload: JSON.stringify(data), request_id: ctx.requestId ?? null, created_at: now() },
    hookIds.map((hookId) => ({ hookId, idempotencyKey: randomUUID() })),
  );
  afterCommit(trx, wake);
}
