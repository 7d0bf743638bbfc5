import { packageEntity, packageFileEntity, uploadedPackageFileEntity, type PackagePaths } from '../entities/package.js';
import { forbidden, notFound, unauthorized } from '../errors.js';
import { canDestroyPackages, canPublishPackages, canReadPackages, type ProjectView } from '../policy.js';
import type { Page } from '../store/page.js';
import {
  deletePackageFileRow,
  deletePackageRow,
  findPackage,
  findPackageByVersion,
  findPackageFile,
  insertPackageFile,
  listPackageFiles,
  listPackages,
  newestPackageFile,
  otherVersions,
  upsertPackage,
  type PackageFilter,
} from '../store/packages.js';
import { record } from './audit.js';
import type { Ctx } from './context.js';
import { openContent, storeContent, type OpenedContent } from './files.js';
import { visibleProject } from './projects.js';

// GitLab's generic packages (files under a name and version) and the packages API that lists and
// deletes them. Only the generic type exists here.

export interface GenericFileRef {
  name: string;
  version: string;
  /** GitLab's encoded file name: `dir%2Ffile.bin` when the upload had a path. */
  fileName: string;
}

const apiBase = (ctx: Ctx) => `${ctx.config.externalUrl}/api/v4`;
const pathsFor = (ctx: Ctx, view: ProjectView): PackagePaths => ({
  projectPath: `/${view.project.full_path}`,
  apiBase: apiBase(ctx),
  canDestroy: canDestroyPackages(ctx.actor, view),
});

export const genericFileUrl = (ctx: Ctx, projectId: number, ref: GenericFileRef) =>
  `${apiBase(ctx)}/projects/${projectId}/packages/generic/${encodeURIComponent(ref.name)}/${encodeURIComponent(ref.version)}/${decodeURIComponent(ref.fileName).split('/').map(encodeURIComponent).join('/')}`;

async function readable(ctx: Ctx, projectRef: string): Promise<ProjectView> {
  const view = await visibleProject(ctx, projectRef);
  if (!canReadPackages(ctx.actor, view)) throw forbidden();
  return view;
}

/** Checked before a byte of the body is read: who may publish, into which project. */
export async function publishableProject(ctx: Ctx, projectRef: string): Promise<ProjectView> {
  // GitLab authenticates every write before it looks at the project.
  if (!ctx.actor.user) throw unauthorized();
  const view = await visibleProject(ctx, projectRef);
  if (!canPublishPackages(ctx.actor, view)) throw forbidden();
  return view;
}

export async function publishGenericFile(ctx: Ctx, view: ProjectView, ref: GenericFileRef, status: 'default' | 'hidden' | undefined, body: AsyncIterable<Buffer>) {
  const file = await storeContent(ctx.write, ctx.files, body, ctx.config.maxPackageFileSize, async (trx, content) => {
    const pkg = await upsertPackage(trx, { project_id: view.project.id, name: ref.name, version: ref.version, package_type: 'generic', status });
    const created = await insertPackageFile(trx, { package_id: pkg.id, file_name: ref.fileName, size: content.size, file_sha256: content.sha256 });
    await record(trx, ctx, view.project.id, {
      name: 'package_file_created',
      targetType: 'Packages::PackageFile',
      targetId: created.id,
      targetDetails: `${ref.name}/${ref.version}/${ref.fileName}`,
      before: null,
      after: { package_id: pkg.id, file_name: ref.fileName, size: content.size, file_sha256: content.sha256 },
    });
    return created;
  });
  return uploadedPackageFileEntity(file, genericFileUrl(ctx, view.project.id, ref));
}

export interface ServedFile {
  content: OpenedContent;
  fileName: string;
  sha256: string;
}

/** The newest file of that name in the package; counted as a download. */
export async function genericFile(ctx: Ctx, projectRef: string, ref: GenericFileRef, count: boolean): Promise<ServedFile> {
  const view = await readable(ctx, projectRef);
  const pkg = await findPackageByVersion(ctx.db, view.project.id, 'generic', ref.name, ref.version);
  if (!pkg) throw notFound();
  const file = await newestPackageFile(ctx.db, pkg.id, ref.fileName);
  if (!file) throw notFound();
  const content = await openContent(ctx.db, ctx.files, file.file_sha256);
  if (!content) throw notFound();
  if (count) ctx.files.counter.hit('package_file', file.id);
  return { content, fileName: decodeURIComponent(ref.fileName).split('/').pop()!, sha256: file.file_sha256 };
}

export async function listProjectPackages(ctx: Ctx, projectRef: string, filter: PackageFilter, page: Page) {
  const view = await readable(ctx, projectRef);
  const { rows, total } = await listPackages(ctx.db, view.project.id, filter, page);
  const paths = pathsFor(ctx, view);
  return { items: rows.map((p) => packageEntity(p, paths)), total };
}

async function packageOf(ctx: Ctx, view: ProjectView, packageId: number) {
  const pkg = await findPackage(ctx.db, view.project.id, packageId);
  if (!pkg) throw notFound();
  return pkg;
}

export async function getPackage(ctx: Ctx, projectRef: string, packageId: number) {
  const view = await readable(ctx, projectRef);
  const pkg = await packageOf(ctx, view, packageId);
  return packageEntity(pkg, pathsFor(ctx, view), await otherVersions(ctx.db, pkg));
}

export async function listFilesOfPackage(ctx: Ctx, projectRef: string, packageId: number, page: Page) {
  const view = await readable(ctx, projectRef);
  const pkg = await packageOf(ctx, view, packageId);
  const { rows, total } = await listPackageFiles(ctx.db, pkg.id, page);
  return { items: rows.map(packageFileEntity), total };
}

async function destroyable(ctx: Ctx, projectRef: string): Promise<ProjectView> {
  const view = await readable(ctx, projectRef);
  if (!canDestroyPackages(ctx.actor, view)) throw forbidden();
  return view;
}

/** The rows go now; the bytes when the sweeper finds nothing names them. */
export async function deletePackage(ctx: Ctx, projectRef: string, packageId: number): Promise<void> {
  const view = await destroyable(ctx, projectRef);
  const pkg = await packageOf(ctx, view, packageId);
  await ctx.write(async (trx) => {
    const files = await deletePackageRow(trx, pkg.id);
    await record(trx, ctx, view.project.id, {
      name: 'package_destroyed',
      targetType: 'Packages::Package',
      targetId: pkg.id,
      targetDetails: `${pkg.name}/${pkg.version}`,
      before: { name: pkg.name, version: pkg.version, package_type: pkg.package_type, files },
      after: null,
    });
  });
}

export async function deletePackageFile(ctx: Ctx, projectRef: string, packageId: number, fileId: number): Promise<void> {
  const view = await destroyable(ctx, projectRef);
  const pkg = await packageOf(ctx, view, packageId);
  const file = await findPackageFile(ctx.db, pkg.id, fileId);
  if (!file) throw notFound();
  await ctx.write(async (trx) => {
    await deletePackageFileRow(trx, file.id);
    await record(trx, ctx, view.project.id, {
      name: 'package_file_destroyed',
      targetType: 'Packages::PackageFile',
      targetId: file.id,
      targetDetails: `${pkg.name}/${pkg.version}/${file.file_name}`,
      before: { package_id: pkg.id, file_name: file.file_name, size: Number(file.size), file_sha256: file.file_sha256 },
      after: null,
    });
  });
}

