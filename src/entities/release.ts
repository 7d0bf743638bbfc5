import type { MilestoneJson } from './milestone.js';
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
  /** Only when the caller asked for it (`include_html_description`). */
  descriptionHtml?: string;
  /** GitLab leaves the key out when the release has no milestone. */
  milestones?: MilestoneJson[];
}

/** Rails' `to_query`: keys sorted, values form-encoded (space as +). */
const query = (params: Record<string, string>) =>
  Object.keys(params).sort().map((k) => `${k}=${encodeURIComponent(params[k]).replace(/%20/g, '+')}`).join('&');

export function releaseEntity(p: ReleaseParts) {
  const { release, externalUrl } = p;
  const web = projectWebUrl(externalUrl, p.projectFullPath);
  const tag = tagSegment(release.tag_name);
  const ctx = linkContext(externalUrl, p.projectFullPath, release.tag_name);
  const filtered = (kind: 'issues' | 'merge_requests', state: string) => `${web}/-/${kind}?${query({ release_tag: release.tag_name, scope: 'all', state })}`;
  return {
    name: release.name,
    tag_name: release.tag_name,
    description: release.description,
    ...(p.descriptionHtml !== undefined ? { description_html: p.descriptionHtml } : {}),
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
    ...(p.milestones?.length ? { milestones: p.milestones } : {}),
    commit_path: p.tag ? `/${p.projectFullPath}/-/commit/${p.tag.target}` : null,
    tag_path: `/${p.projectFullPath}/-/tags/${tag}`,
    assets: {
      count: p.links.length,
      sources: [],
      links: p.links.map((l) => linkEntity(l, ctx)),
    },
    evidences: [],
    // GitLab's ReleasePresenter URLs, in its entity's order.
    _links: {
      closed_issues_url: filtered('issues', 'closed'),
      closed_merge_requests_url: filtered('merge_requests', 'closed'),
      edit_url: `${web}/-/releases/${tag}/edit`,
      merged_merge_requests_url: filtered('merge_requests', 'merged'),
      opened_issues_url: filtered('issues', 'opened'),
      opened_merge_requests_url: filtered('merge_requests', 'opened'),
      self: `${web}/-/releases/${tag}`,
    },
  };
}

/** GitLab's BasicReleaseDetails (a group's releases with `simple`). */
export const basicReleaseEntity = (release: Release) => ({
  name: release.name,
  tag_name: release.tag_name,
  description: release.description,
  created_at: release.created_at,
  released_at: release.released_at,
  upcoming_release: release.released_at > new Date().toISOString(),
});
