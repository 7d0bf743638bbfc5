import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { paginationQuery, sendPage } from '../http/pagination.js';
import { facts } from '../http/route-facts.js';
import * as milestones from '../services/milestones.js';
import { Milestone, paged } from './responses.js';
import { DateParam, DateTimeParam, Id, ProjectParams, StringEnum } from './schemas.js';
import { timeParam } from '../services/calendar.js';
import type { RouteDeps } from './deps.js';

// GitLab casts a date it cannot read (2024-02-30, "tomorrow") to no date at all; relinks refuses it
// ("due_date is invalid") rather than drop it. An empty value is no date: on update, it clears one.
const Day = DateParam('YYYY-MM-DD; empty for none');

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
  state: Type.Optional(StringEnum(['active', 'closed', 'all'] as const)),
  title: Type.Optional(Type.String()),
  search: Type.Optional(Type.String()),
  updated_before: Type.Optional(DateTimeParam('Milestones updated at or before this time (ISO 8601)')),
  updated_after: Type.Optional(DateTimeParam('Milestones updated at or after this time (ISO 8601)')),
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
      const filter = {
        state: query.state === 'all' ? undefined : query.state,
        title: query.title,
        search: query.search,
        iids: query.iids ?? query['iids[]'],
        updatedBefore: timeParam('updated_before', query.updated_before),
        updatedAfter: timeParam('updated_after', query.updated_after),
      };
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
