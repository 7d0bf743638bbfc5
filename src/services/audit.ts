import type { Kysely } from 'kysely';
import { insertAuditEvent } from '../store/audit.js';
import { now } from '../store/errors.js';
import { linksOfReleases } from '../store/links.js';
import { countReleasesAndLinks } from '../store/releases.js';
import type { DB, Release, ReleaseLink } from '../store/schema.js';
import type { Ctx } from './context.js';

// The audit log of release and link changes. Every change records its event with the same
// transaction handle (`trx`) it writes with, so an event exists exactly when its change does.

export type AuditAction = 'created' | 'updated' | 'deleted';

export interface LinkSnapshot {
  id: number;
  tag_name: string;
  name: string;
  url: string;
  filepath: string | null;
  link_type: string;
}

export interface ReleaseSnapshot {
  id: number;
  tag_name: string;
  name: string;
  description: string;
  released_at: string;
  links: Omit<LinkSnapshot, 'tag_name'>[];
}

export const linkSnapshot = (link: ReleaseLink, tagName: string): LinkSnapshot => ({
  id: link.id,
  tag_name: tagName,
  name: link.name,
  url: link.url,
  filepath: link.filepath,
  link_type: link.link_type,
});

/** The release with its links as they are inside `trx`, so the snapshot matches what commits. */
export async function releaseSnapshot(trx: Kysely<DB>, release: Release): Promise<ReleaseSnapshot> {
  const links = await linksOfReleases(trx, [release.id]);
  return {
    id: release.id,
    tag_name: release.tag_name,
    name: release.name,
    description: release.description,
    released_at: release.released_at,
    links: links.map(({ id, name, url, filepath, link_type }) => ({ id, name, url, filepath, link_type })),
  };
}

export async function record(
  trx: Kysely<DB>,
  ctx: Ctx,
  projectId: number,
  event: { name: string; targetType: string; targetId: number; targetDetails: string; before: object | null; after: object | null },
): Promise<void> {
  const user = ctx.actor.user;
  await insertAuditEvent(trx, {
    project_id: projectId,
    author_id: user?.id ?? null,
    author_name: user?.name ?? 'An unauthenticated user',
    author_username: user?.username ?? '',
    token_kind: ctx.actor.kind,
    event_name: event.name,
    target_type: event.targetType,
    target_id: event.targetId,
    target_details: event.targetDetails,
    before_json: event.before === null ? null : JSON.stringify(event.before),
    after_json: event.after === null ? null : JSON.stringify(event.after),
    request_id: ctx.requestId ?? null,
    created_at: now(),
  });
}

export function auditLink(
  trx: Kysely<DB>,
  ctx: Ctx,
  projectId: number,
  action: AuditAction,
  before: LinkSnapshot | null,
  after: LinkSnapshot | null,
): Promise<void> {
  const target = (after ?? before)!;
  return record(trx, ctx, projectId, {
    name: `release_link_${action}`,
    targetType: 'Releases::Link',
    targetId: target.id,
    targetDetails: target.name,
    before,
    after,
  });
}

export function auditRelease(
  trx: Kysely<DB>,
  ctx: Ctx,
  projectId: number,
  action: AuditAction,
  before: ReleaseSnapshot | null,
  after: ReleaseSnapshot | null,
): Promise<void> {
  const target = (after ?? before)!;
  return record(trx, ctx, projectId, {
    name: `release_${action}`,
    targetType: 'Release',
    targetId: target.id,
    targetDetails: target.tag_name,
    before,
    after,
  });
}

/**
 * A project's deletion takes its releases and links with it (by cascade): one event says so, with
 * how many went, rather than one per link (a project may hold a million).
 */
export async function auditProjectDeleted(trx: Kysely<DB>, ctx: Ctx, project: { id: number; full_path: string }): Promise<void> {
  const { releases, links } = await countReleasesAndLinks(trx, project.id);
  await record(trx, ctx, project.id, {
    name: 'project_destroyed',
    targetType: 'Project',
    targetId: project.id,
    targetDetails: project.full_path,
    before: { id: project.id, full_path: project.full_path, releases, links },
    after: null,
  });
}
