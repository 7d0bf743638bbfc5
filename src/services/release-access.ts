import { forbidden, notFound } from '../errors.js';
import { canCreateTag, canReadReleases, canWriteReleases, type ProjectView } from '../policy.js';
import { listAllProtectedTags } from '../store/protected-tags.js';
import { findProjectRelease } from '../store/release-access.js';
import type { Release, ReleaseLink } from '../store/schema.js';
import type { Ctx } from './context.js';
import { projectView } from './projects.js';

// The release and link services both start here: one place keeps GitLab's order of their errors.

export interface ReleaseAccess {
  view: ProjectView;
  release: Release;
  /** The release's link of the id asked for, when one was asked for and exists. */
  link?: ReleaseLink;
  /** How many protected tag rules the project has (read with the release). */
  protectedTags?: number;
}

/** GitLab's order: project visible (404) → may read releases (403) → release exists (404 Not found). */
export async function readableRelease(ctx: Ctx, projectRef: string, tagName: string, missing = notFound, linkId?: number): Promise<ReleaseAccess> {
  // Project, access level, release (and link) come in one query; the checks keep GitLab's order.
  const found = await findProjectRelease(ctx.db, projectRef, ctx.actor.user?.id ?? null, tagName, linkId);
  const view = await projectView(ctx, found?.project);
  if (!canReadReleases(ctx.actor, view)) throw forbidden();
  if (!found?.release) throw missing();
  return { view, release: found.release, link: found.link, protectedTags: found.protectedTags };
}

/** Developer and up, and allowed to create the release's tag when a protected tag rule matches it. */
export async function assertCanChangeRelease(ctx: Ctx, view: ProjectView, tagName: string, protectedTags?: number): Promise<void> {
  if (!canWriteReleases(ctx.actor, view)) throw forbidden();
  // When the caller already knows the project protects no tag, there are no rules to read.
  const rules = protectedTags === 0 ? [] : await listAllProtectedTags(ctx.db, view.project.id);
  if (!canCreateTag(ctx.actor, view, rules, tagName)) throw forbidden();
}

/** `missing`: the links API says "404 Not found", the releases API "404 Not Found". */
export async function writableRelease(ctx: Ctx, projectRef: string, tagName: string, missing = notFound, linkId?: number): Promise<ReleaseAccess> {
  const access = await readableRelease(ctx, projectRef, tagName, missing, linkId);
  await assertCanChangeRelease(ctx, access.view, tagName, access.protectedTags);
  return access;
}
