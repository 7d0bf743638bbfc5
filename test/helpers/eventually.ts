import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

/** Until `check` holds (polling the store or the API every 25 ms), or fail after `ms`. */
export async function eventually(check: () => Promise<boolean>, ms = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`${what} did not hold within ${ms} ms`);
    await sleep(25);
  }
}
