import type { AuditEvent } from '../store/schema.js';

const MESSAGES: Record<string, string> = {
  release_created: 'Created release',
  release_updated: 'Updated release',
  release_deleted: 'Deleted release',
  release_link_created: 'Created release link',
  release_link_updated: 'Updated release link',
  release_link_deleted: 'Deleted release link',
  project_destroyed: 'Deleted project',
};

const parse = (json: string | null): unknown => (json === null ? null : JSON.parse(json));

/** GitLab's project audit event: the project is the entity, the release or link the target. */
export function auditEventEntity(event: AuditEvent, projectFullPath: string) {
  return {
    id: event.id,
    author_id: event.author_id ?? -1,
    entity_id: event.project_id,
    entity_type: 'Project' as const,
    details: {
      event_name: event.event_name,
      custom_message: `${MESSAGES[event.event_name] ?? event.event_name} ${event.target_details}`,
      author_name: event.author_name,
      author_username: event.author_username,
      author_class: 'User',
      token_kind: event.token_kind,
      target_id: event.target_id,
      target_type: event.target_type,
      target_details: event.target_details,
      entity_path: projectFullPath,
      before: parse(event.before_json),
      after: parse(event.after_json),
      // The X-Request-Id of the change's request (GitLab's correlation id): find its log lines by it.
      correlation_id: event.request_id,
    },
    created_at: event.created_at,
  };
}
