import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { sendCreated, sendIdempotent } from '../http/idempotency.js';
import { paginationQuery, sendPage } from '../http/pagination.js';
import * as releases from '../services/releases.js';
import { DateTimeParam, LinkBody, LinkOrderParam, ProjectParams, ReleaseParams, StringEnum } from './schemas.js';
import { conflict, idempotencyBusy, idempotencyReused, paged, Release, RELINKS_OWN, unprocessable } from './responses.js';
import { facts } from '../http/route-facts.js';
import { timeParam } from '../services/calendar.js';
import type { RouteDeps } from './deps.js';

const ListQuery = Type.Object({
  ...paginationQuery,
  order_by: Type.Optional(Type.Unsafe<'released_at' | 'created_at' | 'semver'>({
    type: 'string',
    enum: ['released_at', 'created_at', 'semver'],
    description: '`semver` is relinks\' own: stable versions by semver precedence, then pre-releases, then tags that are no version',
  })),
  sort: Type.Optional(StringEnum(['asc', 'desc'] as const)),
  updated_before: Type.Optional(DateTimeParam('Releases updated before this time (ISO 8601)')),
  updated_after: Type.Optional(DateTimeParam('Releases updated after this time (ISO 8601)')),
  include_html_description: Type.Optional(Type.Boolean()),
  link_order: Type.Optional(LinkOrderParam),
});
const ShowQuery = Type.Object({ include_html_description: Type.Optional(Type.Boolean()), link_order: Type.Optional(LinkOrderParam) });

// GitLab takes milestones as titles or as ids, never both; each as a list or a comma-separated string.
const milestoneParams = {
  milestones: Type.Optional(Type.Array(Type.String(), { description: 'Titles of the project\'s milestones (a list, or one comma-separated string); on update, [] removes them' })),
  milestone_ids: Type.Optional(Type.Array(Type.String(), { description: 'Ids of the project\'s milestones (a list, or one comma-separated string); on update, [] removes them' })),
};
const exclusiveMilestones = { mutuallyExclusive: { fields: ['milestones', 'milestone_ids'], message: 'Cannot specify milestones and milestone_ids at the same time' } };
const ReleasedAt = DateTimeParam('When the release is (was) out, ISO 8601; by default when it is created');

const CreateBody = Type.Object({
  tag_name: Type.String(),
  name: Type.Optional(Type.String()),
  description: Type.Optional(Type.String()),
  ref: Type.Optional(Type.String()),
  tag_message: Type.Optional(Type.String()),
  released_at: Type.Optional(ReleasedAt),
  assets: Type.Optional(Type.Object({ links: Type.Optional(Type.Array(LinkBody)) })),
  ...milestoneParams,
  link_order: Type.Optional(LinkOrderParam),
}, exclusiveMilestones);

const UpdateBody = Type.Object({
  name: Type.Optional(Type.String()),
  description: Type.Optional(Type.String()),
  released_at: Type.Optional(ReleasedAt),
  ...milestoneParams,
  assets: Type.Optional(Type.Object(
    { links: Type.Optional(Type.Array(LinkBody)) },
    { ...RELINKS_OWN, description: "relinks' own: the release's links become exactly these, in this order, in one transaction; [] removes them all" },
  )),
  link_order: Type.Optional(LinkOrderParam),
}, exclusiveMilestones);

export default async function releaseRoutes(instance: FastifyInstance, { config }: RouteDeps) {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/projects/:id/releases',
    { config: facts.jobRead, schema: { summary: 'List releases, newest first', tags: ['Releases'], params: ProjectParams, querystring: ListQuery, response: { 200: paged(Release) } } },
    async (request, reply) => {
      const { query } = request;
      const order = { orderBy: query.order_by, sort: query.sort, updatedBefore: timeParam('updated_before', query.updated_before), updatedAfter: timeParam('updated_after', query.updated_after) };
      const options = { includeHtml: query.include_html_description, linkOrder: query.link_order };
      return sendPage(request, reply, config.externalUrl, (page) => releases.listReleases(request.ctx, request.params.id, page, order, options));
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
    releases.getRelease(request.ctx, request.params.id, request.params.tag_name, { includeHtml: request.query.include_html_description, linkOrder: request.query.link_order }),
  );

  app.put(
    '/projects/:id/releases/:tag_name',
    {
      config: facts.releaseWrite,
      schema: {
        summary: 'Update a release (relinks: assets[links] replaces its links)',
        tags: ['Releases'],
        params: ReleaseParams,
        body: UpdateBody,
        response: { 200: Release, 409: idempotencyBusy, 422: idempotencyReused },
      },
    },
    async (request, reply) => sendIdempotent(request, reply, 200, (ctx) => releases.updateRelease(ctx, request.params.id, request.params.tag_name, request.body)),
  );

  app.delete('/projects/:id/releases/:tag_name', { config: facts.releaseRemove, schema: { summary: 'Delete a release and its links (200 with the release)', tags: ['Releases'], params: ReleaseParams, response: { 200: Release } } }, async (request) =>
    releases.deleteRelease(request.ctx, request.params.id, request.params.tag_name),
  );
}
