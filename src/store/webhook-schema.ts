import type { Generated, Insertable, Selectable } from 'kysely';

// Booleans are 0/1 and times ISO 8601 strings, as in schema.ts.

export interface WebHooksTable {
  id: Generated<number>;
  project_id: number;
  url: string;
  /** The secret sent as X-Gitlab-Token (see services/webhooks/secrets.ts for how it is kept). */
  token: string | null;
  name: string | null;
  description: string | null;
  releases_events: number;
  enable_ssl_verification: number;
  /** JSON object of the other `*_events` flags: stored and shown, never fired. */
  other_events: string;
  push_events_branch_filter: string | null;
  branch_filter_strategy: string;
  /** JSON object of header name to (kept) value. */
  custom_headers: string;
  recent_failures: number;
  disabled_until: string | null;
  created_at: string;
  updated_at: string;
}

export interface WebHookEventsTable {
  id: Generated<number>;
  project_id: number;
  trigger: string;
  uuid: string;
  payload: string;
  request_id: string | null;
  created_at: string;
}

export type DeliveryState = 'pending' | 'delivered' | 'failed';

export interface WebHookDeliveriesTable {
  id: Generated<number>;
  event_id: number;
  hook_id: number;
  idempotency_key: string;
  state: DeliveryState;
  attempts: number;
  next_attempt_at: string;
  locked_until: string | null;
  locked_by: string | null;
  last_error: string | null;
  created_at: string;
  finished_at: string | null;
}

export interface WebHookLogsTable {
  id: Generated<number>;
  hook_id: number;
  delivery_id: number | null;
  trigger: string;
  url: string;
  request_headers: string;
  request_data: string;
  response_headers: string;
  response_body: string;
  response_status: string;
  execution_duration: number;
  internal_error_message: string | null;
  request_id: string | null;
  created_at: string;
}

export type WebHook = Selectable<WebHooksTable>;
export type NewWebHook = Insertable<WebHooksTable>;
export type WebHookLog = Selectable<WebHookLogsTable>;
export type NewWebHookLog = Insertable<WebHookLogsTable>;
export type WebHookDelivery = Selectable<WebHookDeliveriesTable>;

// GitLab's WebHooks::AutoDisabling thresholds, which the claim query applies too: after 4 failures
// in a row a hook rests (disabled_until), after 40 it is disabled until a test call succeeds.
export const TEMPORARILY_DISABLED_FAILURE_THRESHOLD = 3;
export const PERMANENTLY_DISABLED_FAILURE_THRESHOLD = 39;
