import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../../config.js';
import { setWebhookQueueProbe } from '../../metrics.js';
import type { Store } from '../../store/db.js';
import { claim, claimedDeliveries, claimNextOfHook, dueDeliveries, prune, queueStats, releaseClaim, type ClaimedDelivery } from '../../store/webhook-queue.js';
import { attempt, originOf } from './attempt.js';
import { onEnqueued } from './fire.js';
import { executable } from './auto-disabling.js';
import { recordAttempt } from './record.js';

// The delivery worker. Every instance runs one (WEBHOOK_WORKERS slots; 0 runs none) over the shared
// store: it claims due deliveries, sends each, and records the outcome. A claim lasts well past one
// attempt's timeout; a worker that dies (kill -9) mid-delivery leaves its claims to run out, and
// then any worker sends those deliveries again, with the same Idempotency-Key: at least once.
//
// One slot per receiver: a worker never sends two deliveries to the same hook, nor to the same
// host and port, at the same time, so a slow or hostile receiver holds one slot and no more.
// Shutting down stops claiming, lets the attempts in flight finish for a moment, then cuts the rest
// off and gives their claims back, so they are sent again as soon as any worker runs.

export interface DeliveryWorker {
  /** Look for due deliveries now (something was committed). */
  wake(): void;
  stop(): Promise<void>;
}

const SHUTDOWN_GRACE_MS = 2000;
/** Deliveries found held by others that one look goes past before it leaves the rest to the next poll. */
const MAX_HELD_PER_LOOK = 256;
/** Deliveries a slot sends to one hook in a row before it lets the oldest due delivery of any hook go first. */
const RUN_LENGTH = 32;
const QUEUE_LOG_INTERVAL_MS = 60_000;
const PRUNE_INTERVAL_MS = 10 * 60_000;
/** GitLab shows a hook's events of the past 7 days; older logs and finished deliveries go. */
const KEEP_MS = 7 * 86_400_000;

interface InFlight {
  hookId: number;
  origin: string;
  controller: AbortController;
  done: Promise<void>;
}

export function startDeliveryWorker(store: Store, config: Config, log: FastifyBaseLogger): DeliveryWorker {
  const settings = config.webhooks;
  const me = randomUUID();
  /** By slot: a slot sends one delivery after another to the same hook while it has due ones. */
  const inFlight = new Map<number, InFlight>();
  let slots = 0;
  let stopping = false;
  let ticking = false;
  let again = false;
  let lastTickError = 0;
  const timers: NodeJS.Timeout[] = [];

  const probe = async () => {
    const { depth, oldest } = await queueStats(store.db);
    return { depth, oldestAgeSeconds: oldest ? Math.max(0, (Date.now() - Date.parse(oldest)) / 1000) : 0 };
  };
  setWebhookQueueProbe(probe);

  async function tick(): Promise<void> {
    if (ticking) {
      again = true;
      return;
    }
    ticking = true;
    // Picked but not claimed in this look: held by another worker (on PostgreSQL, maybe only a row
    // lock, which the read of due deliveries does not see). Looked past, so they hold up nothing.
    const held = new Set<number>();
    try {
      do {
        again = false;
        const free = settings.workers - inFlight.size;
        if (stopping || free <= 0 || held.size >= MAX_HELD_PER_LOOK) break;
        const nowMs = Date.now();
        const now = new Date(nowMs).toISOString();
        const busyHooks = [...inFlight.values()].map((f) => f.hookId);
        const busyOrigins = new Set([...inFlight.values()].map((f) => f.origin));
        const due = await dueDeliveries(store.db, now, busyHooks, free * 4, [...held]);
        const picked: number[] = [];
        for (const d of due) {
          const origin = originOf(d.url);
          if (busyOrigins.has(origin) || picked.length >= free) continue;
          busyOrigins.add(origin);
          picked.push(d.id);
        }
        if (picked.length === 0) break;
        const claimed = await store.write((trx) => claim(trx, store.dialect, picked, now, claimUntil(nowMs), me));
        for (const row of await claimedDeliveries(store.db, claimed)) start(row);
        const taken = new Set(claimed);
        for (const id of picked) if (!taken.has(id)) held.add(id);
        // Some held elsewhere: look again past them (each look adds to `held`, so this ends).
        // All taken: there may be more due right away.
        if (claimed.length < picked.length || picked.length === free) again = true;
      } while (again && !stopping);
    } catch (error) {
      if (Date.now() - lastTickError > 60_000) {
        lastTickError = Date.now();
        log.warn({ err: error }, 'webhook worker could not look for deliveries; trying again');
      }
    } finally {
      ticking = false;
      // A wake-up that came during the last look's final steps is not lost.
      if (again && !stopping) setImmediate(() => void tick());
    }
  }

  /** A claim lasts two timeouts and a second: an attempt is over by then, unless its worker died. */
  const claimUntil = (nowMs: number) => new Date(nowMs + settings.timeoutMs * 2 + 1000).toISOString();

  function start(first: ClaimedDelivery): void {
    const slot = ++slots;
    const controller = new AbortController();
    const entry: InFlight = { hookId: first.hook_id, origin: originOf(first.url), controller, done: Promise.resolve() };
    inFlight.set(slot, entry);
    const run = async () => {
      let row: ClaimedDelivery | undefined = first;
      for (let sent = 1; row; sent++) {
        const current: ClaimedDelivery = row;
        const next = await deliver(current, controller.signal, sent < RUN_LENGTH).catch((error) => {
          log.error({ err: error, correlation_id: current.request_id, hook_id: current.hook_id, delivery_id: current.id }, 'webhook delivery could not be recorded; it is sent again once its claim runs out');
          return undefined;
        });
        row = next === undefined || stopping ? undefined : (await claimedDeliveries(store.db, [next]))[0];
        // The hook's URL may have changed meanwhile: the slot is now that receiver's.
        if (row) entry.origin = originOf(row.url);
        // Ours but not sent (shutdown): handed back at once.
        if (next !== undefined && !row) await store.write((trx) => releaseClaim(trx, next, me)).catch(() => {});
      }
    };
    entry.done = run().finally(() => {
      inFlight.delete(slot);
      if (!stopping) void tick();
    });
  }

  /** Sends one delivery and records it; returns the next delivery of the same hook, claimed, if one is due. */
  async function deliver(row: ClaimedDelivery, signal: AbortSignal, mayGoOn: boolean): Promise<number | undefined> {
    const context = { correlation_id: row.request_id, hook_id: row.hook_id, delivery_id: row.id, event_id: row.event_id, attempt: row.attempts + 1, target: originOf(row.url) };
    const result = await attempt(
      {
        trigger: row.trigger,
        url: row.url,
        token: row.token,
        customHeaders: row.custom_headers,
        verifyTls: row.enable_ssl_verification === 1,
        payload: row.payload,
        idempotencyKey: row.idempotency_key,
        eventUuid: row.event_uuid,
        requestId: row.request_id,
        externalUrl: config.externalUrl,
      },
      settings,
      signal,
    );
    if (signal.aborted && result.answer.status === null) {
      // Cut off by shutdown before any answer: not an attempt that counts. Sent again after restart.
      await store.write((trx) => releaseClaim(trx, row.id, me));
      log.info(context, 'webhook delivery interrupted by shutdown; it is sent again when a worker runs');
      return undefined;
    }
    const nowMs = Date.now();
    const now = new Date(nowMs).toISOString();
    const { recorded, next } = await store.write(async (trx) => {
      const recorded = await recordAttempt(trx, row.hook_id, result, settings, nowMs, { id: row.id, attempts: row.attempts, worker: me });
      const state = recorded.hookState ?? recorded.hook;
      const goOn = mayGoOn && !stopping && recorded.hook && !recorded.claimLost && state && executable(state, now);
      return { recorded, next: goOn ? await claimNextOfHook(trx, store.dialect, row.hook_id, now, claimUntil(nowMs), me) : undefined };
    });
    const fields = { ...context, status: result.answer.status, duration_s: Number(result.durationSeconds.toFixed(4)), latency_s: Number(((nowMs - Date.parse(row.created_at)) / 1000).toFixed(3)) };
    if (!recorded.hook) log.info(fields, 'webhook delivery dropped: its hook was deleted');
    else if (recorded.claimLost) log.warn(fields, 'webhook delivery was taken over by another worker after its claim ran out');
    else if (recorded.outcome?.kind === 'delivered') log.info(fields, 'webhook delivered');
    else if (recorded.outcome?.kind === 'retry') log.warn({ ...fields, error: result.answer.error ?? `HTTP ${result.answer.status}`, next_attempt_at: recorded.outcome.next }, 'webhook delivery failed; will retry');
    else log.error({ ...fields, error: result.answer.error ?? `HTTP ${result.answer.status}` }, 'webhook delivery failed; giving up');
    if (recorded.hookState && recorded.hookState.recent_failures !== recorded.hook?.recent_failures) {
      log.info({ hook_id: row.hook_id, recent_failures: recorded.hookState.recent_failures, disabled_until: recorded.hookState.disabled_until, abandoned: recorded.abandoned }, 'webhook failure count changed');
    }
    return next;
  }

  const unsubscribe = onEnqueued(() => {
    if (!stopping) setImmediate(() => void tick());
  });
  if (settings.workers > 0) {
    timers.push(setInterval(() => void tick(), settings.pollIntervalMs));
    timers.push(
      setInterval(() => {
        probe()
          .then(({ depth, oldestAgeSeconds }) => {
            if (depth > 0) log.info({ depth, oldest_age_s: Number(oldestAgeSeconds.toFixed(1)) }, 'webhook queue');
          })
          .catch(() => {});
      }, QUEUE_LOG_INTERVAL_MS),
    );
    timers.push(setInterval(() => void store.write((trx) => prune(trx, new Date(Date.now() - KEEP_MS).toISOString())).catch(() => {}), PRUNE_INTERVAL_MS));
    for (const t of timers) t.unref();
    setImmediate(() => void tick());
  }

  return {
    wake: () => void tick(),
    async stop() {
      if (stopping) return;
      stopping = true;
      unsubscribe();
      for (const t of timers) clearInterval(t);
      setWebhookQueueProbe(undefined);
      const pending = [...inFlight.values()];
      if (pending.length) {
        let timer: NodeJS.Timeout | undefined;
        const grace = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, SHUTDOWN_GRACE_MS);
        });
        await Promise.race([Promise.all(pending.map((p) => p.done)), grace]);
        clearTimeout(timer);
        for (const p of inFlight.values()) p.controller.abort();
        await Promise.all([...inFlight.values()].map((p) => p.done));
      }
      // A look that was under way finishes before the store closes.
      while (ticking) await new Promise((r) => setTimeout(r, 5));
    },
  };
}
