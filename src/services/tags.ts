import { ApiError, forbidden } from '../errors.js';
import { tagEntity } from '../entities/tag.js';
import { projectWebUrl } from '../entities/link.js';
import type { Page } from '../store/page.js';
import { canCreateTag, canDeleteTag, canReadCode, isProtectedTag, type ProjectView } from '../policy.js';
import { isUniqueViolation, now } from '../store/errors.js';
import { listAllProtectedTags } from '../store/protected-tags.js';
import { findTag, insertTag, listTags as listTagRows, lockedTag } from '../store/tags.js';
import { deleteRelease, findRelease, lockedReleaseAndLinks } from '../store/releases.js';
import { deleteTagRow, releasesOfTags } from '../store/tag-releases.js';
import type { Tag } from '../store/schema.js';
import { auditRelease, releaseSnapshot } from './audit.js';
import type { Ctx } from './context.js';
import { targetFor } from './releases.js';
import { visibleProject } from './projects.js';
import { fireReleaseHooks } from './webhooks/fire.js';

/** git check-ref-format's rules for a tag name. */
export function validTagName(name: string): boolean {
  if (name === '' || name === '@' || name.length > 255) return false;
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(name)) return false;
  if (name.includes('..') || name.includes('@{') || name.includes('//')) return false;
  if (name.startsWith('-') || name.startsWith('/') || name.endsWith('/') || name.endsWith('.') || name.endsWith('.lock')) return false;
  return !name.split('/').some((part) => part.startsWith('.') || part.endsWith('.lock'));
}

export interface CreateTagInput {
  tag_name: string;
  ref: string;
  message?: string;
}

export async function createTag(ctx: Ctx, projectRef: string, input: CreateTagInput) {
  const view = await visibleProject(ctx, projectRef);
  const rules = await listAllProtectedTags(ctx.db, view.project.id);
  if (!canCreateTag(ctx.actor, view, rules, input.tag_name)) throw forbidden();
  if (!validTagName(input.tag_name)) throw new ApiError(400, { message: 'Tag name invalid' });
  if (input.ref.trim() === '') throw new ApiError(400, { message: 'Target is empty' });
  const exists = new ApiError(400, { message: `Tag ${input.tag_name} already exists` });
  if (await findTag(ctx.db, view.project.id, input.tag_name)) throw exists;
  try {
    const tag = await ctx.write((trx) => insertTag(trx, {
      project_id: view.project.id,
      name: input.tag_name,
      target: targetFor(view.project.id, input.ref),
      message: input.message ?? '',
      created_at: now(),
    }));
    return tagEntity(tag, projectWebUrl(ctx.config.externalUrl, view.project.full_path), null, isProtectedTag(rules, tag.name));
  } catch (error) {
    if (isUniqueViolation(error)) throw exists;
    throw error;
  }
}

export async function listTags(ctx: Ctx, projectRef: string, page: Page) {
  const view = await visibleProject(ctx, projectRef);
  if (!canReadCode(ctx.actor, view)) throw forbidden();
  const { rows, total } = await listTagRows(ctx.db, view.project.id, page);
  return { items: await present(ctx, view, rows), total };
}

export async function getTag(ctx: Ctx, projectRef: string, name: string) {
  const view = await visibleProject(ctx, projectRef);
  if (!canReadCode(ctx.actor, view)) throw forbidden();
  const tag = await findTag(ctx.db, view.project.id, name);
  if (!tag) throw new ApiError(404, { message: '404 Tag Not Found' });
  return (await present(ctx, view, [tag]))[0];
}

/** Tags with GitLab's `release` (name and notes of the tag's release) and `protected` (a rule matches). */
async function present(ctx: Ctx, view: ProjectView, rows: Tag[]) {
  const [releases, rules] = await Promise.all([
    releasesOfTags(ctx.db, view.project.id, rows.map((t) => t.name)),
    listAllProtectedTags(ctx.db, view.project.id),
  ]);
  const byTag = new Map(releases.map((r) => [r.tag_name, r]));
  const web = projectWebUrl(ctx.config.externalUrl, view.project.full_path);
  return rows.map((t) => tagEntity(t, web, byTag.get(t.name) ?? null, isProtectedTag(rules, t.name)));
}

/**
 * GitLab (API::Tags, Tags::DestroyService): 404 Tag Not Found when missing, then `delete_tag`
 * (see canDeleteTag), and once the tag is gone the service destroys the tag's release too, its
 * links with it ("When a tag in a repository is destroyed, release assets will be destroyed too").
 * Here both go in one transaction, and the release's deletion is audited like a release delete.
 */
export async function deleteTag(ctx: Ctx, projectRef: string, name: string): Promise<void> {
  const view = await visibleProject(ctx, projectRef);
  if (!canReadCode(ctx.actor, view)) throw forbidden();
  const tag = await findTag(ctx.db, view.project.id, name);
  if (!tag) throw new ApiError(404, { message: '404 Tag Not Found' });
  const rules = await listAllProtectedTags(ctx.db, view.project.id);
  if (!canDeleteTag(ctx.actor, view, rules, name)) throw forbidden();
  await ctx.write(async (trx) => {
    // Under the tag's lock, a release created meanwhile is seen and deleted with it.
    if (!(await lockedTag(trx, view.project.id, name))) throw new ApiError(404, { message: '404 Tag Not Found' });
    const release = await findRelease(trx, view.project.id, name);
    const locked = release && (await lockedReleaseAndLinks(trx, release.id));
    if (locked) {
      const before = await releaseSnapshot(trx, locked);
      await fireReleaseHooks(trx, ctx, view.project, locked, 'delete');
      await deleteRelease(trx, locked.id);
      await auditRelease(trx, ctx, view.project.id, 'deleted', before, null);
    }
    await deleteTagRow(trx, tag.id);
  });
}
