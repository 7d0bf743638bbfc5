import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { paginationQuery, sendPage } from '../http/pagination.js';
import { listProjectAuditEvents } from '../services/audit-events.js';
import { ProjectParams } from './schemas.js';
import { AuditEvent, paged } from './responses.js';
import { facts } from '../http/route-facts.js';
import type { RouteDeps } from './deps.js';

const ListQuery = Type.Object({
  ...paginationQuery,
  created_after: Type.Optional(Type.String()),
  created_before: Type.Optional(Type.String()),
});

export default async function auditEventRoutes(instance: FastifyInstance, { config }: RouteDeps) {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/projects/:id/audit_events',
    { config: facts.read, schema: { summary: "A project's audit events (release and link changes), newest first", tags: ['Audit events'], params: ProjectParams, querystring: ListQuery, response: { 200: paged(AuditEvent) } } },
    async (request, reply) => sendPage(request, reply, config.externalUrl, (page) => listProjectAuditEvents(request.ctx, request.params.id, request.query, page)),
  );
}
