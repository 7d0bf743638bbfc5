import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import { sendCreated } from '../http/idempotency.js';
import { paginationQuery, sendPage } from '../http/pagination.js';
import * as links from '../services/links.js';
import { arrayOf, LinkBody, LinkOrderParam, LinkParams, LinkType, ReleaseParams } from './schemas.js';
import { idempotencyBusy, idempotencyReused, Link } from './responses.js';
import { facts } from '../http/route-facts.js';
import type { RouteDeps } from './deps.js';

const ListQuery = Type.Object({ ...paginationQuery, link_order: Type.Optional(LinkOrderParam) });

const UpdateBody = Type.Object(
  {
    name: Type.Optional(Type.String()),
    url: Type.Optional(Type.String()),
    filepath: Type.Optional(Type.String()),
    direct_asset_path: Type.Optional(Type.String()),
    link_type: Type.Optional(LinkType),
  },
  { atLeastOneOf: ['name', 'url'] },
);

const one = { 200: Link };

export default async function linkRoutes(instance: FastifyInstance, { config }: RouteDeps) {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const base = '/projects/:id/releases/:tag_name/assets/links';

  app.get(
    base,
    { config: facts.jobRead, schema: { summary: "List a release's links, newest first (relinks: link_order=given)", tags: ['Release links'], params: ReleaseParams, querystring: ListQuery, response: { 200: arrayOf(Link) } } },
    async (request, reply) => sendPage(request, reply, config.externalUrl, (page) => links.listLinks(request.ctx, request.params.id, request.params.tag_name, page, request.query.link_order)),
  );

  app.get(`${base}/:link_id`, { config: facts.jobRead, schema: { summary: 'Get a link', tags: ['Release links'], params: LinkParams, response: one } }, async (request) => {
    const { id, tag_name, link_id } = request.params;
    return links.getLink(request.ctx, id, tag_name, link_id);
  });

  app.post(
    base,
    { config: facts.releaseWrite, schema: { summary: 'Create a link', tags: ['Release links'], params: ReleaseParams, body: LinkBody, response: { 201: Link, 409: idempotencyBusy, 422: idempotencyReused } } },
    async (request, reply) => {
      const { id, tag_name } = request.params;
      return sendCreated(request, reply, (ctx) => links.createLink(ctx, id, tag_name, request.body));
    },
  );

  app.put(
    `${base}/:link_id`,
    { config: facts.releaseWrite, schema: { summary: 'Update a link', tags: ['Release links'], params: LinkParams, body: UpdateBody, response: one } },
    async (request) => {
      const { id, tag_name, link_id } = request.params;
      return links.updateLink(request.ctx, id, tag_name, link_id, request.body);
    },
  );

  app.delete(`${base}/:link_id`, { config: facts.releaseRemove, schema: { summary: 'Delete a link (200 with the deleted link)', tags: ['Release links'], params: LinkParams, response: one } }, async (request) => {
    const { id, tag_name, link_id } = request.params;
    return links.deleteLink(request.ctx, id, tag_name, link_id);
  });
}
