import { ApiError, forbidden } from '../errors.js';
import { tagEntity } from '../entities/tag.js';
import { projectWebUrl } from '../entities/link.js';
import type { Page } from '../store/page.js';
import { canCreateTag, canReadCode } from '../policy.js';
import { isUniqueViolation, now } from '../store/errors.js';
import { listAllProtectedTags } from '../store/protected-tags.js';
import { findTag, insertTag, listTags as listTagRows } from '../store/tags.js';
import type { Ctx } from './context.js';
import { targetFor } from './releases.js';
import { visibleProject } from './projects.js';

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
    return tagEntity(tag, projectWebUrl(ctx.config.externalUrl, view.project.full_path));
  } catch (error) {
    if (isUniqueViolation(error)) throw exists;
    throw error;
  }
}

export async function listTags(ctx: Ctx, projectRef: string, page: Page) {
  const view = await visibleProject(ctx, projectRef);
  if (!canReadCode(ctx.actor, view)) throw forbidden();
  const { rows, total } = await listTagRows(ctx.db, view.project.id, page);
  const web = projectWebUrl(ctx.config.externalUrl, view.project.full_path);
  return { items: rows.map((t) => tagEntity(t, web)), total };
}

export async function getTag(ctx: Ctx, projectRef: string, name: string) {
  const view = await visibleProject(ctx, projectRef);
  if (!canReadCode(ctx.actor, view)) throw forbidden();
  const tag = await findTag(ctx.db, view.project.id, name);
  if (!tag) throw new ApiError(404, { message: '404 Tag Not Found' });
  return tagEntity(tag, projectWebUrl(ctx.config.externalUrl, view.project.full_path));
}
