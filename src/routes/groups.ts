import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import * as groups from '../services/groups.js';
import { Id, ProjectParams, StringEnum } from './schemas.js';
import { facts } from '../http/route-facts.js';
import type { RouteDeps } from './index.js';

const CreateBody = Type.Object({
  name: Type.String(),
  path: Type.String(),
  parent_id: Type.Optional(Id),
  visibility: Type.Optional(StringEnum(['private', 'internal', 'public'] as const)),
  description: Type.Optional(Type.String()),
});

export default async function groupRoutes(app: FastifyInstance, _deps: RouteDeps) {
  app.post<{ Body: Static<typeof CreateBody> }>('/groups', { config: facts.write, schema: { body: CreateBody } }, async (request, reply) =>
    reply.code(201).send(await groups.createGroup(request.ctx, request.body)),
  );

  app.get<{ Params: ProjectParams }>('/groups/:id', { config: facts.read, schema: { params: ProjectParams } }, async (request) =>
    groups.getGroup(request.ctx, request.params.id),
  );
}
