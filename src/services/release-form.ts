import { ApiError, forbidden, notFoundPlain, type FieldErrors } from '../errors.js';
import { canWriteReleases } from '../policy.js';
import { isUniqueViolation, now } from '../store/errors.js';
import * as links from '../store/links.js';
import * as releases from '../store/releases.js';
import type { ReleaseLink } from '../store/schema.js';
import { auditLink, auditRelease, linkSnapshot, releaseSnapshot } from './audit.js';
import type { Ctx } from './context.js';
import { linkFieldErrors, LINK_TYPES, MAX_LINKS_PER_RELEASE, type LinkFields } from './link-rules.js';
import { visibleProject } from './projects.js';
import { writableRelease } from './release-access.js';
import { localTime, type LinkValues, type ReleaseValues } from './release-pages.js';
import { createRelease } from './releases.js';
import { parseTime } from './calendar.js';
import { fireReleaseHooks } from './webhooks/fire.js';

// The web's new-release and edit forms. They keep the API's rules (link-rules.ts, the release
// services' checks) and its messages, but report each error beside the field it is about; an edit
// changes the release and adds, edits and removes its links in one transaction, so a form that
// fails saves nothing. Both send the Release Hook the API's create and update send (the new form
// through createRelease; the edit form fires `update` in its own transaction).

/** What a form sends; every field is text (or absent). */
export interface ReleaseFormInput {
  tag_name?: string;
  ref?: string;
  tag_message?: string;
  name?: string;
  released_at?: string;
  description?: string;
  links?: Array<{ id?: string; name?: string; url?: string; direct_asset_path?: string; link_type?: string; remove?: string }>;
}

/** A form that cannot be saved as it is: the messages per field, and what was typed. */
export class FormErrors extends Error {
  constructor(readonly errors: FieldErrors, readonly values: ReleaseValues) {
    super('the form has errors');
  }
}

/** The form's values as typed (the page shows them again beside any error). */
export function valuesOf(input: ReleaseFormInput): ReleaseValues {
  return {
    tag_name: input.tag_name ?? '',
    ref: input.ref ?? '',
    tag_message: input.tag_message ?? '',
    name: input.name ?? '',
    released_at: input.released_at ?? '',
    description: input.description ?? '',
    links: (input.links ?? []).map((l) => ({
      id: l.id || undefined,
      name: l.name ?? '',
      url: l.url ?? '',
      direct_asset_path: l.direct_asset_path ?? '',
      link_type: (LINK_TYPES as readonly string[]).includes(l.link_type ?? '') ? l.link_type! : 'other',
      remove: l.remove !== undefined && l.remove !== '',
    })),
  };
}

const isBlankRow = (l: LinkValues) => !l.id && l.name.trim() === '' && l.url.trim() === '' && l.direct_asset_path.trim() === '';

/** A datetime-local value has no zone: the page says it is UTC. Anything else ISO 8601 is taken as the API takes it. */
function releasedAt(value: string): string | null {
  const local = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value) ? `${value}Z` : value;
  return parseTime(local);
}

interface Planned {
  row: number;
  values: LinkValues;
  fields: { name: string; url: string; filepath: string | null; link_type: string };
}

/** The links the release would have: each row's errors by the API's rules, names, URLs and paths unique among them. */
function checkLinks(rows: LinkValues[], errors: FieldErrors, keep: (row: LinkValues) => boolean): Planned[] {
  const planned: Planned[] = [];
  const seen = { name: new Set<string>(), url: new Set<string>(), filepath: new Set<string>() };
  rows.forEach((values, row) => {
    if (!keep(values)) return;
    const filepath = values.direct_asset_path.trim() === '' ? null : values.direct_asset_path;
    const fields: LinkFields = { name: values.name, url: values.url, filepath };
    const taken = { name: seen.name.has(values.name), url: seen.url.has(values.url), filepath: filepath !== null && seen.filepath.has(filepath) };
    seen.name.add(values.name);
    seen.url.add(values.url);
    if (filepath !== null) seen.filepath.add(filepath);
    for (const [field, messages] of Object.entries(linkFieldErrors(fields, taken))) {
      errors[`links.${row}.${field === 'filepath' ? 'direct_asset_path' : field}`] = messages;
    }
    planned.push({ row, values, fields: { name: values.name, url: values.url, filepath, link_type: values.link_type } });
  });
  if (planned.length > MAX_LINKS_PER_RELEASE) errors.links = [`is too long (maximum is ${MAX_LINKS_PER_RELEASE} links per release)`];
  return planned;
}

/** POST of the new release form: the API's create, its errors moved beside their fields. */
export async function createFromForm(ctx: Ctx, projectRef: string, input: ReleaseFormInput) {
  const view = await visibleProject(ctx, projectRef);
  if (!canWriteReleases(ctx.actor, view)) throw forbidden();
  const values = valuesOf(input);
  const errors: FieldErrors = {};
  if (values.tag_name.trim() === '') errors.tag_name = ["can't be blank"];
  const at = values.released_at.trim() === '' ? undefined : releasedAt(values.released_at);
  if (at === null) errors.released_at = ['is invalid'];
  const planned = checkLinks(values.links, errors, (l) => !l.remove && !isBlankRow(l));
  if (Object.keys(errors).length) throw new FormErrors(errors, values);
  try {
    return await createRelease(ctx, String(view.project.id), {
      tag_name: values.tag_name,
      name: values.name.trim() === '' ? undefined : values.name,
      description: values.description,
      ref: values.ref.trim() === '' ? undefined : values.ref.trim(),
      tag_message: values.tag_message === '' ? undefined : values.tag_message,
      released_at: at ?? undefined,
      assets: { links: planned.map((p) => ({ name: p.fields.name, url: p.fields.url, direct_asset_path: p.fields.filepath ?? undefined, link_type: p.fields.link_type })) },
    });
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    const message = String(error.body.message ?? error.body.error ?? '');
    if (error.status === 409) throw new FormErrors({ tag_name: [message] }, values);
    if (error.status === 422) throw new FormErrors({ ref: [message] }, values);
    // Past the page's own check (Developer and up): a protected tag rule that does not let this user release the tag.
    if (error.status === 403) throw new FormErrors({ tag_name: ['is protected: your role may not create or release it'] }, values);
    if (error.status === 400) throw new FormErrors({ base: [message] }, values);
    throw error;
  }
}

const sameLink = (link: ReleaseLink, p: Planned) =>
  link.name === p.fields.name && link.url === p.fields.url && link.filepath === p.fields.filepath && link.link_type === p.fields.link_type;

/**
 * POST of the edit form: name, description and release date, and the links: rows with an id are
 * the release's links (changed, or removed when ticked), rows without one are new. All or nothing.
 */
export async function updateFromForm(ctx: Ctx, projectRef: string, tagName: string, input: ReleaseFormInput) {
  const { view, release } = await writableRelease(ctx, projectRef, tagName, notFoundPlain);
  const values = { ...valuesOf(input), tag_name: release.tag_name };
  const errors: FieldErrors = {};
  // The form shows the date to the minute: sent back unchanged, it keeps the seconds it had.
  const unchanged = values.released_at.trim() === '' || values.released_at === localTime(release.released_at);
  const at = unchanged ? release.released_at : releasedAt(values.released_at);
  if (at === null) errors.released_at = ['is invalid'];
  const existing = new Map((await links.linksOfReleases(ctx.db, [release.id])).map((l) => [String(l.id), l]));
  values.links.forEach((l, row) => {
    if (l.id && !existing.has(l.id)) errors[`links.${row}.name`] = ['no longer exists: it was removed meanwhile; reload the page'];
  });
  const planned = checkLinks(values.links, errors, (l) => !l.remove && !isBlankRow(l));
  if (Object.keys(errors).length) throw new FormErrors(errors, values);

  const kept = new Set(planned.map((p) => p.values.id).filter((id): id is string => id !== undefined));
  const removed = [...existing.values()].filter((l) => !kept.has(String(l.id)) && values.links.some((v) => v.id === String(l.id) && v.remove));
  const changed = planned.filter((p) => p.values.id && !sameLink(existing.get(p.values.id)!, p));
  const added = planned.filter((p) => !p.values.id);
  const projectId = view.project.id;
  try {
    await ctx.write(async (trx) => {
      const before = await releases.lockedRelease(trx, release.id);
      if (!before) throw notFoundPlain();
      const beforeSnapshot = await releaseSnapshot(trx, before);
      const stamp = now();
      // Removals first, then changes, then additions: a name or path freed by one row can be taken by another.
      for (const link of removed) {
        const gone = await links.lockedLink(trx, link.id);
        if (!gone) continue;
        await links.deleteLink(trx, link.id);
        await auditLink(trx, ctx, projectId, 'deleted', linkSnapshot(gone, release.tag_name), null);
      }
      for (const p of changed) {
        const old = await links.lockedLink(trx, Number(p.values.id));
        if (!old) throw new FormErrors({ [`links.${p.row}.name`]: ['no longer exists: it was removed meanwhile; reload the page'] }, values);
        const row = await links.updateLink(trx, old.id, { ...p.fields, updated_at: stamp });
        await auditLink(trx, ctx, projectId, 'updated', linkSnapshot(old, release.tag_name), linkSnapshot(row, release.tag_name));
      }
      for (const p of added) {
        const row = await links.insertLink(trx, { release_id: release.id, ...p.fields, created_at: stamp, updated_at: stamp });
        await auditLink(trx, ctx, projectId, 'created', null, linkSnapshot(row, release.tag_name));
      }
      if ((await links.countLinks(trx, release.id)) > MAX_LINKS_PER_RELEASE) {
        throw new FormErrors({ links: [`is too long (maximum is ${MAX_LINKS_PER_RELEASE} links per release)`] }, values);
      }
      const updated = await releases.updateRelease(trx, release.id, {
        name: values.name.trim() === '' ? before.tag_name : values.name,
        description: values.description,
        released_at: at!,
        updated_at: stamp,
      });
      await auditRelease(trx, ctx, projectId, 'updated', beforeSnapshot, await releaseSnapshot(trx, updated));
      // GitLab's edit page saves through Releases::UpdateService, which fires `update`: here one
      // event for the whole save, its payload the release and links as this transaction leaves them.
      await fireReleaseHooks(trx, ctx, view.project, updated, 'update');
    });
  } catch (error) {
    // Another change took a name, URL or path meanwhile (or rows swapped them): nothing was saved.
    if (isUniqueViolation(error)) throw new FormErrors({ links: ['has already been taken: a link name, URL or path is used twice; nothing was saved'] }, values);
    throw error;
  }
  return { tag_name: release.tag_name };
}
