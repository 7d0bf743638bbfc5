import type { FastifyInstance } from 'fastify';
import { facts } from '../http/route-facts.js';
import { SCRIPT_FILE, STYLESHEET } from '../views/assets.js';
import type { RouteDeps } from './deps.js';
import { OWN, webResponses } from './web-responses.js';

// The pages' stylesheet and script. Their URLs carry a version (?v=), so they are cached for a
// year: a page made after a change asks for a new URL.

export default async function webAssetRoutes(app: FastifyInstance, _deps: RouteDeps) {
  for (const asset of [STYLESHEET, SCRIPT_FILE]) {
    const url = `/-/web/${asset.name}`;
    app.get(
      url,
      {
        config: facts.public,
        schema: {
          summary: `The web pages' ${asset.type === 'text/css' ? 'stylesheet' : 'script'}`,
          tags: ['Web pages'],
          ...OWN,
          response: webResponses(url, facts.public, { 200: { description: 'OK', content: { [asset.type]: { schema: { type: 'string' } } } } }),
        },
      },
      async (_request, reply) =>
        reply.header('cache-control', 'public, max-age=31536000, immutable').type(`${asset.type}; charset=utf-8`).send(asset.body),
    );
  }
}
