import { invalid, notFound } from '../errors.js';
import { linkContext, linkEntity, type LinkContext } from '../entities/link.js';
import type { Page } from '../store/page.js';
import { isUniqueViolation, now, violates } from '../store/errors.js';
import { lockedRelease } from '../store/releases.js';
import * as links from '../store/links.js';
import type { ReleaseLink } from '../store/schema.js';
import { auditLink, linkSnapshot } from './audit.js';
import type { Ctx } from './context.js';
import { rememberResponse } from './idempotency.js';
import { filepathOf, linkFieldErrors, MAX_LINKS_PER_RELEASE, type LinkFields } from './link-rules.js';
import { readableRelease, writableRelease, type ReleaseAccess } from './release-access.js';

const contextOf = (ctx: Ctx, { view, release }: ReleaseAccess): LinkContext =>
  linkContext(ctx.config.externalUrl, view.project.full_path, release.tag_name);

/** The link uniqueness rule (name, url, filepath within a release), checked before writing for
 * GitLab's full error list, and enforced by unique indexes for requests that race. */
async function assertValid(ctx: Ctx, releaseId: number, fields: LinkFields, exceptId?: number): Promise<void> {
  const clashes = await links.findClashes(ctx.db, releaseId, fields, exceptId);
  const taken = {
    name: fields.name !== undefined && clashes.some((c) => c.name === fields.name),
    url: fields.url !== undefined && clashes.some((c) => c.url === fields.url),
    filepath: fields.filepath != null && clashes.some((c) => c.filepath === fields.filepath),
  };
  const errors = linkFieldErrors(fields, taken);
  if (Object.keys(errors).length) throw invalid(errors);
}

/**
 * A unique index stopped a write that raced another one. That one is committed by now (PostgreSQL
 * waits for it before reporting; SQLite writers take turns), so the clash check sees it and the
 * answer is GitLab's full error list, the same body as when the requests come one after another.
 */
async function raceError(ctx: Ctx, releaseId: number, fields: LinkFields, error: unknown, exceptId?: number): Promise<unknown> {
  if (!isUniqueViolation(error)) return error;
  try {
    await assertValid(ctx, releaseId, fields, exceptId);
  } catch (clash) {
    return clash;
  }
  // The other write is gone again (deleted meanwhile): name the index that stopped this one.
  for (const field of ['url', 'name', 'filepath']) {
    if (violates(error, 'release_links', field)) return invalid({ [field]: ['has already been taken'] });
  }
  return error;
}

export async function listLinks(ctx: Ctx, projectRef: string, tagName: string, page: Page, order?: links.LinkOrder) {
  const access = await readableRelease(ctx, projectRef, tagName);
  const { rows, total } = await links.listLinks(ctx.db, access.release.id, page, order);
  const lc = contextOf(ctx, access);
  return { items: rows.map((l) => linkEntity(l, lc)), total };
}

/** The link asked for with the release (readableRelease's linkId), or 404. */
function existingLink(access: ReleaseAccess): ReleaseLink {
  if (!access.link) throw notFound();
  return access.link;
}

export async function getLink(ctx: Ctx, projectRef: string, tagName: string, linkId: number) {
  const access = await readableRelease(ctx, projectRef, tagName, notFound, linkId);
  return linkEntity(existingLink(access), contextOf(ctx, access));
}

export interface LinkParams {
  name?: string;
  url?: string;
  filepath?: string;
  direct_asset_path?: string;
  link_type?: string;
}

export async function createLink(ctx: Ctx, projectRef: string, tagName: string, params: Required<Pick<LinkParams, 'name' | 'url'>> & LinkParams) {
  const access = await writableRelease(ctx, projectRef, tagName);
  const fields = { name: params.name, url: params.url, filepath: filepathOf(params) ?? null };
  await assertValid(ctx, access.release.id, fields);
  const at = now();
  try {
    return await ctx.write(async (trx) => {
      // Counted under the release's row lock, so creates racing at link 999 cannot pass 1,000
      // together; a release deleted meanwhile is gone (404), not a foreign-key error.
      if (!(await lockedRelease(trx, access.release.id))) throw notFound();
      if ((await links.countLinks(trx, access.release.id)) >= MAX_LINKS_PER_RELEASE) {
        throw invalid({ base: [`Release can have at most ${MAX_LINKS_PER_RELEASE} links`] });
      }
      const link = await links.insertLink(trx, {
        release_id: access.release.id,
        ...fields,
        link_type: params.link_type ?? 'other',
        created_at: at,
        updated_at: at,
      });
      await auditLink(trx, ctx, access.view.project.id, 'created', null, linkSnapshot(link, access.release.tag_name));
      const json = linkEntity(link, contextOf(ctx, access));
      await rememberResponse(trx, ctx, 201, json);
      return json;
    });
  } catch (error) {
    throw await raceError(ctx, access.release.id, fields, error);
  }
}

export async function updateLink(ctx: Ctx, projectRef: string, tagName: string, linkId: number, params: LinkParams) {
  const access = await writableRelease(ctx, projectRef, tagName, notFound, linkId);
  const link = existingLink(access);
  const fields: LinkFields = { name: params.name, url: params.url, filepath: filepathOf(params) };
  await assertValid(ctx, access.release.id, fields, link.id);
  try {
    const updated = await ctx.write(async (trx) => {
      // Deleted (with its release, or alone) since we looked it up: 404, not a failed UPDATE.
      const before = await links.lockedLink(trx, link.id);
      if (!before) throw notFound();
      const row = await links.updateLink(trx, link.id, {
        ...(fields.name !== undefined ? { name: fields.name } : {}),
        ...(fields.url !== undefined ? { url: fields.url } : {}),
        ...(fields.filepath !== undefined ? { filepath: fields.filepath } : {}),
        // Ours: an update without link_type keeps the type (GitLab resets it to "other").
        ...(params.link_type !== undefined ? { link_type: params.link_type } : {}),
        updated_at: now(),
      });
      const tag = access.release.tag_name;
      await auditLink(trx, ctx, access.view.project.id, 'updated', linkSnapshot(before, tag), linkSnapshot(row, tag));
      return row;
    });
    return linkEntity(updated, contextOf(ctx, access));
  } catch (error) {
    throw await raceError(ctx, access.release.id, fields, error, link.id);
  }
}

export async function deleteLink(ctx: Ctx, projectRef: string, tagName: string, linkId: number) {
  const access = await writableRelease(ctx, projectRef, tagName, notFound, linkId);
  const link = existingLink(access);
  const deleted = await ctx.write(async (trx) => {
    const before = await links.lockedLink(trx, link.id);
    // Already gone: a concurrent delete removed it (and answered for it); this one is too late.
    if (!before) throw notFound();
    await links.deleteLink(trx, link.id);
    await auditLink(trx, ctx, access.view.project.id, 'deleted', linkSnapshot(before, access.release.tag_name), null);
    return before;
  });
  // The link as it was when deleted, even if an update landed since it was first read.
  return linkEntity(deleted, contextOf(ctx, access));
}
