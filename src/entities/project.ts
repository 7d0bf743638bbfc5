import { VISIBILITY_NAMES } from '../policy.js';
import type { Namespace, Project } from '../store/schema.js';
import { namespaceEntity } from './group.js';

/** GitLab's split: the user's own project membership, and the highest membership of the project's groups. */
export interface AccessLevels {
  project: number | null;
  group: number | null;
}

const accessOf = (level: number | null) => (level ? { access_level: level, notification_level: 3 } : null);

/** GitLab's BasicProjectDetails (as the job token allowlist lists projects); the full entity extends it. */
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

export function projectEntity(project: Project, namespace: Namespace, access: AccessLevels, externalUrl: string) {
  return {
    ...basicProjectEntity(project, namespace, externalUrl),
    _links: {
      self: `${externalUrl}/api/v4/projects/${project.id}`,
      members: `${externalUrl}/api/v4/projects/${project.id}/members`,
    },
    visibility: VISIBILITY_NAMES[project.visibility],
    creator_id: project.creator_id,
    permissions: {
      project_access: accessOf(access.project),
      group_access: accessOf(access.group),
    },
  };
}
