import type { Kysely } from 'kysely';
import { projectWebUrl, tagSegment } from '../../entities/link.js';
import type { DB, Project, Release } from '../../store/schema.js';

// GitLab's Release Hook payload (Gitlab::HookData::ReleaseBuilder), field for field and in its
// order: the release's id, created_at, description, name, released_at and tag, then object_kind,
// project (Project#hook_attrs), url, action, assets and commit. Times are written as GitLab's
// receivers get them, "2020-11-02 12:55:12 UTC"; the commit's timestamp is ISO 8601. relinks keeps
// no repository: the commit is the tag's (as the releases API shows it), and there are no source
// archives, so assets.count is the number of links.

export type ReleaseAction = 'create' | 'update' | 'delete';

/** Ruby's Time#to_s for a UTC time, which is how GitLab's hook data serializes its times. */
export const hookTime = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;

/** Ruby's Time#xmlschema of a UTC time. */
const xmlschema = (iso: string) => `${iso.slice(0, 19)}Z`;

// A fenced code block is left as it is; elsewhere a Markdown image with a relative URL gets the
// instance's URL in front (GitLab's absolute_image_urls).
const FENCED = /^(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\1[^\S\n]*$/gm;
const RELATIVE_IMAGE = /!\[([^\n]*?)\]\(((?!https?:\/\/|\/\/)[^\n]+?)\)/g;

export function absoluteImageUrls(markdown: string, externalUrl: string): string {
  let out = '';
  let last = 0;
  const rewrite = (text: string) => text.replace(RELATIVE_IMAGE, (_m, title: string, url: string) => `![${title}](${externalUrl}/${url})`);
  for (const block of markdown.matchAll(FENCED)) {
    out += rewrite(markdown.slice(last, block.index)) + block[0];
    last = block.index! + block[0].length;
  }
  return out + rewrite(markdown.slice(last));
}

/** Project#hook_attrs. relinks serves no Git, so the repository URLs are those GitLab would give. */
export function projectHookAttrs(project: Project, namespaceName: string, externalUrl: string) {
  const web = projectWebUrl(externalUrl, project.full_path);
  const host = new URL(externalUrl).hostname;
  const ssh = `git@${host}:${project.full_path}.git`;
  const httpRepo = `${web}.git`;
  return {
    id: project.id,
    name: project.name,
    description: project.description,
    web_url: web,
    avatar_url: null,
    git_ssh_url: ssh,
    git_http_url: httpRepo,
    namespace: namespaceName,
    visibility_level: project.visibility,
    path_with_namespace: project.full_path,
    default_branch: 'main',
    ci_config_path: null,
    homepage: web,
    url: ssh,
    ssh_url: ssh,
    http_url: httpRepo,
  };
}

/** The payload, read inside the transaction that makes the change, so it is the state that commits. */
export async function releaseHookData(trx: Kysely<DB>, externalUrl: string, project: Project, release: Release, action: ReleaseAction) {
  const [namespace, tag, links, author] = await Promise.all([
    trx.selectFrom('namespaces').select('name').where('id', '=', project.namespace_id).executeTakeFirst(),
    trx.selectFrom('tags').selectAll().where('project_id', '=', project.id).where('name', '=', release.tag_name).executeTakeFirst(),
    // GitLab's release.links: in the order they were made.
    trx.selectFrom('release_links').select(['id', 'link_type', 'name', 'url']).where('release_id', '=', release.id).orderBy('id').execute(),
    release.author_id === null ? undefined : trx.selectFrom('users').select('name').where('id', '=', release.author_id).executeTakeFirst(),
  ]);
  const web = projectWebUrl(externalUrl, project.full_path);
  return {
    id: release.id,
    created_at: hookTime(release.created_at),
    description: absoluteImageUrls(release.description, externalUrl),
    name: release.name,
    released_at: hookTime(release.released_at),
    tag: release.tag_name,
    object_kind: 'release',
    project: projectHookAttrs(project, namespace?.name ?? '', externalUrl),
    url: `${web}/-/releases/${tagSegment(release.tag_name)}`,
    action,
    assets: {
      count: links.length,
      links: links.map((l) => ({ id: l.id, link_type: l.link_type, name: l.name, url: l.url })),
      sources: [] as Array<{ format: string; url: string }>,
    },
    commit: tag
      ? {
          id: tag.target,
          message: tag.message,
          title: tag.name,
          timestamp: xmlschema(tag.created_at),
          url: `${web}/-/commit/${tag.target}`,
          // An author without a public email is shown as GitLab shows one: "[REDACTED]".
          author: { name: author?.name ?? null, email: '[REDACTED]' },
        }
      : null,
  };
}
