import { forbidden, invalid, notFound, unauthorized, type FieldErrors } from '../errors.js';
import { projectEntity } from '../entities/project.js';
import { AccessLevel, canCreateInNamespace, canDeleteProject, canReadGroup, canReadProject, visibilityLevel, type ProjectView } from '../policy.js';
import { findEffectiveMember, insertMember } from '../store/members.js';
import { findNamespace, namespaceAccess } from '../store/namespaces.js';
import { deleteProject as deleteProjectRow, findProjectWithAccess, insertProject, type ProjectRow } from '../store/projects.js';
import { isUniqueViolation, now } from '../store/errors.js';
import type { Namespace } from '../store/schema.js';
import { auditProjectDeleted } from './audit.js';
import type { Ctx } from './context.js';
import { jobScopedView } from './job-scope.js';

/** The project as the actor sees it, or 404 Project Not Found when it cannot be seen: never a 403 that leaks it. */
export async function visibleProject(ctx: Ctx, ref: string): Promise<ProjectView> {
  return projectView(ctx, await findProjectWithAccess(ctx.db, ref, ctx.actor.user?.id ?? null));
}

/** visibleProject for a row already fetched (e.g. together with a release): same checks, same errors. */
export async function projectView(ctx: Ctx, row: ProjectRow | undefined): Promise<ProjectView> {
  if (!row) throw notFound('Project');
  const { access_level, ...project } = row;
  // A job token's scope (its project and the projects that allow it) narrows what its user sees.
  const view = await jobScopedView(ctx.db, ctx.actor, { project, access: access_level ?? 0 });
  if (!canReadProject(ctx.actor, view)) throw notFound('Project');
  return view;
}

/** GitLab's path rule: letters, digits, `_ - .`; no leading `-`/`.`, no trailing `.git`/`.atom`. */
export const PATH_FORMAT = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?$/;
export const PATH_MESSAGE =
  "can contain only letters, digits, '_', '-' and '.'. Cannot start with '-', end in '.git' or end in '.atom'";

export function pathErrors(path: string): string[] {
  if (path === '') return ["can't be blank"];
  if (path.length > 255) return ['is too long (maximum is 255 characters)'];
  if (!PATH_FORMAT.test(path) || /\.(git|atom)$/i.test(path)) return [PATH_MESSAGE];
  return [];
}

export const slugify = (name: string) =>
  name
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '');

export interface CreateProjectInput {
  name?: string;
  path?: string;
  namespace_id?: string | number;
  visibility?: string;
  description?: string;
}

export async function createProject(ctx: Ctx, input: CreateProjectInput) {
  const user = ctx.actor.user;
  if (!user) throw unauthorized();
  const name = (input.name ?? input.path ?? '').trim();
  const path = input.path ?? slugify(name);

  let namespace: Namespace | undefined;
  if (input.namespace_id !== undefined) {
    namespace = await findNamespace(ctx.db, String(input.namespace_id));
    if (!namespace) throw notFound('Namespace');
    const access = await namespaceAccess(ctx.db, namespace, user.id);
    // A group the user cannot see is not found, never forbidden: a 403 would confirm it exists.
    if (namespace.kind === 'group' && !canReadGroup(ctx.actor, namespace, access)) throw notFound('Namespace');
    if (!canCreateInNamespace(ctx.actor, access)) throw forbidden();
  } else {
    namespace = user.namespace_id ? await findNamespace(ctx.db, user.namespace_id) : undefined;
    if (!namespace) throw notFound('Namespace');
  }

  const errors: FieldErrors = {};
  if (name === '') errors.name = ["can't be blank"];
  const pe = pathErrors(path);
  if (pe.length) errors.path = pe;
  if (Object.keys(errors).length) throw invalid(errors);

  const fullPath = `${namespace.full_path}/${path}`;
  const at = now();
  const ns = namespace;
  try {
    return await ctx.write(async (trx) => {
      const project = await insertProject(trx, {
        namespace_id: ns.id,
        name,
        path,
        full_path: fullPath,
        full_path_key: fullPath.toLowerCase(),
        description: input.description ?? '',
        visibility: visibilityLevel(input.visibility ?? 'private'),
        creator_id: user.id,
        created_at: at,
        updated_at: at,
      });
      // Whoever creates a project can manage it, even in a group where they hold less.
      const inherited = await namespaceAccess(trx, ns, user.id);
      if (inherited < AccessLevel.MAINTAINER) {
        await insertMember(trx, { source_type: 'Project', source_id: project.id, user_id: user.id, access_level: AccessLevel.MAINTAINER, expires_at: null, created_at: at });
      }
      const access = ns.kind === 'group'
        ? { project: inherited < AccessLevel.MAINTAINER ? AccessLevel.MAINTAINER : null, group: inherited || null }
        : { project: Math.max(inherited, AccessLevel.MAINTAINER), group: null };
      return projectEntity(project, ns, access, ctx.config.externalUrl);
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw invalid({ name: ['has already been taken'], path: ['has already been taken'] });
    throw error;
  }
}

export async function getProject(ctx: Ctx, ref: string) {
  const view = await visibleProject(ctx, ref);
  const namespace = await findNamespace(ctx.db, view.project.namespace_id);
  if (!namespace) throw notFound('Project');
  return projectEntity(view.project, namespace, await accessLevels(ctx, view, namespace), ctx.config.externalUrl);
}

/** In a group, own project membership and inherited group membership are told apart, as GitLab does;
 * in a personal namespace, the owner's access is the project's. */
async function accessLevels(ctx: Ctx, view: ProjectView, namespace: Namespace) {
  const userId = ctx.actor.user?.id;
  if (userId === undefined || view.access <= 0) return { project: null, group: null };
  if (namespace.kind !== 'group') return { project: view.access, group: null };
  const own = await findEffectiveMember(ctx.db, view.project.id, '', userId);
  const group = await namespaceAccess(ctx.db, namespace, userId);
  return { project: own?.access_level ?? null, group: group || null };
}

export async function deleteProject(ctx: Ctx, ref: string) {
  const view = await visibleProject(ctx, ref);
  if (!canDeleteProject(ctx.actor, view)) throw forbidden();
  await ctx.write(async (trx) => {
    await auditProjectDeleted(trx, ctx, view.project);
    await deleteProjectRow(trx, view.project.id);
  });
  return { message: '202 Accepted' };
}

export async function effectiveMember(ctx: Ctx, view: ProjectView, userId: number) {
  const namespace = await findNamespace(ctx.db, view.project.namespace_id);
  return findEffectiveMember(ctx.db, view.project.id, namespace?.traversal_ids ?? '', userId);
}

