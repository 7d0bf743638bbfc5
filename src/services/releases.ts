import { createHash } from 'node:crypto';
import { ApiError, conflict, forbidden, notFoundPlain, unprocessable, type FieldErrors } from '../errors.js';
import type { Page } from '../store/page.js';
import { canCreateTag, canReadReleases, canWriteReleases, type ProjectView } from '../policy.js';
import { isUniqueViolation, now } from '../store/errors.js';
import { listOrderedReleases, releasesByIds, releaseTags, type ReleaseOrder } from '../store/release-lists.js';
import { semverOrder } from './semver-order.js';
import { listAllProtectedTags } from '../store/protected-tags.js';
import { findProjectRelease } from '../store/release-access.js';
import * as releases from '../store/releases.js';
import type { Release, ReleaseLink } from '../store/schema.js';
import { findTag, insertTag, lockedTag } from '../store/tags.js';
import { auditRelease, releaseSnapshot } from './audit.js';
import type { Ctx } from './context.js';
import { rememberResponse } from './idempotency.js';
import { presentReleases, type PresentOptions } from './release-json.js';
import { milestonesAsked, type MilestoneParams } from './release-milestones.js';
import { timeParam } from './calendar.js';
import { insertGivenLinks, replaceLinks } from './link-replace.js';
import type { LinkOrder } from '../store/links.js';
import { setReleaseMilestones } from '../store/milestones.js';
import { filepathOf, linkFieldErrors, MAX_LINKS_PER_RELEASE, type LinkFields } from './link-rules.js';
import { jobRefFor } from './job-tokens.js';
import { visibleProject } from './projects.js';
import { assertCanChangeRelease, writableRelease } from './release-access.js';
import { fireReleaseHooks } from './webhooks/fire.js';

/** Builds the JSON of one project's releases (see release-json.ts). */
const present = (ctx: Ctx, view: ProjectView, rows: Release[], options?: PresentOptions) =>
  presentReleases(ctx, rows.map((release) => ({ release, project: view.project })), options);

export async function listReleases(ctx: Ctx, projectRef: string, page: Page, order: ReleaseOrder = {}, options: PresentOptions = {}) {
  const view = await visibleProject(ctx, projectRef);
  if (!canReadReleases(ctx.actor, view)) throw forbidden();
  if (order.orderBy === 'semver') {
    const all = semverOrder(await releaseTags(ctx.db, [view.project.id], order), order.sort);
    const rows = await releasesByIds(ctx.db, all.slice(page.offset, page.offset + page.perPage).map((r) => r.id));
    return { items: await present(ctx, view, rows, options), total: all.length };
  }
  const { rows, total } = await listOrderedReleases(ctx.db, [view.project.id], page, order);
  return { items: await present(ctx, view, rows, options), total };
}

export async function getRelease(ctx: Ctx, projectRef: string, tagName: string, options: PresentOptions = {}) {
  const view = await visibleProject(ctx, projectRef);
  if (!canReadReleases(ctx.actor, view)) throw forbidden();
  const release = await releases.findRelease(ctx.db, view.project.id, tagName);
  if (!release) throw notFoundPlain();
  return (await present(ctx, view, [release], options))[0];
}

export interface LinkInput {
  name: string;
  url: string;
  filepath?: string;
  direct_asset_path?: string;
  link_type?: string;
}

export interface CreateReleaseInput extends MilestoneParams {
  tag_name: string;
  name?: string;
  description?: string;
  ref?: string;
  tag_message?: string;
  released_at?: string;
  assets?: { links?: LinkInput[] };
  /** relinks' own: the order of the links in the answer. */
  link_order?: LinkOrder;
}

/** Checks the release's inline links against each other, with errors named like GitLab's nested ones. */
function inlineLinkErrors(links: LinkInput[]): FieldErrors {
  const errors: FieldErrors = {};
  if (links.length > MAX_LINKS_PER_RELEASE) {
    return { 'links': [`is too long (maximum is ${MAX_LINKS_PER_RELEASE} links per release)`] };
  }
  const seen = { name: new Set<string>(), url: new Set<string>(), filepath: new Set<string>() };
  for (const link of links) {
    const filepath = filepathOf(link) ?? null;
    const fields: LinkFields = { name: link.name, url: link.url, filepath };
    const taken = {
      name: seen.name.has(link.name),
      url: seen.url.has(link.url),
      filepath: filepath !== null && seen.filepath.has(filepath),
    };
    seen.name.add(link.name);
    seen.url.add(link.url);
    if (filepath !== null) seen.filepath.add(filepath);
    for (const [field, messages] of Object.entries(linkFieldErrors(fields, taken))) {
      const key = `links.${field}`;
      for (const m of messages) if (!(errors[key] ?? []).includes(m)) errors[key] = [...(errors[key] ?? []), m];
    }
  }
  return errors;
}

/** GitLab's `save!` failure: 400 with Rails' full messages, e.g. "Validation failed: Links url can't be blank". */
function validationFailed(errors: FieldErrors) {
  const human = (key: string) => {
    const words = key.replace('.', ' ').replace(/_/g, ' ');
    return words.charAt(0).toUpperCase() + words.slice(1);
  };
  const messages = Object.entries(errors).flatMap(([key, ms]) => ms.map((m) => `${human(key)} ${m}`));
  return new ApiError(400, { message: `Validation failed: ${messages.join(', ')}` });
}

/** A stand-in commit id for a tag: relinks keeps no repository, so the id is derived from the ref. */
export const targetFor = (projectId: number, ref: string) =>
  /^[0-9a-f]{40}$/.test(ref) ? ref : createHash('sha1').update(`${projectId}:${ref}`).digest('hex');

export async function createRelease(ctx: Ctx, projectRef: string, input: CreateReleaseInput) {
  const view = await visibleProject(ctx, projectRef);
  if (!canReadReleases(ctx.actor, view)) throw forbidden();
  await assertCanChangeRelease(ctx, view, input.tag_name);

  const releasedAt = timeParam('released_at', input.released_at) ?? now();
  const links = input.assets?.links ?? [];
  const errors = inlineLinkErrors(links);
  if (Object.keys(errors).length) throw validationFailed(errors);

  const projectId = view.project.id;
  if (await releases.findRelease(ctx.db, projectId, input.tag_name)) throw conflict('Release already exists');
  const existingTag = await findTag(ctx.db, projectId, input.tag_name);
  // A CI job's tag (pushed to the real repository, unseen here) is created at the job's commit.
  const ref = input.ref || jobRefFor(ctx.actor, projectId);
  // GitLab's order: an unknown milestone is refused before the tag is looked at.
  const milestones = (await milestonesAsked(ctx, projectId, input)) ?? [];
  if (!existingTag && !ref) throw unprocessable('Ref is not specified');

  const at = now();
  try {
    return await ctx.write(async (trx) => {
      // Looked at again under its lock: a tag deleted (or created) since the check above decides
      // here, so a release never outlives its tag.
      if (!(await lockedTag(trx, projectId, input.tag_name))) {
        if (!ref) throw unprocessable('Ref is not specified');
        await insertTag(trx, { project_id: projectId, name: input.tag_name, target: targetFor(projectId, ref), message: input.tag_message ?? '', created_at: at });
      }
      const release = await releases.insertRelease(trx, {
        project_id: projectId,
        tag_name: input.tag_name,
        name: input.name ?? input.tag_name,
        description: input.description ?? '',
        author_id: ctx.actor.user?.id ?? null,
        released_at: releasedAt,
        created_at: at,
        updated_at: at,
      });
      if (milestones.length) await setReleaseMilestones(trx, release.id, milestones.map((m) => m.id));
      await insertGivenLinks(trx, release.id, links, at);
      await auditRelease(trx, ctx, projectId, 'created', null, await releaseSnapshot(trx, release));
      await fireReleaseHooks(trx, ctx, view.project, release, 'create');
      // Built inside the transaction, so an Idempotency-Key can store this response with the release.
      const json = (await present({ ...ctx, db: trx }, view, [release], { linkOrder: input.link_order }))[0];
      await rememberResponse(trx, ctx, 201, json);
      return json;
    });
  } catch (error) {
    // Another request created the same release between our check and our insert.
    if (isUniqueViolation(error)) throw conflict('Release already exists');
    throw error;
  }
}

export interface UpdateReleaseInput extends MilestoneParams {
  name?: string;
  description?: string;
  released_at?: string;
  /** relinks' own: the release's links become exactly these (see link-replace.ts). */
  assets?: { links?: LinkInput[] };
  link_order?: LinkOrder;
}

/** GitLab's "params is empty": an update must name something to change (link_order only shapes the answer). */
const UPDATABLE = ['name', 'description', 'released_at', 'milestones', 'milestone_ids', 'assets'] as const;

export async function updateRelease(ctx: Ctx, projectRef: string, tagName: string, input: UpdateReleaseInput) {
  const { view, release } = await writableRelease(ctx, projectRef, tagName, notFoundPlain);
  if (UPDATABLE.every((name) => input[name] === undefined)) throw new ApiError(400, { message: 'params is empty' });
  const releasedAt = timeParam('released_at', input.released_at);
  const milestones = await milestonesAsked(ctx, view.project.id, input);
  const links = input.assets?.links;
  if (links) {
    const errors = inlineLinkErrors(links);
    if (Object.keys(errors).length) throw validationFailed(errors);
  }
  return ctx.write(async (trx) => {
    // Deleted since we looked it up: 404, not a failed UPDATE.
    const before = await releases.lockedRelease(trx, release.id);
    if (!before) throw notFoundPlain();
    const beforeSnapshot = await releaseSnapshot(trx, before);
    const at = now();
    const row = await releases.updateRelease(trx, release.id, {
      name: input.name ?? before.name,
      description: input.description ?? before.description,
      released_at: releasedAt ?? before.released_at,
      updated_at: at,
    });
    if (milestones) await setReleaseMilestones(trx, release.id, milestones.map((m) => m.id));
    if (links) await replaceLinks(trx, release.id, links, at);
    // One event, whose before and after list the links, as a create's and a delete's do.
    await auditRelease(trx, ctx, view.project.id, 'updated', beforeSnapshot, await releaseSnapshot(trx, row));
    await fireReleaseHooks(trx, ctx, view.project, row, 'update');
    // Built inside the transaction, so an Idempotency-Key can store this response with the change.
    const json = (await present({ ...ctx, db: trx }, view, [row], { linkOrder: input.link_order }))[0];
    await rememberResponse(trx, ctx, 200, json);
    return json;
  });
}

export async function deleteRelease(ctx: Ctx, projectRef: string, tagName: string) {
  const { view, release } = await writableRelease(ctx, projectRef, tagName, notFoundPlain);
  return ctx.write(async (trx) => {
    const before = await releases.lockedReleaseAndLinks(trx, release.id);
    // Already gone: a concurrent delete removed it (and answered for it); this one is too late.
    if (!before) throw notFoundPlain();
    // Read under the locks, so the answer lists exactly the links the delete takes along, even a
    // link created a moment before (link creates take the release's lock).
    const json = (await present({ ...ctx, db: trx }, view, [before]))[0];
    const beforeSnapshot = await releaseSnapshot(trx, before);
    await fireReleaseHooks(trx, ctx, view.project, before, 'delete');
    await releases.deleteRelease(trx, release.id);
    await auditRelease(trx, ctx, view.project.id, 'deleted', beforeSnapshot, null);
    return json;
  });
}
