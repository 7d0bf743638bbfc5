import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { paginationQuery, sendPage } from '../http/pagination.js';
import { facts } from '../http/route-facts.js';
import { sendNoContent } from '../http/no-content.js';
import * as hooks from '../services/webhooks/hooks.js';
import { testHook } from '../services/webhooks/test-hook.js';
import { CreateHookBody, EventsQuery, HookParams, ProjectHook, TestParams, UpdateHookBody, WebHookLog } from './hook-schemas.js';
import { error, Message, NoContent, paged } from './responses.js';
import { ProjectParams } from './schemas.js';
import type { RouteDeps } from './deps.js';

// GitLab's project webhooks API (doc/api/project_webhooks.md); relinks sends Release Hook events.

const ListQuery = Type.Object(paginationQuery);
const tags = ['Project webhooks'];
const invalid = error('Unprocessable: invalid url given (blocked, or not http/https), token with a line break, bad custom headers, or 100 hooks already');

export default async function hookRoutes(instance: FastifyInstance, { config }: RouteDeps) {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/projects/:id/hooks',
    { config: facts.read, schema: { summary: "List a project's webhooks (Maintainer and up)", tags, params: ProjectParams, querystring: ListQuery, response: { 200: paged(ProjectHook) } } },
    async (request, reply) => sendPage(request, reply, config.externalUrl, (page) => hooks.listHooks(request.ctx, request.params.id, page)),
  );

  app.get(
    '/projects/:id/hooks/:hook_id',
    { config: facts.read, schema: { summary: 'Get a project webhook', tags, params: HookParams, response: { 200: ProjectHook } } },
    async (request) => hooks.getHook(request.ctx, request.params.id, request.params.hook_id),
  );

  app.post(
    '/projects/:id/hooks',
    { config: facts.write, schema: { summary: 'Add a webhook (its token is never shown back)', tags, params: ProjectParams, body: CreateHookBody, response: { 201: ProjectHook, 422: invalid } } },
    async (request, reply) => reply.code(201).send(await hooks.createHook(request.ctx, request.params.id, request.body)),
  );

  app.put(
    '/projects/:id/hooks/:hook_id',
    { config: facts.write, schema: { summary: 'Edit a webhook; a new url without a token drops the token', tags, params: HookParams, body: UpdateHookBody, response: { 200: ProjectHook, 422: invalid } } },
    async (request) => hooks.updateHook(request.ctx, request.params.id, request.params.hook_id, request.body),
  );

  app.delete(
    '/projects/:id/hooks/:hook_id',
    { config: facts.remove, schema: { summary: 'Delete a webhook, its pending deliveries and its log', tags, params: HookParams, response: { 204: NoContent } } },
    async (request, reply) => {
      await hooks.deleteHook(request.ctx, request.params.id, request.params.hook_id);
      return sendNoContent(reply);
    },
  );

  app.get(
    '/projects/:id/hooks/:hook_id/events',
    { config: facts.read, schema: { summary: "A webhook's deliveries of the past 7 days, newest first: request, response, status, time", tags, params: HookParams, querystring: EventsQuery, response: { 200: paged(WebHookLog) } } },
    async (request, reply) => {
      const { status, 'status[]': statusList } = request.query;
      return sendPage(request, reply, config.externalUrl, (page) => hooks.listHookEvents(request.ctx, request.params.id, request.params.hook_id, statusList ?? status, page));
    },
  );

  app.post(
    '/projects/:id/hooks/:hook_id/test/:trigger',
    {
      config: facts.write,
      schema: {
        summary: 'Send a test event now (releases_events: the newest release); 201 when the receiver answers 2xx',
        tags,
        params: TestParams,
        response: { 201: Message, 422: error('Unprocessable: the receiver did not answer 2xx (its body, or why no answer came), or there is nothing to test with') },
      },
    },
    async (request, reply) => {
      const { id, hook_id, trigger } = request.params;
      return reply.code(201).send(await testHook(request.ctx, id, hook_id, trigger));
    },
  );
}
