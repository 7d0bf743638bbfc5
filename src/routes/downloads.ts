import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import * as downloads from '../services/downloads.js';
import { ProjectParams } from './schemas.js';
import { Redirect } from './responses.js';
import { facts } from '../http/route-facts.js';
import type { RouteDeps } from './deps.js';

// API direct asset downloads and the latest-release permalink (302s). The web forms of both live
// in routes/web.ts.

const DownloadParams = Type.Object({ id: Type.String(), tag_name: Type.String(), '*': Type.String() });

/** The raw (still percent-encoded) path after `marker`, and the raw query, as the client sent them. */
function rawRest(request: FastifyRequest, marker: string): { rest: string; query: string } {
  const [path, query = ''] = request.url.split(/\?(.*)/s, 2);
  const at = path.indexOf(marker);
  const rest = at < 0 ? '' : path.slice(at + marker.length).replace(/^\//, '');
  return { rest, query };
}

export default async function downloadRoutes(instance: FastifyInstance, _deps: RouteDeps) {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/projects/:id/releases/:tag_name/downloads/*',
    { config: facts.jobRead, schema: { summary: "Redirect to a release asset by its link's filepath", tags: ['Downloads'], params: DownloadParams, response: { 302: Redirect } } },
    async (request, reply) => {
      const { id, tag_name } = request.params;
      const url = await downloads.assetUrl(request.ctx, id, tag_name, request.params['*']);
      return reply.redirect(url, 302);
    },
  );

  const latest = async (request: FastifyRequest<{ Params: ProjectParams }>, reply: FastifyReply) => {
    const { rest, query } = rawRest(request, '/releases/permalink/latest');
    const location = await downloads.latestReleasePath(request.ctx, request.params.id, rest, query);
    return reply.redirect(location, 302);
  };
  app.get('/projects/:id/releases/permalink/latest', { config: facts.jobRead, schema: { summary: 'Redirect to the latest release', tags: ['Downloads'], params: ProjectParams, response: { 302: Redirect } } }, latest);
  app.get('/projects/:id/releases/permalink/latest/*', { config: facts.jobRead, schema: { summary: "Redirect to a path under the latest release (e.g. /downloads/<filepath>)", tags: ['Downloads'], params: Type.Object({ id: Type.String(), '*': Type.String() }), response: { 302: Redirect } } }, latest);
}
