import type { Tag } from '../store/schema.js';

/** GitLab's TagRelease: only the tag name and the release notes. */
export interface TagRelease {
  tag_name: string;
  description: string;
}

export function tagEntity(tag: Tag, projectWebUrl: string, release: TagRelease | null = null, isProtected = false) {
  return {
    name: tag.name,
    message: tag.message,
    target: tag.target,
    commit: {
      id: tag.target,
      short_id: tag.target.slice(0, 8),
      created_at: tag.created_at,
      parent_ids: [],
      title: tag.name,
      message: tag.message,
      web_url: `${projectWebUrl}/-/commit/${tag.target}`,
    },
    release: release ? { tag_name: release.tag_name, description: release.description } : null,
    protected: isProtected,
    created_at: tag.created_at,
  };
}
