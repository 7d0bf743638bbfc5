import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { WebhookSettings } from '../../config.js';
import type { NewWebHookLog } from '../../store/webhook-schema.js';
import { post, type Answer } from './http.js';
import { unseal } from './secrets.js';
import { BlockedUrl, resolveTarget } from './url-guard.js';

// One attempt at a delivery, as the worker and the test call both make it: GitLab's headers, the
// URL checked again against the address it resolves to now, the POST, and the log row it leaves.

const { version } = createRequire(import.meta.url)('../../../package.json') as { version: string };
/** GitLab sends `GitLab/<its version>`; relinks says which GitLab API it follows, and that it is relinks. */
export const USER_AGENT = `GitLab/17.3.0-relinks.${version}`;

/** X-Gitlab-Event for a hook name: release_hooks → "Release Hook" (GitLab's hook_to_event). */
export const eventHeader = (trigger: string) =>
  trigger.replace(/_hooks$/, '').split('_').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join(' ') + ' Hook';

export interface AttemptInput {
  trigger: string;
  url: string;
  token: string | null;
  /** JSON object of header name to stored value. */
  customHeaders: string;
  verifyTls: boolean;
  payload: string;
  idempotencyKey: string;
  eventUuid: string;
  /** The X-Request-Id of the request that caused the event. */
  requestId: string | null;
  externalUrl: string;
}

export interface AttemptResult {
  answer: Answer;
  /** GitLab's categories: a 2xx or 3xx answer is a success, anything else (no answer too) a failure. */
  ok: boolean;
  durationSeconds: number;
  log: Omit<NewWebHookLog, 'hook_id' | 'delivery_id' | 'created_at'>;
}

const REDACTED = '[REDACTED]';

function headersFor(input: AttemptInput, settings: WebhookSettings) {
  const custom = JSON.parse(input.customHeaders) as Record<string, string>;
  const sent: Record<string, string> = {};
  const logged: Record<string, string> = {};
  // Custom headers first; GitLab's own replace any of the same name.
  for (const [name, stored] of Object.entries(custom)) {
    sent[name] = unseal(stored, settings.secretKey);
    logged[name] = REDACTED;
  }
  const own: Record<string, string> = {
    'Content-Type': 'application/json',
    'User-Agent': USER_AGENT,
    'Idempotency-Key': input.idempotencyKey,
    'X-Gitlab-Event': eventHeader(input.trigger),
    'X-Gitlab-Webhook-UUID': randomUUID(),
    'X-Gitlab-Instance': new URL(input.externalUrl).origin,
    'X-Gitlab-Event-UUID': input.eventUuid,
  };
  const ownNames = new Set([...Object.keys(own), 'X-Gitlab-Token', 'X-Request-Id'].map((o) => o.toLowerCase()));
  for (const name of Object.keys(sent)) {
    if (!ownNames.has(name.toLowerCase())) continue;
    delete sent[name];
    delete logged[name];
  }
  Object.assign(sent, own);
  Object.assign(logged, own);
  if (input.token) {
    // GitLab strips line breaks from the token it sends.
    sent['X-Gitlab-Token'] = unseal(input.token, settings.secretKey).replace(/[\r\n]/g, '');
    logged['X-Gitlab-Token'] = REDACTED;
  }
  if (input.requestId) {
    sent['X-Request-Id'] = input.requestId;
    logged['X-Request-Id'] = input.requestId;
  }
  return { sent, logged };
}

class TimedOut extends Error {}

/** `work`, or TimedOut once `ms` have passed (a resolver that does not answer holds no slot for longer). */
function within<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimedOut(`Request timed out after ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

export async function attempt(input: AttemptInput, settings: WebhookSettings, signal?: AbortSignal): Promise<AttemptResult> {
  const started = performance.now();
  let answer: Answer;
  let logged: Record<string, string> = {};
  try {
    const headers = headersFor(input, settings);
    logged = headers.logged;
    // One deadline for the whole attempt: resolving the name counts too.
    const target = await within(resolveTarget(input.url, settings.allowLocalRequests, settings.lookup), settings.timeoutMs);
    const left = Math.max(1, settings.timeoutMs - (performance.now() - started));
    answer = await post(target, headers.sent, Buffer.from(input.payload, 'utf8'), { timeoutMs: left, verifyTls: input.verifyTls, signal });
    if (answer.error?.startsWith('Request timed out')) answer.error = `Request timed out after ${settings.timeoutMs} ms`;
  } catch (error) {
    const message = error instanceof BlockedUrl ? `URL is blocked: ${error.message}` : error instanceof Error ? error.message : String(error);
    answer = { status: null, headers: {}, body: '', error: message };
  }
  const durationSeconds = (performance.now() - started) / 1000;
  const ok = answer.status !== null && answer.status >= 200 && answer.status < 400;
  return {
    answer,
    ok,
    durationSeconds,
    log: {
      trigger: input.trigger,
      url: input.url,
      request_headers: JSON.stringify(logged),
      request_data: input.payload,
      response_headers: JSON.stringify(answer.headers),
      response_body: answer.body,
      response_status: answer.status === null ? 'internal error' : String(answer.status),
      execution_duration: durationSeconds,
      internal_error_message: answer.error ?? null,
      request_id: input.requestId,
    },
  };
}

/** The URL as a log line may show it: scheme, host and port, never credentials, path or query. */
export function originOf(raw: string): string {
  try {
    return new URL(raw).origin;
  } catch {
    return '(invalid URL)';
  }
}
