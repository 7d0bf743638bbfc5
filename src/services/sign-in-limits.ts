import { now } from '../store/errors.js';
import { clearFailures, countFailure, deleteStaleFailures, findFailures, lockUntil } from '../store/sign-in-failures.js';
import type { Ctx } from './context.js';

// Repeated failed sign-ins are limited, in the database so every instance counts together:
// - an account (or a login name that names no one, so a lock does not tell who exists) is locked
//   for 10 minutes after 10 failures, GitLab's (Devise's) rule; a correct password does not open
//   it meanwhile, and a successful sign-in resets the count;
// - one client address gets 50 failures in 10 minutes, whatever names it tries, then waits.

/** GitLab's messages: "Invalid login or password." and "Your account is locked."; a busy address waits. */
export class SignInError extends Error {
  constructor(readonly reason: 'invalid' | 'locked' | 'throttled', readonly retryAfterSeconds = 0) {
    super(reason === 'invalid' ? 'Invalid login or password.' : reason === 'locked' ? 'Your account is locked.' : 'Too many failed sign-ins from your address. Retry later.');
  }
}

export const ACCOUNT_MAX_FAILURES = 10;
export const ADDRESS_MAX_FAILURES = 50;
export const LOCK_MS = 10 * 60_000;
const WINDOW_MS = 10 * 60_000;

export interface SignInKeys {
  account: string;
  address: string;
}

const secondsUntil = (iso: string) => Math.max(1, Math.ceil((Date.parse(iso) - Date.now()) / 1000));

export async function assertNotLocked(ctx: Ctx, keys: SignInKeys): Promise<void> {
  const state = await findFailures(ctx.db, [keys.account, keys.address]);
  const at = now();
  const address = state.get(keys.address)?.locked_until;
  if (address && address > at) throw new SignInError('throttled', secondsUntil(address));
  const account = state.get(keys.account)?.locked_until;
  if (account && account > at) throw new SignInError('locked', secondsUntil(account));
}

export async function countFailedSignIn(ctx: Ctx, keys: SignInKeys): Promise<void> {
  const at = now();
  const windowStart = new Date(Date.parse(at) - WINDOW_MS).toISOString();
  const until = new Date(Date.parse(at) + LOCK_MS).toISOString();
  await ctx.write(async (trx) => {
    await deleteStaleFailures(trx, windowStart, at);
    if ((await countFailure(trx, keys.account, at, windowStart)) >= ACCOUNT_MAX_FAILURES) await lockUntil(trx, keys.account, until);
    if ((await countFailure(trx, keys.address, at, windowStart)) >= ADDRESS_MAX_FAILURES) await lockUntil(trx, keys.address, until);
  });
}

export async function forgetFailures(ctx: Ctx, key: string): Promise<void> {
  await ctx.write((trx) => clearFailures(trx, key));
}
