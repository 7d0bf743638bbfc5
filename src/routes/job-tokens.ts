import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { paginationQuery, sendPage } from '../http/pagination.js';
import * as jobTokens from '../services/job-tokens.js';
import * as scope from '../services/job-token-scope.js';
import { Id, ProjectParams } from './schemas.js';
import { BasicProject, JobToken, NoContent, paged, RELINKS_OWN, ScopeLink } from './responses.js';
import { facts } from '../http/route-facts.js';
import { sendNoContent } from '../http/no-content.js';
import type { RouteDeps } from './deps.js';

const CreateBody = Type.Object({
  expires_in: Type.Optional(Type.Integer()),
  ref: Type.Optional(Type.String()),
});
const TokenParams = Type.Object({ id: Type.String(), token_id: Id });

// GitLab declares `id` an Integer on these two: a URL-encoded path is 400 "id is invalid".
const ScopeParams = Type.Object({ id: Id });
const ScopeBody = Type.Object({ target_project_id: Id });
const ScopeEntryParams = Type.Object({ id: Id, target_project_id: Id });
const ListQuery = Type.Object(paginationQuery);

export default async function jobTokenRoutes(instance: FastifyInstance, { config }: RouteDeps) {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  app.post(
    '/projects/:id/ci/job_tokens',
    { config: facts.write, schema: { summary: 'Mint a job token for a CI job', tags: ['Job tokens'], ...RELINKS_OWN, params: ProjectParams, body: CreateBody, response: { 201: JobToken } } },
    async (request, reply) => reply.code(201).send(await jobTokens.createJobToken(request.ctx, request.params.id, request.body)),
  );

  app.delete(
    '/projects/:id/ci/job_tokens/:token_id',
    { config: facts.remove, schema: { summary: 'End a job token now', tags: ['Job tokens'], ...RELINKS_OWN, params: TokenParams, response: { 204: NoContent } } },
    async (request, reply) => {
      await jobTokens.endJobToken(request.ctx, request.params.id, request.params.token_id);
      return sendNoContent(reply);
    },
  );

  app.get(
    '/projects/:id/job_token_scope/allowlist',
    { config: facts.read, schema: { summary: "Projects whose job tokens may reach this one (itself first)", tags: ['Job token scope'], params: ProjectParams, querystring: ListQuery, response: { 200: paged(BasicProject) } } },
    async (request, reply) => sendPage(request, reply, config.externalUrl, (page) => scope.listAllowlist(request.ctx, request.params.id, page)),
  );

  app.post(
    '/projects/:id/job_token_scope/allowlist',
    { config: facts.write, schema: { summary: "Let a project's job tokens in", tags: ['Job token scope'], params: ScopeParams, body: ScopeBody, response: { 201: ScopeLink } } },
    async (request, reply) =>
      reply.code(201).send(await scope.addToAllowlist(request.ctx, request.params.id, request.body.target_project_id)),
  );

  app.delete(
    '/projects/:id/job_token_scope/allowlist/:target_project_id',
    { config: facts.remove, schema: { summary: 'Remove a project from the allowlist', tags: ['Job token scope'], params: ScopeEntryParams, response: { 204: NoContent } } },
    async (request, reply) => {
      await scope.removeFromAllowlist(request.ctx, request.params.id, request.params.target_project_id);
      return sendNoContent(reply);
    },
  );
}
