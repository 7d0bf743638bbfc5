import { tagSegment } from '../entities/link.js';
import { ApiError, badParams, forbidden, notFound, notFoundPlain } from '../errors.js';
import { downloads } from '../metrics.js';
import { canReadCode, canReadReleases, type ProjectView } from '../policy.js';
import { findLinkByFilepath } from '../store/links.js';
import { findRelease, latestRelease } from '../store/releases.js';
import type { Release } from '../store/schema.js';
import type { Ctx } from './context.js';
import { visibleProject } from './projects.js';

// Direct asset downloads and "latest release" permalinks (gitlab-behavior §8, §9): each answers
// with the place to go next, which the route sends as a 302.

/** Grape's `file_path: true`: no empty segment and no `.`/`..` segment that could climb out. */
export function validFilePath(path: string): boolean {
  const decoded = (segment: string) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      return segment;
    }
  };
  return path !== '' && path.split('/').every((s) => s !== '' && !['.', '..'].includes(decoded(s)) && !decoded(s).includes('/'));
}

/** The query of a permalink, minus `order_by` (GitLab keeps that name for later use). */
export function permalinkQuery(rawQuery: string): string {
  const name = (pair: string) => {
    const raw = pair.split('=')[0].replace(/\+/g, ' ');
    try {
      return decodeURIComponent(raw);
    } catch {
      return raw;
    }
  };
  const kept = rawQuery.split('&').filter((pair) => pair !== '' && name(pair) !== 'order_by');
  return kept.length ? `?${kept.join('&')}` : '';
}

const basePath = (externalUrl: string) => new URL(externalUrl).pathname.replace(/\/+$/, '');

/** API: read code (Reporter on a private project) → release → link with that filepath. */
export async function assetUrl(ctx: Ctx, projectRef: string, tagName: string, directAssetPath: string): Promise<string> {
  if (!validFilePath(directAssetPath)) throw badParams('direct_asset_path should be a valid file path');
  const view = await visibleProject(ctx, projectRef);
  if (!canReadCode(ctx.actor, view)) throw forbidden();
  const release = await findRelease(ctx.db, view.project.id, tagName);
  if (!release) throw notFoundPlain();
  const link = await findLinkByFilepath(ctx.db, release.id, `/${directAssetPath}`);
  if (!link) throw notFound();
  downloads.inc({ via: 'api' });
  ctx.files.counter.hit('link', link.id);
  return link.url;
}

async function latest(ctx: Ctx, view: ProjectView): Promise<Release> {
  const release = await latestRelease(ctx.db, view.project.id);
  if (!release) throw notFoundPlain();
  return release;
}

/** API: `/projects/:id/releases/permalink/latest(/suffix)` → the latest release's API path, plus suffix and query. */
export async function latestReleasePath(ctx: Ctx, projectRef: string, suffix: string, rawQuery: string): Promise<string> {
  if (suffix !== '' && !validFilePath(suffix)) throw badParams('suffix_path should be a valid file path');
  const view = await visibleProject(ctx, projectRef);
  if (!canReadCode(ctx.actor, view)) throw forbidden();
  const release = await latest(ctx, view);
  const path = `${basePath(ctx.config.externalUrl)}/api/v4/projects/${view.project.id}/releases/${encodeURIComponent(release.tag_name)}`;
  return path + (suffix ? `/${suffix}` : '') + permalinkQuery(rawQuery);
}

/** One answer for every web miss, so a hidden project's assets look exactly like nothing at all. */
export const webNotFound = () => new ApiError(404, { error: '404 Not Found' });

async function hidden<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 403)) throw webNotFound();
    throw error;
  }
}

async function readableView(ctx: Ctx, fullPath: string): Promise<ProjectView> {
  const view = await visibleProject(ctx, fullPath);
  if (!canReadReleases(ctx.actor, view)) throw forbidden();
  return view;
}

/** Web: `/<full path>/-/releases/<tag>/downloads/<filepath>` → the link's url. */
export function webAssetUrl(ctx: Ctx, fullPath: string, tagName: string, filepath: string): Promise<string> {
  return hidden(async () => {
    if (!validFilePath(filepath)) throw webNotFound();
    const view = await readableView(ctx, fullPath);
    const release = await findRelease(ctx.db, view.project.id, tagName);
    if (!release) throw webNotFound();
    const link = await findLinkByFilepath(ctx.db, release.id, `/${filepath}`);
    if (!link) throw webNotFound();
    downloads.inc({ via: 'web' });
    ctx.files.counter.hit('link', link.id);
    return link.url;
  });
}

/** Web: `/<full path>/-/releases/permalink/latest(/suffix)` → the same page of the latest release. */
export function webLatestUrl(ctx: Ctx, fullPath: string, suffix: string, rawQuery: string): Promise<string> {
  return hidden(async () => {
    if (suffix !== '' && !validFilePath(suffix)) throw webNotFound();
    const view = await readableView(ctx, fullPath);
    const release = await latest(ctx, view);
    // Escaped as in every web URL we hand out (direct_asset_url): `1.0+build` keeps its `+`.
    const web = `${ctx.config.externalUrl}/${view.project.full_path}/-/releases/${tagSegment(release.tag_name)}`;
    return web + (suffix ? `/${suffix}` : '') + permalinkQuery(rawQuery);
  });
}
