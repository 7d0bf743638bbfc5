import { ApiError, forbidden, notFound } from '../errors.js';
import { milestoneEntity } from '../entities/milestone.js';
import { projectWebUrl } from '../entities/link.js';
import type { Page } from '../store/page.js';
import { canAdminMilestones, canReadMilestones, type ProjectView } from '../policy.js';
import { isUniqueViolation, now } from '../store/errors.js';
import type { Milestone } from '../store/milestone-schema.js';
import * as store from '../store/milestones.js';
import type { Ctx } from './context.js';
import { visibleProject } from './projects.js';

export interface MilestoneInput {
  title?: string;
  description?: string;
  due_date?: string;
  start_date?: string;
  state_event?: 'close' | 'activate';
}

type FieldErrors = Record<string, string[]>;

/** GitLab answers a failed milestone save with the errors hash as Ruby prints it: `{:title=>["can't be blank"]}`. */
const failed = (action: 'create' | 'update', errors: FieldErrors) => {
  const hash = Object.entries(errors).map(([k, v]) => `:${k}=>[${v.map((m) => JSON.stringify(m)).join(', ')}]`).join(', ');
  return new ApiError(400, { message: `Failed to ${action} milestone {${hash}}` });
};

function fieldErrors(m: { title: string; due_date: string | null; start_date: string | null }): FieldErrors {
  const errors: FieldErrors = {};
  if (m.title.trim() === '') errors.title = ["can't be blank"];
  // GitLab's Timebox: a due date on the start date is refused too.
  if (m.start_date && m.due_date && m.due_date <= m.start_date) errors.due_date = ['must be greater than start date'];
  return errors;
}

const web = (ctx: Ctx, view: ProjectView) => projectWebUrl(ctx.config.externalUrl, view.project.full_path);

async function readable(ctx: Ctx, projectRef: string) {
  const view = await visibleProject(ctx, projectRef);
  if (!canReadMilestones(ctx.actor, view)) throw forbidden();
  return view;
}

async function writable(ctx: Ctx, projectRef: string) {
  const view = await readable(ctx, projectRef);
  if (!canAdminMilestones(ctx.actor, view)) throw forbidden();
  return view;
}

/** A missing milestone is ActiveRecord's RecordNotFound in GitLab: "404 Not found". */
async function existing(ctx: Ctx, view: ProjectView, id: number): Promise<Milestone> {
  const m = await store.findMilestone(ctx.db, view.project.id, id);
  if (!m) throw notFound();
  return m;
}

export async function createMilestone(ctx: Ctx, projectRef: string, input: MilestoneInput & { title: string }) {
  const view = await writable(ctx, projectRef);
  // An empty date is none (the schema has refused any that is no day).
  const values = { title: input.title, due_date: input.due_date || null, start_date: input.start_date || null };
  const errors = fieldErrors(values);
  if (Object.keys(errors).length) throw failed('create', errors);
  const taken = failed('create', { title: ['has already been taken'] });
  if (await store.findMilestoneByTitle(ctx.db, view.project.id, input.title)) throw taken;
  const at = now();
  try {
    const row = await ctx.write((trx) =>
      store.insertMilestone(trx, { ...values, project_id: view.project.id, description: input.description ?? '', state: 'active', created_at: at, updated_at: at }),
    );
    return milestoneEntity(row, web(ctx, view));
  } catch (error) {
    if (isUniqueViolation(error)) throw taken;
    throw error;
  }
}

export async function listMilestones(ctx: Ctx, projectRef: string, filter: store.MilestoneFilter, page: Page) {
  const view = await readable(ctx, projectRef);
  const { rows, total } = await store.listMilestones(ctx.db, view.project.id, filter, page);
  return { items: rows.map((m) => milestoneEntity(m, web(ctx, view))), total };
}

export async function getMilestone(ctx: Ctx, projectRef: string, id: number) {
  const view = await readable(ctx, projectRef);
  return milestoneEntity(await existing(ctx, view, id), web(ctx, view));
}

export async function updateMilestone(ctx: Ctx, projectRef: string, id: number, input: MilestoneInput) {
  const view = await writable(ctx, projectRef);
  const before = await existing(ctx, view, id);
  const values = {
    title: input.title ?? before.title,
    description: input.description ?? before.description,
    // An empty date clears it, as GitLab stores an empty date as none.
    due_date: input.due_date === undefined ? before.due_date : input.due_date || null,
    start_date: input.start_date === undefined ? before.start_date : input.start_date || null,
    state: input.state_event === 'close' ? 'closed' as const : input.state_event === 'activate' ? 'active' as const : before.state,
  };
  const errors = fieldErrors(values);
  if (Object.keys(errors).length) throw failed('update', errors);
  const taken = failed('update', { title: ['has already been taken'] });
  const same = await store.findMilestoneByTitle(ctx.db, view.project.id, values.title);
  if (same && same.id !== before.id) throw taken;
  try {
    const row = await ctx.write((trx) => store.updateMilestone(trx, before.id, { ...values, updated_at: now() }));
    return milestoneEntity(row, web(ctx, view));
  } catch (error) {
    if (isUniqueViolation(error)) throw taken;
    throw error;
  }
}
