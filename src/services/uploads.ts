import { randomBytes } from 'node:crypto';
import { uploadEntity, uploadListEntity } from '../entities/upload.js';
import { forbidden, notFound, unauthorized } from '../errors.js';
import { canDeleteUploads, canReadUploads, canUploadFiles, type ProjectView } from '../policy.js';
import type { Page } from '../store/page.js';
import { deleteUploadRow, findUpload, findUploadBySecret, insertUpload, listUploads } from '../store/uploads.js';
import { record } from './audit.js';
import type { Ctx } from './context.js';
import { openContent, storeContent } from './files.js';
import type { ServedFile } from './packages.js';
import { visibleProject } from './projects.js';

// Project uploads (POST /projects/:id/uploads): files a release's description or links point at,
// served under an unguessable `/uploads/<secret>/<name>`.

/** CarrierWave's rule, as GitLab applies it: anything but word characters, `.`, `-`, `+` becomes `_`. */
export const sanitizeFilename = (name: string): string => {
  const base = name.split(/[\\/]/).pop() ?? '';
  const clean = base.replace(/[^\p{L}\p{M}\p{N}\p{Pc}.+-]/gu, '_');
  return /^\.*$/.test(clean) ? '' : clean;
};

export async function uploadableProject(ctx: Ctx, projectRef: string): Promise<ProjectView> {
  // GitLab authenticates every write before it looks at the project.
  if (!ctx.actor.user) throw unauthorized();
  const view = await visibleProject(ctx, projectRef);
  if (!canUploadFiles(ctx.actor, view)) throw forbidden();
  return view;
}

export async function uploadFile(ctx: Ctx, view: ProjectView, filename: string, body: AsyncIterable<Buffer>) {
  const upload = await storeContent(ctx.write, ctx.files, body, ctx.config.maxUploadSize, async (trx, content) => {
    const created = await insertUpload(trx, {
      project_id: view.project.id,
      secret: randomBytes(16).toString('hex'),
      filename,
      size: content.size,
      sha256: content.sha256,
      uploaded_by: ctx.actor.user?.id ?? null,
    });
    await record(trx, ctx, view.project.id, {
      name: 'upload_created',
      targetType: 'Upload',
      targetId: created.id,
      targetDetails: filename,
      before: null,
      after: { filename, size: content.size, sha256: content.sha256 },
    });
    return created;
  });
  return uploadEntity(upload);
}

async function served(ctx: Ctx, upload: { id: number; sha256: string; filename: string } | undefined): Promise<ServedFile> {
  if (!upload) throw notFound();
  const content = await openContent(ctx.db, ctx.files, upload.sha256);
  if (!content) throw notFound();
  return { content, fileName: upload.filename, sha256: upload.sha256 };
}

/** The web path `/uploads/<secret>/<filename>`: whoever may see the project may fetch it. */
export async function uploadBySecret(ctx: Ctx, projectRef: string, secret: string, filename: string): Promise<ServedFile> {
  const view = await visibleProject(ctx, projectRef);
  if (!canReadUploads(ctx.actor, view)) throw notFound();
  return served(ctx, await findUploadBySecret(ctx.db, view.project.id, secret, filename));
}

async function administrable(ctx: Ctx, projectRef: string): Promise<ProjectView> {
  const view = await visibleProject(ctx, projectRef);
  if (!canDeleteUploads(ctx.actor, view)) throw forbidden();
  return view;
}

export async function listProjectUploads(ctx: Ctx, projectRef: string, sort: 'asc' | 'desc', page: Page) {
  const view = await administrable(ctx, projectRef);
  const { rows, total } = await listUploads(ctx.db, view.project.id, page, sort);
  const ids = [...new Set(rows.map((r) => r.uploaded_by).filter((id): id is number => id !== null))];
  const users = ids.length ? await ctx.db.selectFrom('users').select(['id', 'username', 'name']).where('id', 'in', ids).execute() : [];
  const byId = new Map(users.map((u) => [u.id, u]));
  return { items: rows.map((u) => uploadListEntity(u, u.uploaded_by === null ? null : (byId.get(u.uploaded_by) ?? null))), total };
}

export async function uploadById(ctx: Ctx, projectRef: string, id: number): Promise<ServedFile> {
  const view = await administrable(ctx, projectRef);
  return served(ctx, await findUpload(ctx.db, view.project.id, id));
}

export async function deleteUpload(ctx: Ctx, projectRef: string, id: number): Promise<void> {
  const view = await administrable(ctx, projectRef);
  const upload = await findUpload(ctx.db, view.project.id, id);
  if (!upload) throw notFound();
  await ctx.write(async (trx) => {
    await deleteUploadRow(trx, upload.id);
    await record(trx, ctx, view.project.id, {
      name: 'upload_destroyed',
      targetType: 'Upload',
      targetId: upload.id,
      targetDetails: upload.filename,
      before: { filename: upload.filename, size: Number(upload.size), sha256: upload.sha256 },
      after: null,
    });
  });
}
