import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { paginationQuery, sendPage } from '../http/pagination.js';
import { facts } from '../http/route-facts.js';
import * as counts from '../services/download-counts.js';
import { DownloadCount } from './file-responses.js';
import { RELINKS_OWN, error, paged } from './responses.js';
import { Id, ReleaseParams } from './schemas.js';
import type { RouteDeps } from './deps.js';

// relinks' own: download counts of a release's links and of a package's files (docs/files.md).

const Query = Type.Object(paginationQuery);

export default async function downloadCountRoutes(instance: FastifyInstance, { config }: RouteDeps) {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/projects/:id/releases/:tag_name/assets/download_counts',
    {
      config: facts.jobRead,
      schema: {
        summary: "How often each of the release's links was followed through its direct asset URL (relinks' own)",
        tags: ['Downloads'],
        params: ReleaseParams,
        querystring: Query,
        response: { 200: paged(DownloadCount), 403: error('Forbidden'), 404: error('Not found: the project or release') },
        ...RELINKS_OWN,
      },
    },
    async (request, reply) => sendPage(request, reply, config.externalUrl, (page) => counts.releaseLinkCounts(request.ctx, request.params.id, request.params.tag_name, page)),
  );
  app.get(
    '/projects/:id/packages/:package_id/download_counts',
    {
      config: facts.packageRead,
      schema: {
        summary: "How often each of the package's files was downloaded (relinks' own)",
        tags: ['Packages'],
        params: Type.Object({ id: Type.String(), package_id: Id }),
        querystring: Query,
        response: { 200: paged(DownloadCount), 403: error('Forbidden'), 404: error('Not found: the project or package') },
        ...RELINKS_OWN,
      },
    },
    async (request, reply) => sendPage(request, reply, config.externalUrl, (page) => counts.packageFileCounts(request.ctx, request.params.id, request.params.package_id, page)),
  );
}
