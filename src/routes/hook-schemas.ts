import { Type, type TSchema } from '@sinclair/typebox';
import { OTHER_EVENTS } from '../entities/webhook.js';
import { BRANCH_FILTER_STRATEGIES } from '../services/webhooks/hooks.js';
import { TRIGGERS } from '../services/webhooks/test-hook.js';
import { RELINKS_OWN } from './responses.js';
import { Id, StringEnum } from './schemas.js';

// Schemas of the project hooks API: GitLab's ProjectHook and WebHookLog entities, in their key
// order, and the parameters GitLab's ProjectHooks API takes.

const nullable = <T extends TSchema>(schema: T) => Type.Unsafe<T['static'] | null>({ ...schema, type: [schema.type, 'null'] });
const Str = Type.String();
const Int = Type.Integer();
const Bool = Type.Boolean();
const Time = Type.String({ description: 'ISO 8601 time' });
const Keys = Type.Array(Type.Object({ key: Str }));


export const ProjectHook = Type.Object({
  id: Int,
  url: Str,
  name: nullable(Str),
  description: nullable(Str),
  created_at: Time,
  push_events: Bool,
  tag_push_events: Bool,
  merge_requests_events: Bool,
  repository_update_events: Bool,
  enable_ssl_verification: Bool,
  alert_status: StringEnum(['executable', 'temporarily_disabled', 'disabled'] as const),
  disabled_until: nullable(Time),
  url_variables: Type.Optional(Type.Array(Type.Object({ key: Str }), { description: 'Always empty: relinks takes no URL variables' })),
  push_events_branch_filter: nullable(Str),
  branch_filter_strategy: Str,
  custom_webhook_template: Type.Null({ description: 'Always null: relinks sends GitLab\'s payload as it is' }),
  custom_headers: Type.Optional(Type.Array(Type.Object({ key: Str }), { description: 'The names of the custom headers; their values are never shown' })),
  project_id: Int,
  issues_events: Bool,
  confidential_issues_events: Bool,
  note_events: Bool,
  confidential_note_events: Bool,
  pipeline_events: Bool,
  wiki_page_events: Bool,
  deployment_events: Bool,
  feature_flag_events: Bool,
  job_events: Bool,
  releases_events: Bool,
  milestone_events: Bool,
  emoji_events: Bool,
  resource_access_token_events: Bool,
  resource_deploy_token_events: Bool,
  vulnerability_events: Bool,
}, { title: 'ProjectHook' });

export const WebHookLog = Type.Object({
  id: Int,
  url: Str,
  trigger: Type.String({ description: 'release_hooks' }),
  request_headers: Type.Record(Str, Str, { description: 'As sent; X-Gitlab-Token and custom header values shown as [REDACTED]' }),
  request_data: Type.Unknown({ description: 'The payload sent' }),
  response_headers: Type.Record(Str, Str, { description: 'The first 50, each value cut at 1 KiB' }),
  response_body: Type.String({ description: 'The first 8 KiB' }),
  execution_duration: Type.Number({ description: 'Seconds' }),
  response_status: Type.String({ description: 'The HTTP status, or "internal error" when no answer came' }),
  created_at: Time,
  internal_error_message: Type.Union([Str, Type.Null()], { ...RELINKS_OWN, description: 'Why no answer came (refused, timed out, URL blocked), or null' }),
  correlation_id: Type.Union([Str, Type.Null()], { ...RELINKS_OWN, description: 'The X-Request-Id of the request whose change this event is (or of the test call)' }),
}, { title: 'WebHookLog' });

const hookFields = {
  token: Type.Optional(Type.String({ description: 'Sent as X-Gitlab-Token; never shown back' })),
  name: Type.Optional(Str),
  description: Type.Optional(Str),
  enable_ssl_verification: Type.Optional(Bool),
  releases_events: Type.Optional(Bool),
  ...Object.fromEntries(OTHER_EVENTS.map((n) => [n, Type.Optional(Type.Boolean({ description: 'Stored and shown; relinks sends release events only' }))])),
  push_events_branch_filter: Type.Optional(Str),
  branch_filter_strategy: Type.Optional(StringEnum(BRANCH_FILTER_STRATEGIES)),
  custom_headers: Type.Optional(Type.Array(Type.Object({ key: Str, value: Str }))),
};

export const CreateHookBody = Type.Object({ url: Str, ...hookFields });
export const UpdateHookBody = Type.Object({ url: Type.Optional(Str), ...hookFields });

export const HookParams = Type.Object({ id: Type.String(), hook_id: Id });
export const TestParams = Type.Object({ id: Type.String(), hook_id: Id, trigger: StringEnum(TRIGGERS) });

/** GitLab's events list pages by at most 20. */
const PerPage = Type.Unsafe<number>({ type: 'integer', enum: Array.from({ length: 20 }, (_, i) => i + 1) });
export const EventsQuery = Type.Object({
  page: Type.Optional(Int),
  per_page: Type.Optional(PerPage),
  status: Type.Optional(Type.Array(Str, { description: 'HTTP statuses (200, 500) or successful, client_failure, server_failure; comma-separated or repeated' })),
  'status[]': Type.Optional(Type.Array(Str)),
});

