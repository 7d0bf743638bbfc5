import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import * as groups from '../services/groups.js';
import { Id, ProjectParams, StringEnum } from './schemas.js';
import { error, Group } from './responses.js';
import { facts } from '../http/route-facts.js';
import type { RouteDeps } from './deps.js';

const CreateBody = Type.Object({
  name: Type.String(),
  path: Type.String(),
  parent_id: Type.Optional(Id),
  visibility: Type.Optional(StringEnum(['private', 'internal', 'public'] as const)),
  description: Type.Optional(Type.String()),
});

export default async function groupRoutes(instance: FastifyInstance, _deps: RouteDeps) {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  app.post('/groups', { config: facts.write, schema: { summary: 'Create a group', tags: ['Groups'], body: CreateBody, response: { 201: Group, 404: error('Parent group Not Found') } } }, async (request, reply) =>
    reply.code(201).send(await groups.createGroup(request.ctx, request.body)),
  );

  app.get('/groups/:id', { config: facts.read, schema: { summary: 'Get a group by id or URL-encoded full path', tags: ['Groups'], params: ProjectParams, response: { 200: Group } } }, async (request) =>
    groups.getGroup(request.ctx, request.params.id),
  );
}
