import { PERMANENTLY_DISABLED_FAILURE_THRESHOLD, TEMPORARILY_DISABLED_FAILURE_THRESHOLD, type WebHook } from '../../store/webhook-schema.js';

// GitLab's rules for hooks that keep failing (WebHooks::AutoDisabling): every failed attempt counts
// (recent_failures); the first 3 in a row cost nothing; from the 4th on the hook rests for a while
// (disabled_until), 1 minute doubling up to 1 day; the 40th disables it for good. A success while
// it may be sent to sets it back to 0. A test call is sent even to a disabled hook, and its success
// enables it again.

const INITIAL_BACKOFF_MS = 60_000;
const MAX_BACKOFF_MS = 86_400_000;
const GROWTH = 2;

type State = Pick<WebHook, 'recent_failures' | 'disabled_until'>;

export type AlertStatus = 'executable' | 'temporarily_disabled' | 'disabled';

export const permanentlyDisabled = (hook: State) => hook.recent_failures > PERMANENTLY_DISABLED_FAILURE_THRESHOLD;

export function temporarilyDisabled(hook: State, now: string): boolean {
  return (
    hook.disabled_until !== null &&
    hook.disabled_until >= now &&
    hook.recent_failures > TEMPORARILY_DISABLED_FAILURE_THRESHOLD &&
    hook.recent_failures <= PERMANENTLY_DISABLED_FAILURE_THRESHOLD
  );
}

export const executable = (hook: State, now: string) => !temporarilyDisabled(hook, now) && !permanentlyDisabled(hook);

export function alertStatus(hook: State, now: string): AlertStatus {
  if (temporarilyDisabled(hook, now)) return 'temporarily_disabled';
  if (permanentlyDisabled(hook)) return 'disabled';
  return 'executable';
}

/** The state after a failed attempt, or null when it does not change (the hook was resting or off). */
export function afterFailure(hook: State, nowMs: number): State | null {
  const now = new Date(nowMs).toISOString();
  if (!executable(hook, now)) return null;
  const failures = Math.min(Math.max(hook.recent_failures + 1, 1), PERMANENTLY_DISABLED_FAILURE_THRESHOLD + 1);
  if (failures <= TEMPORARILY_DISABLED_FAILURE_THRESHOLD) return { recent_failures: failures, disabled_until: hook.disabled_until };
  const backoff = Math.min(Math.max(INITIAL_BACKOFF_MS * GROWTH ** (hook.recent_failures - TEMPORARILY_DISABLED_FAILURE_THRESHOLD), INITIAL_BACKOFF_MS), MAX_BACKOFF_MS);
  return { recent_failures: failures, disabled_until: new Date(nowMs + backoff).toISOString() };
}

/** The state after a success, or null when it is already clean. */
export function afterSuccess(hook: State): State | null {
  if (hook.recent_failures === 0 && hook.disabled_until === null) return null;
  return { recent_failures: 0, disabled_until: null };
}
