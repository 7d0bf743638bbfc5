import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { sendCreated } from '../http/idempotency.js';
import { paginationQuery, sendPage } from '../http/pagination.js';
import * as releases from '../services/releases.js';
import { LinkBody, ProjectParams, ReleaseParams } from './schemas.js';
import { conflict, paged, Release, unprocessable } from './responses.js';
import { facts } from '../http/route-facts.js';
import type { RouteDeps } from './deps.js';

const ListQuery = Type.Object(paginationQuery);

const CreateBody = Type.Object({
  tag_name: Type.String(),
  name: Type.Optional(Type.String()),
  description: Type.Optional(Type.String()),
  ref: Type.Optional(Type.String()),
  tag_message: Type.Optional(Type.String()),
  released_at: Type.Optional(Type.String()),
  assets: Type.Optional(Type.Object({ links: Type.Optional(Type.Array(LinkBody)) })),
});

const UpdateBody = Type.Object({
  name: Type.Optional(Type.String()),
  description: Type.Optional(Type.String()),
  released_at: Type.Optional(Type.String()),
});

export default async function releaseRoutes(app: FastifyInstance, { config }: RouteDeps) {
  app.get<{ Params: ProjectParams; Querystring: Static<typeof ListQuery> }>(
    '/projects/:id/releases',
    { config: facts.jobRead, schema: { summary: 'List releases, newest first', tags: ['Releases'], params: ProjectParams, querystring: ListQuery, response: { 200: paged(Release) } } },
    async (request, reply) => sendPage(request, reply, config.externalUrl, (page) => releases.listReleases(request.ctx, request.params.id, page)),
  );

  app.post<{ Params: ProjectParams; Body: Static<typeof CreateBody> }>(
    '/projects/:id/releases',
    {
      config: facts.releaseWrite,
      schema: {
        summary: 'Create a release (and its tag, and inline links)',
        tags: ['Releases'],
        params: ProjectParams,
        body: CreateBody,
        response: {
          201: Release,
          409: conflict('Release already exists, or a request with this Idempotency-Key (relinks) is still being processed'),
          422: unprocessable('Ref is not specified (a new tag needs one), or the Idempotency-Key (relinks) was used with different parameters'),
        },
      },
    },
    async (request, reply) => sendCreated(request, reply, (ctx) => releases.createRelease(ctx, request.params.id, request.body)),
  );

  app.get<{ Params: ReleaseParams }>('/projects/:id/releases/:tag_name', { config: facts.jobRead, schema: { summary: 'Get a release', tags: ['Releases'], params: ReleaseParams, response: { 200: Release } } }, async (request) =>
    releases.getRelease(request.ctx, request.params.id, request.params.tag_name),
  );

  app.put<{ Params: ReleaseParams; Body: Static<typeof UpdateBody> }>(
    '/projects/:id/releases/:tag_name',
    { config: facts.releaseWrite, schema: { summary: 'Update a release', tags: ['Releases'], params: ReleaseParams, body: UpdateBody, response: { 200: Release } } },
    async (request) => releases.updateRelease(request.ctx, request.params.id, request.params.tag_name, request.body),
  );

  app.delete<{ Params: ReleaseParams }>('/projects/:id/releases/:tag_name', { config: facts.releaseRemove, schema: { summary: 'Delete a release and its links (200 with the release)', tags: ['Releases'], params: ReleaseParams, response: { 200: Release } } }, async (request) =>
    releases.deleteRelease(request.ctx, request.params.id, request.params.tag_name),
  );
}
