import { ApiError, forbidden, notFoundPlain } from '../errors.js';
import { canWriteReleases, type ProjectView } from '../policy.js';
import type { Page } from '../store/page.js';
import { linksOfReleases } from '../store/links.js';
import { listTags } from '../store/tags.js';
import { findRelease } from '../store/releases.js';
import type { Ctx } from './context.js';
import { countsOfLinks } from './download-counts.js';
import { webNotFound } from './downloads.js';
import { htmlText, renderMarkdown } from './markdown.js';
import { listProjects } from './project-lists.js';
import { visibleProject } from './projects.js';
import { assertCanChangeRelease, writableRelease } from './release-access.js';
import { getRelease, listReleases } from './releases.js';
import { getTag } from './tags.js';

// What each web page shows, read through the same services (and so the same policy) as the API:
// whatever the API would refuse or not find, the page answers with one and the same 404, so a
// private project, release or tag looks exactly like one that does not exist.

/** Any refusal on the way (404 of any kind, 403) is the web's one 404. */
export async function hidden<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 403)) throw webNotFound();
    throw error;
  }
}

export const PROJECTS_PER_PAGE = 20;
export const RELEASES_PER_PAGE = 10;
const EXCERPT_LENGTH = 280;

const pageOf = (page: number, perPage: number): Page => ({ page, perPage, offset: (page - 1) * perPage });

/** `/`: the projects the caller may see (anonymous: the public ones), or with `mine` those they belong to. */
export async function homePage(ctx: Ctx, query: { search?: string; mine?: boolean; page: Page }) {
  const { items, total } = await listProjects(ctx, { search: query.search || undefined, membership: query.mine || undefined, order_by: 'name', sort: 'asc' }, query.page);
  const projects = (items as Array<{ id: number; name: string; description: string; path_with_namespace: string; visibility?: string }>).map((p) => ({
    id: p.id,
    name: p.name,
    description: p.description,
    fullPath: p.path_with_namespace,
    visibility: p.visibility ?? 'public',
  }));
  return { projects, total, perPage: PROJECTS_PER_PAGE };
}

/** The Markdown rendered as the API's description_html is, reduced to its text and cut short. */
export function excerptOf(markdown: string): string {
  const text = htmlText(renderMarkdown(markdown))
    .replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'")
    .replace(/\s+/g, ' ')
    .trim();
  return text.length > EXCERPT_LENGTH ? `${text.slice(0, EXCERPT_LENGTH - 1).trimEnd()}…` : text;
}

/** Developer and up (the policy's canWriteReleases): who sees "New release". */
const mayCreate = (ctx: Ctx, view: ProjectView) => canWriteReleases(ctx.actor, view);

/** May the actor change this release (Developer, and its tag's protection rule)? */
async function mayChange(ctx: Ctx, view: ProjectView, tag: string): Promise<boolean> {
  try {
    await assertCanChangeRelease(ctx, view, tag);
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) return false;
    throw error;
  }
}

/** `/<full path>` and `/<full path>/-/releases`: the project's releases, newest first. */
export function releasesPage(ctx: Ctx, fullPath: string, page: number) {
  return hidden(async () => {
    const view = await visibleProject(ctx, fullPath);
    const { items, total } = await listReleases(ctx, String(view.project.id), pageOf(page, RELEASES_PER_PAGE));
    return {
      project: view.project,
      canCreate: mayCreate(ctx, view),
      releases: items.map((release) => ({ release, excerpt: excerptOf(release.description) })),
      total,
      perPage: RELEASES_PER_PAGE,
    };
  });
}

/**
 * `/<full path>/-/releases/<tag>`: the release with its description rendered as the API renders
 * it, and each link's download count as the download counts API gives it.
 */
export function releasePage(ctx: Ctx, fullPath: string, tag: string) {
  return hidden(async () => {
    const view = await visibleProject(ctx, fullPath);
    const release = await getRelease(ctx, String(view.project.id), tag, { includeHtml: true });
    const countOf = await countsOfLinks(ctx, release.assets.links.map((l) => l.id));
    return { project: view.project, release, downloadsOf: (id: number) => countOf(id).downloads, canEdit: await mayChange(ctx, view, tag) };
  });
}

/** `/<full path>/-/tags/<tag>`: the tag (read with the code, as the tags API). */
export function tagPage(ctx: Ctx, fullPath: string, tag: string) {
  return hidden(async () => {
    const view = await visibleProject(ctx, fullPath);
    const found = await getTag(ctx, String(view.project.id), tag);
    const release = await findRelease(ctx.db, view.project.id, tag);
    return { project: view.project, tag: found, release: release ? { name: release.name, tag_name: release.tag_name } : null };
  });
}

export interface LinkValues {
  id?: string;
  name: string;
  url: string;
  direct_asset_path: string;
  link_type: string;
  remove?: boolean;
}

export interface ReleaseValues {
  tag_name: string;
  ref: string;
  tag_message: string;
  name: string;
  released_at: string;
  description: string;
  links: LinkValues[];
}

/** `datetime-local`'s form of an ISO time, in UTC. */
export const localTime = (iso: string) => iso.slice(0, 16);

/** `/<full path>/-/releases/<tag>/edit`: the release as the form starts, for those who may change it. */
export function editPage(ctx: Ctx, fullPath: string, tag: string) {
  return hidden(async () => {
    const view = await visibleProject(ctx, fullPath);
    const { release } = await writableRelease(ctx, String(view.project.id), tag, notFoundPlain);
    const links = await linksOfReleases(ctx.db, [release.id]);
    const values: ReleaseValues = {
      tag_name: release.tag_name,
      ref: '',
      tag_message: '',
      name: release.name,
      released_at: localTime(release.released_at),
      description: release.description,
      links: links.map((l) => ({ id: String(l.id), name: l.name, url: l.url, direct_asset_path: l.filepath ?? '', link_type: l.link_type })),
    };
    return { project: view.project, values };
  });
}

/** `/<full path>/-/releases/new`: Developers and up; the project's tags to choose from. */
export function newReleasePage(ctx: Ctx, fullPath: string) {
  return hidden(async () => {
    const view = await visibleProject(ctx, fullPath);
    if (!mayCreate(ctx, view)) throw forbidden();
    return { project: view.project, tags: await tagNames(ctx, view) };
  });
}

/** The newest tags, offered in the new release form. */
export async function tagNames(ctx: Ctx, view: ProjectView): Promise<string[]> {
  const { rows } = await listTags(ctx.db, view.project.id, pageOf(1, 100));
  return rows.map((t) => t.name);
}
