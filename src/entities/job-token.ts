import type { CiJobToken, CiJobTokenAllowlistEntry, Namespace, Project } from '../store/schema.js';
import { namespaceEntity } from './group.js';

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

/** GitLab's BasicProjectDetails, as the allowlist lists projects. */
export function basicProjectEntity(project: Project, namespace: Namespace, externalUrl: string) {
  const web_url = `${externalUrl}/${project.full_path}`;
  return {
    id: project.id,
    description: project.description,
    name: project.name,
    name_with_namespace: `${namespace.full_path.split('/').join(' / ')} / ${project.name}`,
    path: project.path,
    path_with_namespace: project.full_path,
    created_at: project.created_at,
    default_branch: 'main',
    tag_list: [],
    topics: [],
    http_url_to_repo: `${web_url}.git`,
    web_url,
    readme_url: null,
    forks_count: 0,
    avatar_url: null,
    star_count: 0,
    last_activity_at: project.updated_at,
    namespace: namespaceEntity(namespace, externalUrl),
  };
}
