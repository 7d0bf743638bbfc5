import { ApiError, badRequest, forbidden, unauthorized } from '../errors.js';
import { scopeLinkEntity } from '../entities/job-token.js';
import { basicProjectEntity } from '../entities/project.js';
import type { Page } from '../store/page.js';
import { canAdminProject, type ProjectView } from '../policy.js';
import { isUniqueViolation, now } from '../store/errors.js';
import { deleteAllowlistEntry, insertAllowlistEntry, isAllowlisted, listAllowlistProjects } from '../store/job-tokens.js';
import { findProjectWithAccess } from '../store/projects.js';
import type { Ctx } from './context.js';
import { visibleProject } from './projects.js';

// GitLab's job token scope API: a project's inbound allowlist names the projects whose CI/CD job
// tokens may reach it. Managing it takes Maintainer on the project.

const TARGET_UNREADABLE =
  "The target_project that you are attempting to access does not exist or you don't have permission to perform this action";
const ALREADY_LISTED = 'Target project is already in the job token scope';

async function manageableProject(ctx: Ctx, projectRef: string): Promise<ProjectView> {
  if (!ctx.actor.user) throw unauthorized();
  const view = await visibleProject(ctx, projectRef);
  if (!canAdminProject(ctx.actor, view)) throw forbidden();
  return view;
}

/** Can the actor see the project? (Not found and hidden are the same answer.) */
async function readable(ctx: Ctx, projectId: number): Promise<ProjectView | null> {
  try {
    return await visibleProject(ctx, String(projectId));
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

export async function listAllowlist(ctx: Ctx, projectRef: string, page: Page) {
  const view = await manageableProject(ctx, projectRef);
  const { rows, total } = await listAllowlistProjects(ctx.db, view.project.id, page);
  return { items: rows.map((r) => basicProjectEntity(r.project, r.namespace, ctx.config.externalUrl)), total };
}

export async function addToAllowlist(ctx: Ctx, projectId: number, targetProjectId: number) {
  const view = await manageableProject(ctx, String(projectId));
  if (!(await findProjectWithAccess(ctx.db, String(targetProjectId), null))) {
    throw new ApiError(404, { message: '404 target_project_id not found Not Found' });
  }
  if (!(await readable(ctx, targetProjectId))) throw badRequest(TARGET_UNREADABLE);
  if (targetProjectId === view.project.id) {
    throw badRequest("Validation failed: Target project can't be the same as the source project");
  }
  if (await isAllowlisted(ctx.db, view.project.id, targetProjectId)) throw badRequest(ALREADY_LISTED);
  try {
    const entry = await ctx.write((trx) =>
      insertAllowlistEntry(trx, { project_id: view.project.id, target_project_id: targetProjectId, created_at: now() }),
    );
    return scopeLinkEntity(entry);
  } catch (error) {
    if (isUniqueViolation(error)) throw badRequest(ALREADY_LISTED);
    throw error;
  }
}

export async function removeFromAllowlist(ctx: Ctx, projectId: number, targetProjectId: number): Promise<void> {
  if (!ctx.actor.user) throw unauthorized();
  const view = await visibleProject(ctx, String(projectId));
  await visibleProject(ctx, String(targetProjectId));
  if (!canAdminProject(ctx.actor, view)) {
    throw new ApiError(403, { message: '403 Forbidden - Insufficient permissions to modify the job token scope' });
  }
  const removed = await ctx.write((trx) => deleteAllowlistEntry(trx, view.project.id, targetProjectId));
  if (!removed) throw badRequest('Target project is not in the job token scope');
}
