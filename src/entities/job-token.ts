import type { CiJobToken, CiJobTokenAllowlistEntry } from '../store/schema.js';

/** The token's plain value is shown once, when it is created. */
export function jobTokenEntity(token: CiJobToken, plain: string) {
  return {
    id: token.id,
    token: plain,
    expires_at: token.expires_at,
    project_id: token.project_id,
    user_id: token.user_id,
    ref: token.ref,
  };
}

/** GitLab's ProjectScopeLink: the allowlist's owner is the source, the project let in the target. */
export function scopeLinkEntity(entry: CiJobTokenAllowlistEntry) {
  return { source_project_id: entry.project_id, target_project_id: entry.target_project_id };
}
