import type { WebHook, WebHookLog } from '../store/webhook-schema.js';

// GitLab's ProjectHook entity (API::Entities::Hook, then ProjectHook's own fields, in their order)
// and its WebHookLog entity. The token and custom header values are never shown.

/** The `*_events` flags other than releases_events, as GitLab names them; all but push_events start off. */
export const OTHER_EVENTS = [
  'push_events', 'tag_push_events', 'merge_requests_events', 'issues_events', 'confidential_issues_events', 'note_events',
  'confidential_note_events', 'pipeline_events', 'wiki_page_events', 'deployment_events', 'feature_flag_events', 'job_events',
  'milestone_events', 'emoji_events', 'resource_access_token_events', 'resource_deploy_token_events', 'vulnerability_events',
] as const;
export type OtherEvent = (typeof OTHER_EVENTS)[number];

export const DEFAULT_OTHER_EVENTS: Record<OtherEvent, boolean> = Object.fromEntries(OTHER_EVENTS.map((e) => [e, e === 'push_events'])) as Record<OtherEvent, boolean>;

export function otherEventsOf(hook: WebHook): Record<OtherEvent, boolean> {
  return { ...DEFAULT_OTHER_EVENTS, ...(JSON.parse(hook.other_events) as Partial<Record<OtherEvent, boolean>>) };
}

/** `list` leaves out url_variables and custom_headers, as GitLab's list does. */
export function hookEntity(hook: WebHook, alertStatus: 'executable' | 'temporarily_disabled' | 'disabled', options: { list?: boolean } = {}) {
  const events = otherEventsOf(hook);
  const headerNames = Object.keys(JSON.parse(hook.custom_headers) as Record<string, string>);
  return {
    id: hook.id,
    url: hook.url,
    name: hook.name,
    description: hook.description,
    created_at: hook.created_at,
    push_events: events.push_events,
    tag_push_events: events.tag_push_events,
    merge_requests_events: events.merge_requests_events,
    repository_update_events: false,
    enable_ssl_verification: hook.enable_ssl_verification === 1,
    alert_status: alertStatus,
    disabled_until: hook.disabled_until,
    ...(options.list ? {} : { url_variables: [] as Array<{ key: string }> }),
    push_events_branch_filter: hook.push_events_branch_filter,
    branch_filter_strategy: hook.branch_filter_strategy,
    custom_webhook_template: null,
    ...(options.list ? {} : { custom_headers: headerNames.map((key) => ({ key })) }),
    project_id: hook.project_id,
    issues_events: events.issues_events,
    confidential_issues_events: events.confidential_issues_events,
    note_events: events.note_events,
    confidential_note_events: events.confidential_note_events,
    pipeline_events: events.pipeline_events,
    wiki_page_events: events.wiki_page_events,
    deployment_events: events.deployment_events,
    feature_flag_events: events.feature_flag_events,
    job_events: events.job_events,
    releases_events: hook.releases_events === 1,
    milestone_events: events.milestone_events,
    emoji_events: events.emoji_events,
    resource_access_token_events: events.resource_access_token_events,
    resource_deploy_token_events: events.resource_deploy_token_events,
    vulnerability_events: events.vulnerability_events,
  };
}

const parsed = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

/** GitLab's WebHookLog entity; relinks adds why no answer came and the originating request's id. */
export function hookLogEntity(log: WebHookLog) {
  return {
    id: log.id,
    url: log.url,
    trigger: log.trigger,
    request_headers: JSON.parse(log.request_headers) as Record<string, string>,
    request_data: parsed(log.request_data),
    response_headers: JSON.parse(log.response_headers) as Record<string, string>,
    response_body: log.response_body,
    execution_duration: log.execution_duration,
    response_status: log.response_status,
    created_at: log.created_at,
    internal_error_message: log.internal_error_message,
    correlation_id: log.request_id,
  };
}
