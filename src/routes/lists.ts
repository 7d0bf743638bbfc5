import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { paginationQuery, sendPage } from '../http/pagination.js';
import { facts } from '../http/route-facts.js';
import * as groupLists from '../services/group-lists.js';
import * as projectLists from '../services/project-lists.js';
import { GROUP_ORDERS } from '../store/group-lists.js';
import { PROJECT_ORDERS } from '../store/project-lists.js';
import { BasicProject, Group, paged, Project, Release } from './responses.js';
import { LinkOrderParam, ProjectParams, StringEnum } from './schemas.js';
import type { RouteDeps } from './deps.js';

// The lists that span projects: GET /projects, GET /groups, a group's projects and releases.

const Sort = StringEnum(['asc', 'desc'] as const);
const Visibility = StringEnum(['private', 'internal', 'public'] as const);

const ProjectQuery = Type.Object({
  ...paginationQuery,
  visibility: Type.Optional(Visibility),
  membership: Type.Optional(Type.Boolean()),
  owned: Type.Optional(Type.Boolean()),
  search: Type.Optional(Type.String()),
  simple: Type.Optional(Type.Boolean()),
  order_by: Type.Optional(StringEnum(PROJECT_ORDERS)),
  sort: Type.Optional(Sort),
});
const GroupProjectQuery = Type.Object({ ...ProjectQuery.properties, include_subgroups: Type.Optional(Type.Boolean()) });
const GroupQuery = Type.Object({
  ...paginationQuery,
  all_available: Type.Optional(Type.Boolean()),
  owned: Type.Optional(Type.Boolean()),
  search: Type.Optional(Type.String()),
  visibility: Type.Optional(Visibility),
  top_level_only: Type.Optional(Type.Boolean()),
  order_by: Type.Optional(StringEnum(GROUP_ORDERS)),
  sort: Type.Optional(Sort),
});
const GroupReleaseQuery = Type.Object({ ...paginationQuery, sort: Type.Optional(Sort), simple: Type.Optional(Type.Boolean()), link_order: Type.Optional(LinkOrderParam) });

/** `simple=true` answers GitLab's smaller entity; the full one comes first, so it is what a full object serializes as. */
const ProjectOrBasic = Type.Union([Project, BasicProject]);
const BasicRelease = Type.Object({
  name: Type.String(),
  tag_name: Type.String(),
  description: Type.String(),
  created_at: Type.String(),
  released_at: Type.String(),
  upcoming_release: Type.Boolean(),
}, { title: 'BasicRelease' });

export default async function listRoutes(instance: FastifyInstance, { config }: RouteDeps) {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/projects',
    { config: facts.read, schema: { summary: 'List the projects the caller may see (anonymous: public ones)', tags: ['Projects'], querystring: ProjectQuery, response: { 200: paged(ProjectOrBasic) } } },
    async (request, reply) => sendPage(request, reply, config.externalUrl, (page) => projectLists.listProjects(request.ctx, request.query, page)),
  );

  app.get(
    '/groups',
    { config: facts.read, schema: { summary: 'List groups: anonymous sees public ones, a user their own (all_available: every visible one)', tags: ['Groups'], querystring: GroupQuery, response: { 200: paged(Group) } } },
    async (request, reply) => sendPage(request, reply, config.externalUrl, (page) => groupLists.listGroups(request.ctx, request.query, page)),
  );

  app.get(
    '/groups/:id/projects',
    { config: facts.read, schema: { summary: "List a group's projects the caller may see", tags: ['Groups'], params: ProjectParams, querystring: GroupProjectQuery, response: { 200: paged(ProjectOrBasic) } } },
    async (request, reply) => sendPage(request, reply, config.externalUrl, (page) => projectLists.listGroupProjects(request.ctx, request.params.id, request.query, page)),
  );

  app.get(
    '/groups/:id/releases',
    { config: facts.read, schema: { summary: "List the releases of a group's projects and its subgroups' projects, by released_at", tags: ['Releases'], params: ProjectParams, querystring: GroupReleaseQuery, response: { 200: paged(Type.Union([Release, BasicRelease])) } } },
    async (request, reply) => sendPage(request, reply, config.externalUrl, (page) => groupLists.listGroupReleases(request.ctx, request.params.id, request.query, page)),
  );
}
