import { ApiError, forbidden, notFound } from '../errors.js';
import { protectedTagEntity } from '../entities/protected-tag.js';
import type { Page } from '../store/page.js';
import { canAdminProject } from '../policy.js';
import { isUniqueViolation, now } from '../store/errors.js';
import * as store from '../store/protected-tags.js';
import type { Ctx } from './context.js';
import { visibleProject } from './projects.js';

export const CREATE_ACCESS_LEVELS = [0, 30, 40] as const;

async function adminView(ctx: Ctx, projectRef: string) {
  const view = await visibleProject(ctx, projectRef);
  if (!canAdminProject(ctx.actor, view)) throw forbidden();
  return view;
}

export async function protectTag(ctx: Ctx, projectRef: string, input: { name: string; create_access_level?: number }) {
  const view = await adminView(ctx, projectRef);
  const taken = new ApiError(422, { message: ['Name has already been taken'] });
  if (input.name.trim() === '') throw new ApiError(422, { message: ["Name can't be blank"] });
  if (await store.findProtectedTag(ctx.db, view.project.id, input.name)) throw taken;
  try {
    const row = await ctx.write((trx) => store.insertProtectedTag(trx, {
      project_id: view.project.id,
      name: input.name,
      create_access_level: input.create_access_level ?? 40,
      created_at: now(),
    }));
    return protectedTagEntity(row);
  } catch (error) {
    if (isUniqueViolation(error)) throw taken;
    throw error;
  }
}

export async function listProtectedTags(ctx: Ctx, projectRef: string, page: Page) {
  const view = await adminView(ctx, projectRef);
  const { rows, total } = await store.listProtectedTags(ctx.db, view.project.id, page);
  return { items: rows.map(protectedTagEntity), total };
}

export async function getProtectedTag(ctx: Ctx, projectRef: string, name: string) {
  const view = await adminView(ctx, projectRef);
  const row = await store.findProtectedTag(ctx.db, view.project.id, name);
  if (!row) throw notFound();
  return protectedTagEntity(row);
}

export async function unprotectTag(ctx: Ctx, projectRef: string, name: string) {
  const view = await adminView(ctx, projectRef);
  const row = await store.findProtectedTag(ctx.db, view.project.id, name);
  if (!row) throw notFound();
  await ctx.write((trx) => store.deleteProtectedTag(trx, row.id));
}
