import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { paginationQuery, sendPage } from '../http/pagination.js';
import { facts } from '../http/route-facts.js';
import * as milestones from '../services/milestones.js';
import { Milestone, paged } from './responses.js';
import { Id, ProjectParams, StringEnum } from './schemas.js';
import type { RouteDeps } from './deps.js';

/** GitLab's Date parameters: YYYY-MM-DD, anything else "<name> is invalid". */
const Day = Type.String({ pattern: '^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])$' });

const CreateBody = Type.Object({
  title: Type.String(),
  description: Type.Optional(Type.String()),
  due_date: Type.Optional(Day),
  start_date: Type.Optional(Day),
});
const UpdateBody = Type.Object(
  {
    title: Type.Optional(Type.String()),
    description: Type.Optional(Type.String()),
    due_date: Type.Optional(Day),
    start_date: Type.Optional(Day),
    state_event: Type.Optional(StringEnum(['close', 'activate'] as const)),
  },
  { atLeastOneOf: ['title', 'description', 'start_date', 'due_date', 'state_event'] },
);
const ListQuery = Type.Object({
  ...paginationQuery,
  state: Type.Optional(StringEnum(['active', 'closed'] as const)),
  title: Type.Optional(Type.String()),
  search: Type.Optional(Type.String()),
  iids: Type.Optional(Type.Array(Type.Integer())),
  // The query string is read without bracket nesting: clients' `iids[]=1&iids[]=2` arrive under this name.
  'iids[]': Type.Optional(Type.Array(Type.Integer())),
});
const MilestoneParams = Type.Object({ id: Type.String(), milestone_id: Id });

export default async function milestoneRoutes(instance: FastifyInstance, { config }: RouteDeps) {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/projects/:id/milestones',
    { config: facts.read, schema: { summary: 'List milestones, newest first', tags: ['Milestones'], params: ProjectParams, querystring: ListQuery, response: { 200: paged(Milestone) } } },
    async (request, reply) => {
      const { query } = request;
      const filter = { state: query.state, title: query.title, search: query.search, iids: query.iids ?? query['iids[]'] };
      return sendPage(request, reply, config.externalUrl, (page) => milestones.listMilestones(request.ctx, request.params.id, filter, page));
    },
  );

  app.post(
    '/projects/:id/milestones',
    { config: facts.write, schema: { summary: 'Create a milestone (Reporter and up)', tags: ['Milestones'], params: ProjectParams, body: CreateBody, response: { 201: Milestone } } },
    async (request, reply) => reply.code(201).send(await milestones.createMilestone(request.ctx, request.params.id, request.body)),
  );

  app.get(
    '/projects/:id/milestones/:milestone_id',
    { config: facts.read, schema: { summary: 'Get a milestone by its id', tags: ['Milestones'], params: MilestoneParams, response: { 200: Milestone } } },
    async (request) => milestones.getMilestone(request.ctx, request.params.id, request.params.milestone_id),
  );

  app.put(
    '/projects/:id/milestones/:milestone_id',
    { config: facts.write, schema: { summary: 'Update a milestone; state_event close or activate', tags: ['Milestones'], params: MilestoneParams, body: UpdateBody, response: { 200: Milestone } } },
    async (request) => milestones.updateMilestone(request.ctx, request.params.id, request.params.milestone_id, request.body),
  );
}
