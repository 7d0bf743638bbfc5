import { groupEntity } from '../entities/group.js';
import type { Page } from '../store/page.js';
import { visibilityLevel } from '../policy.js';
import { listGroups as listGroupRows, type GROUP_ORDERS } from '../store/group-lists.js';
import { projectIds, projectPaths } from '../store/project-lists.js';
import { basicReleaseEntity } from '../entities/release.js';
import { listOrderedReleases } from '../store/release-lists.js';
import type { LinkOrder } from '../store/links.js';
import type { Ctx } from './context.js';
import { listerOf, visibleGroup } from './project-lists.js';
import { presentReleases } from './release-json.js';

export interface GroupListQuery {
  all_available?: boolean;
  owned?: boolean;
  search?: string;
  visibility?: string;
  top_level_only?: boolean;
  order_by?: (typeof GROUP_ORDERS)[number];
  sort?: 'asc' | 'desc';
}

/** GET /groups: anonymous callers see public groups; users the groups they belong to, or with
 * all_available every group they may see; admins every group unless all_available=false. */
export async function listGroups(ctx: Ctx, query: GroupListQuery, page: Page) {
  const lister = listerOf(ctx.actor);
  const { rows, total } = await listGroupRows(ctx.db, {
    ...lister,
    allAvailable: query.all_available ?? lister.admin,
    owned: query.owned,
    search: query.search,
    visibility: query.visibility === undefined ? undefined : visibilityLevel(query.visibility),
    topLevelOnly: query.top_level_only,
    orderBy: query.order_by,
    sort: query.sort,
  }, page);
  return { items: rows.map((g) => groupEntity(g, ctx.config.externalUrl)), total };
}

/**
 * GET /groups/:id/releases: GitLab's GroupReleasesFinder, the releases of the group's projects and
 * its subgroups' that the caller may read, by released_at. `simple` is BasicReleaseDetails.
 */
export async function listGroupReleases(ctx: Ctx, groupRef: string, query: { sort?: 'asc' | 'desc'; simple?: boolean; link_order?: LinkOrder }, page: Page) {
  const group = await visibleGroup(ctx, groupRef);
  const ids = await projectIds(ctx.db, { ...listerOf(ctx.actor), group, subgroups: true });
  const { rows, total } = await listOrderedReleases(ctx.db, ids, page, { orderBy: 'released_at', sort: query.sort });
  if (query.simple) {
    return { items: rows.map(basicReleaseEntity), total };
  }
  const projects = await projectPaths(ctx.db, [...new Set(rows.map((r) => r.project_id))]);
  const byId = new Map(projects.map((p) => [p.id, p]));
  const json = await presentReleases(ctx, rows.map((release) => ({ release, project: byId.get(release.project_id)! })), { linkOrder: query.link_order });
  return { items: json, total };
}
