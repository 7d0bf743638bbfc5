import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { paginationQuery, sendPage } from '../http/pagination.js';
import * as tags from '../services/tags.js';
import * as protectedTags from '../services/protected-tags.js';
import { ProjectParams } from './schemas.js';
import { NoContent, paged, ProtectedTag, Tag, unprocessable } from './responses.js';
import { facts } from '../http/route-facts.js';
import { sendNoContent } from '../http/no-content.js';
import type { RouteDeps } from './deps.js';

const ListQuery = Type.Object(paginationQuery);
const CreateBody = Type.Object({ tag_name: Type.String(), ref: Type.String(), message: Type.Optional(Type.String()) });
const TagParams = Type.Object({ id: Type.String(), name: Type.String() });
const ProtectBody = Type.Object({
  name: Type.String(),
  create_access_level: Type.Optional(Type.Unsafe<number>({ type: 'integer', enum: [...protectedTags.CREATE_ACCESS_LEVELS] })),
});

export default async function tagRoutes(instance: FastifyInstance, { config }: RouteDeps) {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/projects/:id/repository/tags',
    { config: facts.jobRead, schema: { summary: 'List tags', tags: ['Tags'], params: ProjectParams, querystring: ListQuery, response: { 200: paged(Tag) } } },
    async (request, reply) => sendPage(request, reply, config.externalUrl, (page) => tags.listTags(request.ctx, request.params.id, page)),
  );

  app.post(
    '/projects/:id/repository/tags',
    { config: facts.write, schema: { summary: 'Create a tag', tags: ['Tags'], params: ProjectParams, body: CreateBody, response: { 201: Tag } } },
    async (request, reply) => reply.code(201).send(await tags.createTag(request.ctx, request.params.id, request.body)),
  );

  app.get('/projects/:id/repository/tags/:name', { config: facts.jobRead, schema: { summary: 'Get a tag', tags: ['Tags'], params: TagParams, response: { 200: Tag } } }, async (request) =>
    tags.getTag(request.ctx, request.params.id, request.params.name),
  );

  app.delete(
    '/projects/:id/repository/tags/:name',
    { config: facts.remove, schema: { summary: 'Delete a tag, and its release with its links (as GitLab)', tags: ['Tags'], params: TagParams, response: { 204: NoContent } } },
    async (request, reply) => {
      await tags.deleteTag(request.ctx, request.params.id, request.params.name);
      return sendNoContent(reply);
    },
  );

  app.get(
    '/projects/:id/protected_tags',
    { config: facts.read, schema: { summary: 'List protected tag rules', tags: ['Protected tags'], params: ProjectParams, querystring: ListQuery, response: { 200: paged(ProtectedTag) } } },
    async (request, reply) => sendPage(request, reply, config.externalUrl, (page) => protectedTags.listProtectedTags(request.ctx, request.params.id, page)),
  );

  app.get('/projects/:id/protected_tags/:name', { config: facts.read, schema: { summary: 'Get a protected tag rule', tags: ['Protected tags'], params: TagParams, response: { 200: ProtectedTag } } }, async (request) =>
    protectedTags.getProtectedTag(request.ctx, request.params.id, request.params.name),
  );

  app.post(
    '/projects/:id/protected_tags',
    { config: facts.write, schema: { summary: 'Protect tags matching a name (`*` wildcards)', tags: ['Protected tags'], params: ProjectParams, body: ProtectBody, response: { 201: ProtectedTag, 422: unprocessable('Name has already been taken, or is blank') } } },
    async (request, reply) => reply.code(201).send(await protectedTags.protectTag(request.ctx, request.params.id, request.body)),
  );

  app.delete(
    '/projects/:id/protected_tags/:name',
    { config: facts.remove, schema: { summary: 'Unprotect', tags: ['Protected tags'], params: TagParams, response: { 204: NoContent } } },
    async (request, reply) => {
      await protectedTags.unprotectTag(request.ctx, request.params.id, request.params.name);
      return sendNoContent(reply);
    },
  );
}
