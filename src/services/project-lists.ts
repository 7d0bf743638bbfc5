import { basicProjectEntity, projectEntity } from '../entities/project.js';
import { notFound } from '../errors.js';
import type { Page } from '../store/page.js';
import { canReadGroup, visibilityLevel, type Actor } from '../policy.js';
import { findNamespace, namespaceAccess } from '../store/namespaces.js';
import { listProjects as listProjectRows, type ProjectFilter, type ProjectOrder } from '../store/project-lists.js';
import type { Namespace } from '../store/schema.js';
import type { Ctx } from './context.js';

export interface ProjectListQuery {
  visibility?: string;
  membership?: boolean;
  owned?: boolean;
  search?: string;
  simple?: boolean;
  order_by?: ProjectOrder;
  sort?: 'asc' | 'desc';
  include_subgroups?: boolean;
}

/** Who is asking, as the list queries filter: the SQL form of policy.canReadProject. */
export const listerOf = (actor: Actor) => ({ userId: actor.user?.id ?? null, admin: actor.user?.is_admin === 1 });

/** A group the actor may see, or 404 Group Not Found (never a 403 that would tell it exists). */
export async function visibleGroup(ctx: Ctx, ref: string): Promise<Namespace> {
  const group = await findNamespace(ctx.db, ref);
  if (!group || group.kind !== 'group') throw notFound('Group');
  const access = ctx.actor.user ? await namespaceAccess(ctx.db, group, ctx.actor.user.id) : 0;
  if (!canReadGroup(ctx.actor, group, access)) throw notFound('Group');
  return group;
}

async function list(ctx: Ctx, query: ProjectListQuery, page: Page, group?: Namespace) {
  const filter: ProjectFilter = {
    ...listerOf(ctx.actor),
    visibility: query.visibility === undefined ? undefined : visibilityLevel(query.visibility),
    membership: query.membership,
    owned: query.owned,
    search: query.search,
    group,
    subgroups: query.include_subgroups,
    orderBy: query.order_by,
    sort: query.sort,
  };
  const { rows, total } = await listProjectRows(ctx.db, filter, page);
  const url = ctx.config.externalUrl;
  const items = rows.map((r) =>
    query.simple
      ? basicProjectEntity(r.project, r.namespace, url)
      : projectEntity(r.project, r.namespace, r.namespace.kind === 'group' ? { project: r.ownAccess, group: r.groupAccess } : { project: r.ownAccess ?? r.groupAccess, group: null }, url),
  );
  return { items, total };
}

/** GET /projects: every project the caller may see (anonymous: the public ones), filtered. */
export const listProjects = (ctx: Ctx, query: ProjectListQuery, page: Page) => list(ctx, query, page);

/** GET /groups/:id/projects: the group's projects (with include_subgroups, its descendants' too) the caller may see. */
export async function listGroupProjects(ctx: Ctx, groupRef: string, query: ProjectListQuery, page: Page) {
  return list(ctx, query, page, await visibleGroup(ctx, groupRef));
}
