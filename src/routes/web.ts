import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import * as downloads from '../services/downloads.js';
import { Redirect } from './responses.js';
import { parseClassicUploadPath, sendUpload, uploadAnswers } from './uploads.js';
import { facts } from '../http/route-facts.js';
import type { RouteDeps } from './deps.js';

// The web URLs relinks hands out in `direct_asset_url`:
//   /<full path>/-/releases/<tag>/downloads/<filepath>
//   /<full path>/-/releases/permalink/latest(/<suffix>)
// A project's full path has any number of segments, which no fixed route pattern matches, so one
// wildcard route takes every GET that no other route claims and parses it here; anything that is
// not one of these two forms goes on to the ordinary 404 handler.

export interface WebReleasePath {
  fullPath: string;
  kind: 'download' | 'latest';
  /** Decoded tag (downloads only). */
  tag: string;
  /** Downloads: the decoded filepath without its leading `/`. Permalinks: the raw suffix (may be ''). */
  rest: string;
}

const decode = (s: string): string | null => {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
};

/** `-` cannot start a namespace or project path, so the first `/-/releases/` ends the full path. */
export function parseWebReleasePath(path: string): WebReleasePath | null {
  const at = path.indexOf('/-/releases/');
  if (at <= 0) return null;
  const fullPath = path
    .slice(1, at)
    .split('/')
    .map(decode);
  if (fullPath.length < 2 || fullPath.some((s) => s === null || s === '')) return null;
  const segments = path.slice(at + '/-/releases/'.length).split('/');
  if (segments[0] === 'permalink' && segments[1] === 'latest') {
    return { fullPath: fullPath.join('/'), kind: 'latest', tag: '', rest: segments.slice(2).join('/') };
  }
  const tag = decode(segments[0]);
  if (!tag || segments[1] !== 'downloads' || segments.length < 3) return null;
  const filepath = segments.slice(2).map(decode);
  if (filepath.some((s) => s === null)) return null;
  return { fullPath: fullPath.join('/'), kind: 'download', tag, rest: filepath.join('/') };
}

export default async function webRoutes(instance: FastifyInstance, _deps: RouteDeps) {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  // Downloads and permalinks: what a CI job token may fetch too.
  app.get('/*', { config: facts.jobRead, schema: { summary: 'Web URLs: /<full path>/-/releases/<tag>/downloads/<filepath>, /<full path>/-/releases/permalink/latest[/<suffix>] and /<full path>/uploads/<secret>/<filename>', tags: ['Downloads'], response: { 302: Redirect, ...uploadAnswers } } }, async (request, reply) => {
    const [path, query = ''] = request.url.split(/\?(.*)/s, 2);
    // The classic address of a project upload, as older glab and release-it link it.
    const upload = parseClassicUploadPath(path);
    if (upload) return sendUpload(request, reply, upload);
    const parsed = parseWebReleasePath(path);
    if (!parsed) return reply.callNotFound();
    const location =
      parsed.kind === 'download'
        ? await downloads.webAssetUrl(request.ctx, parsed.fullPath, parsed.tag, parsed.rest)
        : await downloads.webLatestUrl(request.ctx, parsed.fullPath, parsed.rest, query);
    return reply.redirect(location, 302);
  });
}
