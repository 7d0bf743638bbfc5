import type { Kysely } from 'kysely';
import type { WebhookSettings } from '../../config.js';
import type { DB } from '../../store/schema.js';
import { failPendingOfHook, finishDelivery, insertLog, type Outcome } from '../../store/webhook-queue.js';
import { lockedHook, updateHook } from '../../store/webhooks.js';
import type { WebHook } from '../../store/webhook-schema.js';
import { afterFailure, afterSuccess, permanentlyDisabled, temporarilyDisabled } from './auto-disabling.js';
import type { AttemptResult } from './attempt.js';

// What an attempt leaves behind, in one transaction: its log row, the delivery's new state (done,
// due again later, or given up), and the hook's failure count (GitLab's auto-disabling).

/** Exponential backoff with jitter: attempt n waits between half and all of base·2^(n-1), at most max. */
export function retryDelayMs(attempts: number, settings: Pick<WebhookSettings, 'retryBaseMs' | 'retryMaxMs'>, random = Math.random): number {
  const full = Math.min(settings.retryMaxMs, settings.retryBaseMs * 2 ** Math.min(attempts - 1, 40));
  return Math.round(full / 2 + (random() * full) / 2);
}

export const DISABLED_ERROR = 'Hook disabled: it failed 40 times in a row';

export interface Recorded {
  /** The hook as it was before this attempt; undefined when it was deleted meanwhile. */
  hook?: WebHook;
  outcome?: Outcome;
  /** Another worker took the delivery over (our claim had run out). */
  claimLost: boolean;
  /** The hook's state after the attempt, when it changed. */
  hookState?: Pick<WebHook, 'recent_failures' | 'disabled_until'>;
  /** Pending deliveries given up because this attempt disabled the hook. */
  abandoned: number;
}

export async function recordAttempt(
  trx: Kysely<DB>,
  hookId: number,
  result: AttemptResult,
  settings: WebhookSettings,
  nowMs: number,
  delivery?: { id: number; attempts: number; worker: string },
): Promise<Recorded> {
  const now = new Date(nowMs).toISOString();
  // The hook first, then its deliveries: the order a hook's deletion locks them in.
  const hook = await lockedHook(trx, hookId);
  if (!hook) return { claimLost: false, abandoned: 0 };
  const hookState = result.ok ? afterSuccess(hook) : afterFailure(hook, nowMs);
  let outcome: Outcome | undefined;
  let claimLost = false;
  if (delivery) {
    const attempts = delivery.attempts + 1;
    const error = result.answer.error ?? `HTTP ${result.answer.status}`;
    if (result.ok) outcome = { kind: 'delivered', at: now };
    else if (attempts >= settings.maxAttempts) outcome = { kind: 'failed', at: now, error };
    else {
      let next = new Date(nowMs + retryDelayMs(attempts, settings)).toISOString();
      const state = hookState ?? hook;
      // A resting hook is not sent to before its rest ends.
      if (temporarilyDisabled(state, now) && state.disabled_until! > next) next = state.disabled_until!;
      outcome = { kind: 'retry', at: now, next, error };
    }
    claimLost = !(await finishDelivery(trx, delivery.id, delivery.worker, outcome));
  }
  await insertLog(trx, { ...result.log, hook_id: hook.id, delivery_id: delivery?.id ?? null, created_at: now });
  let abandoned = 0;
  if (hookState) {
    await updateHook(trx, hook.id, hookState);
    if (permanentlyDisabled(hookState) && !permanentlyDisabled(hook)) abandoned = await failPendingOfHook(trx, hook.id, now, DISABLED_ERROR);
  }
  return { hook, outcome, claimLost, hookState: hookState ?? undefined, abandoned };
}
