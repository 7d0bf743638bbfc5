import { forbidden, notFound } from '../errors.js';
import { canReadPackages } from '../policy.js';
import { downloadCounts } from '../store/download-counts.js';
import { listLinks } from '../store/links.js';
import { findPackage, listPackageFiles } from '../store/packages.js';
import type { Page } from '../store/page.js';
import type { Ctx } from './context.js';
import { visibleProject } from './projects.js';
import { readableRelease } from './release-access.js';

// relinks' own: how often each of a release's links was followed (API and web direct asset URLs)
// and each package file downloaded. GitLab's link and package file JSON stay as they are; the
// counts have their own addresses. Counts reach the database in batches, about a second late.

export interface DownloadCount {
  downloads: number;
  last_downloaded_at: string | null;
}

const NEVER: DownloadCount = { downloads: 0, last_downloaded_at: null };

/**
 * The counts of links the caller has already been allowed to read (their release's policy was
 * checked by whoever found them), in one query however many links there are. What is still in
 * memory (services/download-counter.ts) is not in them yet: the API and the pages show the same.
 */
export async function countsOfLinks(ctx: Ctx, linkIds: number[]): Promise<(id: number) => DownloadCount> {
  const counts = await downloadCounts(ctx.db, 'link', linkIds);
  return (id) => counts.get(id) ?? NEVER;
}

export async function releaseLinkCounts(ctx: Ctx, projectRef: string, tagName: string, page: Page) {
  const { release } = await readableRelease(ctx, projectRef, tagName);
  const { rows, total } = await listLinks(ctx.db, release.id, page);
  const countOf = await countsOfLinks(ctx, rows.map((l) => l.id));
  return { items: rows.map((l) => ({ id: l.id, name: l.name, ...countOf(l.id) })), total };
}

export async function packageFileCounts(ctx: Ctx, projectRef: string, packageId: number, page: Page) {
  const view = await visibleProject(ctx, projectRef);
  if (!canReadPackages(ctx.actor, view)) throw forbidden();
  const pkg = await findPackage(ctx.db, view.project.id, packageId);
  if (!pkg) throw notFound();
  const { rows, total } = await listPackageFiles(ctx.db, pkg.id, page);
  const counts = await downloadCounts(ctx.db, 'package_file', rows.map((f) => f.id));
  return { items: rows.map((f) => ({ id: f.id, name: decodeURIComponent(f.file_name), ...(counts.get(f.id) ?? NEVER) })), total };
}
