import type { FastifyReply } from 'fastify';

/**
 * 204 with no body at all. The route's schema declares the 204 as null for the OpenAPI document,
 * which the type provider would hold `send` to; a 204 sends nothing whatever the schema says.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const sendNoContent = (reply: FastifyReply<any, any, any, any, any, any, any, any>) => reply.code(204).send();
