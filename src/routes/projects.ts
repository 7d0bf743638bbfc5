import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import * as projects from '../services/projects.js';
import * as members from '../services/members.js';
import { ACCESS_LEVELS } from '../policy.js';
import { Id, ProjectParams, StringEnum } from './schemas.js';
import { conflict, error, Member, Message, Project } from './responses.js';
import { facts } from '../http/route-facts.js';
import type { RouteDeps } from './deps.js';

const VisibilityParam = StringEnum(['private', 'internal', 'public'] as const);

const CreateBody = Type.Object(
  {
    name: Type.Optional(Type.String()),
    path: Type.Optional(Type.String()),
    namespace_id: Type.Optional(Type.Union([Type.Integer(), Type.String()])),
    visibility: Type.Optional(VisibilityParam),
    description: Type.Optional(Type.String()),
  },
  { atLeastOneOf: ['name', 'path'] },
);

const MemberBody = Type.Object({
  user_id: Id,
  access_level: Type.Unsafe<number>({ type: 'integer', enum: ACCESS_LEVELS }),
  expires_at: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' })),
});

const MemberParams = Type.Object({ id: Type.String(), user_id: Id });

export default async function projectRoutes(instance: FastifyInstance, _deps: RouteDeps) {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  app.post('/projects', { config: facts.write, schema: { summary: 'Create a project', tags: ['Projects'], body: CreateBody, response: { 201: Project, 404: error('Namespace Not Found') } } }, async (request, reply) =>
    reply.code(201).send(await projects.createProject(request.ctx, request.body)),
  );

  app.get('/projects/:id', { config: facts.read, schema: { summary: 'Get a project by id or URL-encoded full path', tags: ['Projects'], params: ProjectParams, response: { 200: Project } } }, async (request) =>
    projects.getProject(request.ctx, request.params.id),
  );

  app.delete('/projects/:id', { config: facts.remove, schema: { summary: 'Delete a project (at once, with its releases and links)', tags: ['Projects'], params: ProjectParams, response: { 202: Message } } }, async (request, reply) =>
    reply.code(202).send(await projects.deleteProject(request.ctx, request.params.id)),
  );

  app.post(
    '/projects/:id/members',
    { config: facts.write, schema: { summary: 'Add a member', tags: ['Members'], params: ProjectParams, body: MemberBody, response: { 201: Member, 409: conflict('Member already exists') } } },
    async (request, reply) => reply.code(201).send(await members.addProjectMember(request.ctx, request.params.id, request.body)),
  );

  app.get(
    '/projects/:id/members/all/:user_id',
    { config: facts.read, schema: { summary: 'Get a member, memberships inherited from groups included', tags: ['Members'], params: MemberParams, response: { 200: Member } } },
    async (request) => members.getEffectiveMember(request.ctx, request.params.id, request.params.user_id),
  );
}
