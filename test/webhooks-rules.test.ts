import assert from 'node:assert/strict';
import { test } from 'node:test';
import { afterFailure, afterSuccess, alertStatus } from '../src/services/webhooks/auto-disabling.js';
import { retryDelayMs } from '../src/services/webhooks/record.js';
import { blockedReason } from '../src/services/webhooks/url-guard.js';
import { absoluteImageUrls, hookTime } from '../src/services/webhooks/payload.js';
import { eventHeader } from '../src/services/webhooks/attempt.js';

// The rules behind delivery, on their own: GitLab's auto-disabling sequence, the retry backoff,
// the address classes refused, and the payload's formats.

test('GitLab\'s auto-disabling: 3 free failures, then rests of 1 minute doubling to a day, disabled at the 40th; a success clears it', () => {
  const t0 = Date.parse('2030-01-01T00:00:00.000Z');
  let hook = { recent_failures: 0, disabled_until: null as string | null };
  const rests: number[] = [];
  for (let failure = 1; failure <= 40; failure++) {
    // Each failure comes when the previous rest is over.
    const at = hook.disabled_until ? Date.parse(hook.disabled_until) + 1 : t0;
    const next = afterFailure(hook, at)!;
    assert.ok(next, `failure ${failure} counts`);
    assert.equal(next.recent_failures, failure);
    if (failure <= 3) assert.equal(next.disabled_until, null, `failure ${failure} is free`);
    else rests.push(Date.parse(next.disabled_until!) - at);
    hook = next;
  }
  assert.deepEqual(rests.slice(0, 4), [60_000, 120_000, 240_000, 480_000]);
  assert.equal(Math.max(...rests), 86_400_000, 'at most a day');
  assert.equal(alertStatus(hook, new Date(t0).toISOString()), 'disabled');
  assert.equal(afterFailure(hook, Date.now()), null, 'a disabled hook counts no more');
  // A failure while resting changes nothing (an attempt that was under way when the rest began).
  const resting = { recent_failures: 5, disabled_until: new Date(t0 + 60_000).toISOString() };
  assert.equal(alertStatus(resting, new Date(t0).toISOString()), 'temporarily_disabled');
  assert.equal(afterFailure(resting, t0), null);
  assert.equal(alertStatus(resting, new Date(t0 + 120_000).toISOString()), 'executable', 'the rest is over');
  assert.deepEqual(afterSuccess(hook), { recent_failures: 0, disabled_until: null });
  assert.equal(afterSuccess({ recent_failures: 0, disabled_until: null }), null);
});

test('retry backoff: between half and all of base·2^(n−1), capped', () => {
  const settings = { retryBaseMs: 10_000, retryMaxMs: 3_600_000 };
  assert.equal(retryDelayMs(1, settings, () => 0), 5_000);
  assert.equal(retryDelayMs(1, settings, () => 1), 10_000);
  assert.equal(retryDelayMs(4, settings, () => 0.5), 60_000);
  assert.equal(retryDelayMs(30, settings, () => 1), 3_600_000);
  assert.equal(retryDelayMs(1000, settings, () => 0), 1_800_000);
  for (let i = 0; i < 100; i++) {
    const d = retryDelayMs(3, settings);
    assert.ok(d >= 20_000 && d <= 40_000, String(d));
  }
});

test('the addresses refused without the local network, and those let through', () => {
  const refused: Record<string, string> = {
    '127.0.0.1': 'localhost', '127.9.9.9': 'loopback', '0.0.0.0': 'localhost', '0.1.2.3': 'localhost', '::': 'localhost', '::1': 'localhost',
    '10.0.0.1': 'local network', '172.16.5.4': 'local network', '172.31.0.1': 'local network', '192.168.0.1': 'local network',
    'fd00::1': 'local network', 'fc00::1': 'local network', 'fec0::1': 'local network', '169.254.169.254': 'link local', 'fe80::1%eth0': 'link local',
    '100.64.0.1': 'shared address space', '100.127.255.254': 'shared address space', '255.255.255.255': 'broadcast',
    '::ffff:10.0.0.1': 'local network', '::ffff:7f00:1': 'localhost', '0:0:0:0:0:0:0:1': 'loopback',
  };
  for (const [address, why] of Object.entries(refused)) {
    const reason = blockedReason(address);
    assert.ok(reason?.includes(why === 'localhost' ? 'localhost' : why === 'loopback' ? 'loopback' : why), `${address}: ${reason}`);
  }
  for (const address of ['93.184.216.34', '8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:2800:220:1::1', '192.169.0.1', '11.0.0.1']) {
    assert.equal(blockedReason(address), null, address);
  }
});

test('payload formats: GitLab\'s times, absolute image URLs outside code, event header names', () => {
  assert.equal(hookTime('2020-11-02T12:55:12.345Z'), '2020-11-02 12:55:12 UTC');
  const md = 'a ![x](/uploads/a.png) b ![y](https://cdn.example/y.png) ![z](//cdn/z.png)\n```\n![code](/uploads/c.png)\n```\n![after](img/d.png)';
  assert.equal(
    absoluteImageUrls(md, 'https://relinks.example'),
    'a ![x](https://relinks.example//uploads/a.png) b ![y](https://cdn.example/y.png) ![z](//cdn/z.png)\n```\n![code](/uploads/c.png)\n```\n![after](https://relinks.example/img/d.png)',
  );
  assert.equal(eventHeader('release_hooks'), 'Release Hook');
  assert.equal(eventHeader('tag_push_hooks'), 'Tag Push Hook');
});

test('the WEBHOOK_* settings: defaults, and a bad value stops the start with a message naming it', async () => {
  const { ConfigError, loadConfig } = await import('../src/config.js');
  const base = { DATABASE_URL: 'sqlite::memory:' };
  assert.deepEqual(loadConfig(base).webhooks, {
    allowLocalRequests: false, timeoutMs: 10_000, workers: 4, pollIntervalMs: 1000, retryBaseMs: 10_000, retryMaxMs: 3_600_000, maxAttempts: 12, secretKey: undefined,
  });
  assert.equal(loadConfig({ ...base, WEBHOOK_ALLOW_LOCAL_REQUESTS: 'true', WEBHOOK_WORKERS: '0' }).webhooks.workers, 0);
  for (const [name, value, message] of [
    ['WEBHOOK_ALLOW_LOCAL_REQUESTS', 'yes', /WEBHOOK_ALLOW_LOCAL_REQUESTS must be true or false/],
    ['WEBHOOK_TIMEOUT_MS', '10s', /WEBHOOK_TIMEOUT_MS must be an integer from 100 to 600000/],
    ['WEBHOOK_WORKERS', '-1', /WEBHOOK_WORKERS must be an integer/],
    ['WEBHOOK_RETRY_MAX_MS', '5', /WEBHOOK_RETRY_MAX_MS must not be below WEBHOOK_RETRY_BASE_MS/],
    ['WEBHOOK_SECRET_KEY', 'short', /WEBHOOK_SECRET_KEY must be at least 32 characters long/],
  ] as const) {
    assert.throws(() => loadConfig({ ...base, [name]: value }), (e: Error) => e instanceof ConfigError && message.test(e.message), name);
  }
});
