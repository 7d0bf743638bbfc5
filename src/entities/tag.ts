import type { Tag } from '../store/schema.js';

export function tagEntity(tag: Tag, projectWebUrl: string) {
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
    release: null,
    protected: false,
    created_at: tag.created_at,
  };
}
