import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { paginationQuery, sendPage } from '../http/pagination.js';
import { facts } from '../http/route-facts.js';
import { sendNoContent } from '../http/no-content.js';
import * as packages from '../services/packages.js';
import { Package, PackageFile } from './file-responses.js';
import { NoContent, error, paged } from './responses.js';
import { Id, ProjectParams, StringEnum } from './schemas.js';
import type { RouteDeps } from './deps.js';

// GitLab's packages API: list, show and delete a project's packages and their files.

/** Every type GitLab knows, so a filter that names another registry is valid (and finds nothing here). */
const PACKAGE_TYPES = ['maven', 'npm', 'conan', 'nuget', 'pypi', 'composer', 'generic', 'golang', 'debian', 'rubygems', 'helm', 'terraform_module', 'rpm', 'ml_model'] as const;
const STATUSES = ['default', 'hidden', 'processing', 'error', 'pending_destruction', 'deprecated'] as const;

const ListQuery = Type.Object({
  ...paginationQuery,
  order_by: Type.Optional(StringEnum(['created_at', 'name', 'version', 'type'] as const)),
  sort: Type.Optional(StringEnum(['asc', 'desc'] as const)),
  package_type: Type.Optional(StringEnum(PACKAGE_TYPES)),
  package_name: Type.Optional(Type.String()),
  package_version: Type.Optional(Type.String()),
  include_versionless: Type.Optional(Type.Boolean()),
  status: Type.Optional(StringEnum(STATUSES)),
});
const PackageParams = Type.Object({ id: Type.String(), package_id: Id });
const FileParams = Type.Object({ id: Type.String(), package_id: Id, package_file_id: Id });
const notFound = error('Not found: the project, package or file');

export default async function packageRoutes(instance: FastifyInstance, { config }: RouteDeps) {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/projects/:id/packages',
    { config: facts.packageRead, schema: { summary: "List a project's packages (hidden ones only with status=hidden)", tags: ['Packages'], params: ProjectParams, querystring: ListQuery, response: { 200: paged(Package), 403: error('Forbidden') } } },
    async (request, reply) => {
      const q = request.query;
      const filter = { package_type: q.package_type, package_name: q.package_name, package_version: q.package_version, status: q.status, order_by: q.order_by ?? 'created_at', sort: q.sort ?? 'asc' } as const;
      return sendPage(request, reply, config.externalUrl, (page) => packages.listProjectPackages(request.ctx, request.params.id, filter, page));
    },
  );
  app.get(
    '/projects/:id/packages/:package_id',
    { config: facts.packageRead, schema: { summary: 'Get a package, with its other versions', tags: ['Packages'], params: PackageParams, response: { 200: Package, 403: error('Forbidden'), 404: notFound } } },
    async (request) => packages.getPackage(request.ctx, request.params.id, request.params.package_id),
  );
  app.get(
    '/projects/:id/packages/:package_id/package_files',
    { config: facts.packageRead, schema: { summary: "List a package's files", tags: ['Packages'], params: PackageParams, querystring: Type.Object(paginationQuery), response: { 200: paged(PackageFile), 403: error('Forbidden'), 404: notFound } } },
    async (request, reply) =>
      sendPage(request, reply, config.externalUrl, (page) => packages.listFilesOfPackage(request.ctx, request.params.id, request.params.package_id, page)),
  );
  app.delete(
    '/projects/:id/packages/:package_id',
    { config: facts.packageRemove, schema: { summary: 'Delete a package and its files (Maintainer and up)', tags: ['Packages'], params: PackageParams, response: { 204: NoContent, 403: error('Forbidden: Maintainer and up delete packages'), 404: notFound } } },
    async (request, reply) => {
      await packages.deletePackage(request.ctx, request.params.id, request.params.package_id);
      return sendNoContent(reply);
    },
  );
  app.delete(
    '/projects/:id/packages/:package_id/package_files/:package_file_id',
    { config: facts.packageRemove, schema: { summary: 'Delete one package file (Maintainer and up)', tags: ['Packages'], params: FileParams, response: { 204: NoContent, 403: error('Forbidden: Maintainer and up delete packages'), 404: notFound } } },
    async (request, reply) => {
      await packages.deletePackageFile(request.ctx, request.params.id, request.params.package_id, request.params.package_file_id);
      return sendNoContent(reply);
    },
  );
}
