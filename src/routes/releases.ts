import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { sendCreated } from '../http/idempotency.js';
import { paginationQuery, sendPage } from '../http/pagination.js';
import * as releases from '../services/releases.js';
import { LinkBody, ProjectParams, ReleaseParams, StringEnum } from './schemas.js';
import { conflict, paged, Release, unprocessable } from './responses.js';
import { facts } from '../http/route-facts.js';
import { badParams } from '../errors.js';
import type { RouteDeps } from './deps.js';

/** ISO 8601, a date or a date and time (GitLab's DateTime parameters); anything else is "<name> is invalid". */
const IsoTime = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}([T ]\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?(Z|[+-]\\d{2}(:?\\d{2})?)?)?$' });

const ListQuery = Type.Object({
  ...paginationQuery,
  order_by: Type.Optional(Type.Unsafe<'released_at' | 'created_at' | 'semver'>({
    type: 'string',
    enum: ['released_at', 'created_at', 'semver'],
    description: '`semver` is relinks\' own: stable versions by semver precedence, then pre-releases, then tags that are no version',
  })),
  sort: Type.Optional(StringEnum(['asc', 'desc'] as const)),
  updated_before: Type.Optional(IsoTime),
  updated_after: Type.Optional(IsoTime),
  include_html_description: Type.Optional(Type.Boolean()),
});
const ShowQuery = Type.Object({ include_html_description: Type.Optional(Type.Boolean()) });

const CreateBody = Type.Object({
  tag_name: Type.String(),
  name: Type.Optional(Type.String()),
  description: Type.Optional(Type.String()),
  ref: Type.Optional(Type.String()),
  tag_message: Type.Optional(Type.String()),
  released_at: Type.Optional(Type.String()),
  assets: Type.Optional(Type.Object({ links: Type.Optional(Type.Array(LinkBody)) })),
  milestones: Type.Optional(Type.Array(Type.String(), { description: 'Titles of the project\'s milestones' })),
});

const UpdateBody = Type.Object({
  name: Type.Optional(Type.String()),
  description: Type.Optional(Type.String()),
  released_at: Type.Optional(Type.String()),
  milestones: Type.Optional(Type.Array(Type.String(), { description: 'Replaces the milestones; [] removes them' })),
});

/** The schema checked the form, not the calendar (2024-02-31); stored times are UTC ISO strings, so compare in that form. */
export function isoParam(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const time = new Date(value.replace(' ', 'T'));
  if (Number.isNaN(time.getTime())) throw badParams(`${name} is invalid`);
  return time.toISOString();
}

export default async function releaseRoutes(instance: FastifyInstance, { config }: RouteDeps) {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/projects/:id/releases',
    { config: facts.jobRead, schema: { summary: 'List releases, newest first', tags: ['Releases'], params: ProjectParams, querystring: ListQuery, response: { 200: paged(Release) } } },
    async (request, reply) => {
      const { query } = request;
      const order = { orderBy: query.order_by, sort: query.sort, updatedBefore: isoParam('updated_before', query.updated_before), updatedAfter: isoParam('updated_after', query.updated_after) };
      return sendPage(request, reply, config.externalUrl, (page) => releases.listReleases(request.ctx, request.params.id, page, order, { includeHtml: query.include_html_description }));
    },
  );

  app.post(
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

  app.get('/projects/:id/releases/:tag_name', { config: facts.jobRead, schema: { summary: 'Get a release', tags: ['Releases'], params: ReleaseParams, querystring: ShowQuery, response: { 200: Release } } }, async (request) =>
    releases.getRelease(request.ctx, request.params.id, request.params.tag_name, { includeHtml: request.query.include_html_description }),
  );

  app.put(
    '/projects/:id/releases/:tag_name',
    { config: facts.releaseWrite, schema: { summary: 'Update a release', tags: ['Releases'], params: ReleaseParams, body: UpdateBody, response: { 200: Release } } },
    async (request) => releases.updateRelease(request.ctx, request.params.id, request.params.tag_name, request.body),
  );

  app.delete('/projects/:id/releases/:tag_name', { config: facts.releaseRemove, schema: { summary: 'Delete a release and its links (200 with the release)', tags: ['Releases'], params: ReleaseParams, response: { 200: Release } } }, async (request) =>
    releases.deleteRelease(request.ctx, request.params.id, request.params.tag_name),
  );
}
