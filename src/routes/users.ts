import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import * as users from '../services/users.js';
import { createPersonalAccessToken, SCOPES } from '../services/tokens.js';
import { Id, StringEnum } from './schemas.js';
import { conflict, PersonalAccessToken, User } from './responses.js';
import { facts } from '../http/route-facts.js';
import type { RouteDeps } from './deps.js';

const CreateBody = Type.Object(
  {
    email: Type.String(),
    username: Type.String(),
    name: Type.String(),
    password: Type.Optional(Type.String({ minLength: 8 })),
    reset_password: Type.Optional(Type.Boolean()),
    force_random_password: Type.Optional(Type.Boolean()),
    admin: Type.Optional(Type.Boolean()),
  },
  { atLeastOneOf: ['password', 'reset_password', 'force_random_password'] },
);

const UserParams = Type.Object({ id: Id });

const TokenBody = Type.Object({
  name: Type.String(),
  // GitLab takes a list or a comma-separated string; the string is split before validation.
  scopes: Type.Array(StringEnum(SCOPES), { minItems: 1 }),
  expires_at: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' })),
});

export default async function userRoutes(instance: FastifyInstance, _deps: RouteDeps) {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  app.post('/users', { config: facts.write, schema: { summary: 'Create a user (admins)', tags: ['Users'], body: CreateBody, response: { 201: User, 409: conflict('Username or Email has already been taken') } } }, async (request, reply) =>
    reply.code(201).send(await users.createUser(request.ctx, request.body)),
  );

  app.get('/user', { config: facts.userRead, schema: { summary: "The token's user", tags: ['Users'], response: { 200: User } } }, async (request) => users.currentUser(request.ctx));

  app.get('/users/:id', { config: facts.userRead, schema: { summary: 'Get a user (account details for admins and oneself)', tags: ['Users'], params: UserParams, response: { 200: User } } }, async (request) =>
    users.getUser(request.ctx, request.params.id),
  );

  app.post(
    '/users/:id/personal_access_tokens',
    {
      config: facts.write,
      schema: { summary: 'Create a personal access token for a user (admins)', tags: ['Users'], params: UserParams, body: TokenBody, response: { 201: PersonalAccessToken } },
      preValidation: async (request) => {
        const body = request.body as { scopes?: unknown } | undefined;
        if (body && typeof body.scopes === 'string') body.scopes = body.scopes.split(',');
      },
    },
    async (request, reply) => {
      const { name, scopes, expires_at } = request.body;
      const token = await createPersonalAccessToken(request.ctx, request.params.id, { name, scopes, expires_at });
      return reply.code(201).send(token);
    },
  );
}
