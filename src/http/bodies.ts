import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { registerFormParsers } from './forms.js';

// The body parsers: JSON, and Rails-style nested form fields (assets[links][0][name]) as curl
// --data and curl --form send them. Which routes read a body is each route's declared fact.

async function bodies(app: FastifyInstance, { bodyLimit }: { bodyLimit: number }) {
  await registerFormParsers(app, bodyLimit);
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (request, body, done) => {
    // An empty JSON body (curl -X DELETE -H 'Content-Type: application/json') means no parameters.
    if (body === '' || (typeof body === 'string' && body.trim() === '')) return done(null, {});
    parseJson(request, body as string, done);
  });
}

export default fp(bodies, { name: 'relinks-bodies', fastify: '5.x' });
