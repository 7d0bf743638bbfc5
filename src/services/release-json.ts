import { releaseEntity } from '../entities/release.js';
import { milestoneWithStatsEntity } from '../entities/milestone.js';
import { projectWebUrl } from '../entities/link.js';
import { milestonesOfReleases } from '../store/milestones.js';
import type { MilestoneJson } from '../entities/milestone.js';
import { linksOfReleases, type LinkOrder } from '../store/links.js';
import type { Release, ReleaseLink } from '../store/schema.js';
import { findTag } from '../store/tags.js';
import { findUser } from '../store/users.js';
import type { Ctx } from './context.js';
import { renderMarkdown } from './markdown.js';

export interface ReleaseRow {
  release: Release;
  project: { id: number; full_path: string };
}

export interface PresentOptions {
  /** GitLab's `include_html_description`: adds `description_html`. */
  includeHtml?: boolean;
  /** relinks' `link_order`: GitLab's newest-first order unless `given` is asked for. */
  linkOrder?: LinkOrder;
}

/** The JSON of releases, of one project or several (a group's), with batched reads for links and authors. */
export async function presentReleases(ctx: Ctx, rows: ReleaseRow[], options: PresentOptions = {}) {
  const links = await linksOfReleases(ctx.db, rows.map((r) => r.release.id), options.linkOrder);
  const byRelease = new Map<number, ReleaseLink[]>();
  for (const l of links) byRelease.set(l.release_id, [...(byRelease.get(l.release_id) ?? []), l]);
  const authorIds = [...new Set(rows.map((r) => r.release.author_id).filter((id): id is number => id !== null))];
  const authors = new Map((await Promise.all(authorIds.map((id) => findUser(ctx.db, id)))).filter((u) => u).map((u) => [u!.id, u!]));
  const tags = await Promise.all(rows.map((r) => findTag(ctx.db, r.project.id, r.release.tag_name)));
  const milestones = new Map<number, MilestoneJson[]>();
  const webOf = new Map(rows.map((r) => [r.project.id, projectWebUrl(ctx.config.externalUrl, r.project.full_path)]));
  for (const m of await milestonesOfReleases(ctx.db, rows.map((r) => r.release.id))) {
    milestones.set(m.release_id, [...(milestones.get(m.release_id) ?? []), milestoneWithStatsEntity(m, webOf.get(m.project_id)!)]);
  }
  return rows.map(({ release, project }, i) =>
    releaseEntity({
      release,
      links: byRelease.get(release.id) ?? [],
      author: release.author_id ? authors.get(release.author_id) : undefined,
      tag: tags[i],
      projectId: project.id,
      projectFullPath: project.full_path,
      externalUrl: ctx.config.externalUrl,
      descriptionHtml: options.includeHtml ? renderMarkdown(release.description) : undefined,
      milestones: milestones.get(release.id),
    }),
  );
}
