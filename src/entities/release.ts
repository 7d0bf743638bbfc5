import type { Release, ReleaseLink, Tag, User } from '../store/schema.js';
import { linkContext, linkEntity, projectWebUrl, tagSegment } from './link.js';
import { userBasicEntity } from './user.js';

export interface ReleaseParts {
  release: Release;
  links: ReleaseLink[];
  author: User | undefined;
  tag: Tag | undefined;
  projectId: number;
  projectFullPath: string;
  externalUrl: string;
}

export function releaseEntity(p: ReleaseParts) {
  const { release, externalUrl } = p;
  const web = projectWebUrl(externalUrl, p.projectFullPath);
  const tag = tagSegment(release.tag_name);
  const ctx = linkContext(externalUrl, p.projectFullPath, release.tag_name);
  return {
    name: release.name,
    tag_name: release.tag_name,
    description: release.description,
    created_at: release.created_at,
    released_at: release.released_at,
    upcoming_release: release.released_at > new Date().toISOString(),
    author: p.author ? userBasicEntity(p.author, externalUrl) : null,
    commit: p.tag
      ? {
          id: p.tag.target,
          short_id: p.tag.target.slice(0, 8),
          created_at: p.tag.created_at,
          parent_ids: [],
          title: p.tag.name,
          message: p.tag.message,
          web_url: `${web}/-/commit/${p.tag.target}`,
        }
      : null,
    commit_path: p.tag ? `/${p.projectFullPath}/-/commit/${p.tag.target}` : null,
    tag_path: `/${p.projectFullPath}/-/tags/${tag}`,
    assets: {
      count: p.links.length,
      sources: [],
      links: p.links.map((l) => linkEntity(l, ctx)),
    },
    evidences: [],
    _links: {
      self: `${web}/-/releases/${tag}`,
      edit_url: `${web}/-/releases/${tag}/edit`,
    },
  };
}
