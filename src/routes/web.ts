import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { chromeOf, htmlErrors, isApiPath, sendPage } from '../http/html.js';
import { fileAnswers, parseClassicUploadPath, sendUpload } from './uploads.js';
import { facts } from '../http/route-facts.js';
import * as downloads from '../services/downloads.js';
import { editPage, homePage, newReleasePage, PROJECTS_PER_PAGE, releasePage, releasesPage, tagPage } from '../services/release-pages.js';
import { pageOf, paginationQuery } from '../http/pagination.js';
import { homeView } from '../views/home.js';
import { releaseFormView } from '../views/release-form.js';
import { releasesView, releaseView, tagView } from '../views/releases.js';
import { urlsFor } from '../views/urls.js';
import type { RouteDeps } from './deps.js';
import webAssetRoutes from './web-assets.js';
import webFormRoutes from './web-forms.js';
import { Found, htmlPage, webResponses } from './web-responses.js';
import webSessionRoutes from './web-sessions.js';

// The web: the pages at GitLab's URLs, and the URLs relinks hands out in `direct_asset_url`:
//   /                                                 projects
//   /<full path>, /<full path>/-/releases             a project's releases
//   /<full path>/-/releases/new                       the new release form
//   /<full path>/-/releases/<tag>(/edit)              a release, its edit form
//   /<full path>/-/tags/<tag>                         a tag
//   /<full path>/-/releases/<tag>/downloads/<filepath>
//   /<full path>/-/releases/permalink/latest(/<suffix>)
// A project's full path has any number of segments, which no fixed route pattern matches, so one
// wildcard route takes every GET that no other route claims and parses it here; anything that is
// none of these forms is a 404 (the API's own under /api). Errors are pages for browsers and JSON
// for everyone else (http/html.ts).

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

export type WebPage =
  | { kind: 'releases' | 'new'; fullPath: string }
  | { kind: 'release' | 'edit' | 'tag'; fullPath: string; tag: string };

/**
 * A page's path: `/<full path>[/-/<page>]`. `api` is no namespace (GitLab reserves it), so the
 * API's unknown paths stay the API's JSON 404 whoever asks.
 */
export function parseWebPagePath(path: string): WebPage | null {
  const at = path.indexOf('/-/');
  const head = (at < 0 ? path : path.slice(0, at)).replace(/\/$/, '');
  const fullPath = head.slice(1).split('/').map(decode);
  if (!head.startsWith('/') || fullPath.length < 2 || fullPath.some((s) => s === null || s === '') || fullPath[0]!.toLowerCase() === 'api') return null;
  const project = fullPath.join('/');
  const rest = at < 0 ? [] : path.slice(at + 3).replace(/\/$/, '').split('/');
  const tag = rest[1] === undefined ? null : decode(rest[1]);
  if (rest.length === 0 || (rest.length === 1 && rest[0] === 'releases')) return { kind: 'releases', fullPath: project };
  if (rest.length === 2 && rest[0] === 'releases' && rest[1] === 'new') return { kind: 'new', fullPath: project };
  if (!tag) return null;
  if (rest.length === 2 && rest[0] === 'releases') return { kind: 'release', fullPath: project, tag };
  if (rest.length === 3 && rest[0] === 'releases' && rest[2] === 'edit') return { kind: 'edit', fullPath: project, tag };
  if (rest.length === 2 && rest[0] === 'tags') return { kind: 'tag', fullPath: project, tag };
  return null;
}

const pageNumber = (value: unknown): number => {
  const n = typeof value === 'string' && /^[1-9][0-9]{0,5}$/.test(value) ? Number(value) : 1;
  return n;
};

const HomeQuery = Type.Object({
  search: Type.Optional(Type.String({ maxLength: 255 })),
  mine: Type.Optional(Type.String({ maxLength: 10 })),
  page: paginationQuery.page,
});

export default async function webRoutes(instance: FastifyInstance, deps: RouteDeps) {
  const { config } = deps;
  instance.setErrorHandler(htmlErrors(config));
  await instance.register(webAssetRoutes, deps);
  await instance.register(webSessionRoutes, deps);
  await instance.register(webFormRoutes, deps);

  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const urls = urlsFor(config.externalUrl);

  app.get(
    '/',
    { config: facts.page, schema: { summary: 'Projects: the public ones, and signed in those one may see (search, mine=yes)', tags: ['Web pages'], querystring: HomeQuery, response: webResponses('/', facts.page, { 200: htmlPage('The projects page') }) } },
    async (request, reply) => {
      const { search = '' } = request.query;
      // The API's reading of `page`: below 1 is 1, past the last is an empty page.
      const page = pageOf({ page: request.query.page, per_page: PROJECTS_PER_PAGE });
      const mine = request.query.mine === 'yes' && request.ctx.actor.user !== null;
      const data = await homePage(request.ctx, { search, mine, page });
      return sendPage(reply, 200, homeView(chromeOf(request, config), { ...data, page: page.page, search, mine }));
    },
  );

  const showPage = async (request: FastifyRequest, reply: FastifyReply, found: WebPage) => {
    const ctx = request.ctx;
    const chrome = chromeOf(request, config);
    switch (found.kind) {
      case 'releases': {
        const page = pageNumber((request.query as Record<string, unknown>).page);
        return sendPage(reply, 200, releasesView(chrome, { ...(await releasesPage(ctx, found.fullPath, page)), page }));
      }
      case 'release':
        return sendPage(reply, 200, releaseView(chrome, await releasePage(ctx, found.fullPath, found.tag)));
      case 'tag':
        return sendPage(reply, 200, tagView(chrome, await tagPage(ctx, found.fullPath, found.tag)));
      case 'edit': {
        const { project, values } = await editPage(ctx, found.fullPath, found.tag);
        const withBlank = { ...values, links: [...values.links, { name: '', url: '', direct_asset_path: '', link_type: 'other' }] };
        return sendPage(reply, 200, releaseFormView(chrome, {
          project, mode: 'edit', values: withBlank, errors: {},
          action: urls.updateAction(project.id, values.tag_name), cancel: urls.release(project.full_path, values.tag_name),
        }));
      }
      case 'new': {
        const { project, tags } = await newReleasePage(ctx, found.fullPath);
        const blank = { name: '', url: '', direct_asset_path: '', link_type: 'other' };
        return sendPage(reply, 200, releaseFormView(chrome, {
          project, mode: 'new', tags, errors: {},
          values: { tag_name: '', ref: 'main', tag_message: '', name: '', released_at: '', description: '', links: [blank, { ...blank }] },
          action: urls.createAction(project.id), cancel: urls.releases(project.full_path),
        }));
      }
    }
  };

  app.get(
    '/*',
    {
      config: facts.webRead,
      schema: {
        summary: 'Web pages and URLs: /<full path>[/-/releases[/new|/<tag>[/edit]]], /<full path>/-/tags/<tag>, /<full path>/-/releases/<tag>/downloads/<filepath>, /<full path>/-/releases/permalink/latest[/<suffix>], /<full path>/uploads/<secret>/<filename>',
        tags: ['Web pages'],
        // A page, or the bytes of a project upload at its classic address.
        response: webResponses('/*', facts.webRead, {
          ...fileAnswers,
          200: { ...htmlPage('A page, or an upload'), content: { ...htmlPage('A page').content, ...fileAnswers[200].content } },
          302: Found,
        }),
      },
    },
    async (request, reply) => {
      const [path, query = ''] = request.url.split(/\?(.*)/s, 2);
      // The classic address of a project upload, as older glab and release-it link it.
      const upload = parseClassicUploadPath(path);
      if (upload) return sendUpload(request, reply, upload);
      const parsed = parseWebReleasePath(path);
      if (parsed) {
        const location =
          parsed.kind === 'download'
            ? await downloads.webAssetUrl(request.ctx, parsed.fullPath, parsed.tag, parsed.rest)
            : await downloads.webLatestUrl(request.ctx, parsed.fullPath, parsed.rest, query);
        return reply.redirect(location, 302);
      }
      const found = parseWebPagePath(path);
      if (found) return showPage(request, reply, found);
      // The API's unknown paths are the API's 404; any other is the web's (a page for a browser).
      if (isApiPath(path)) return reply.callNotFound();
      throw downloads.webNotFound();
    },
  );
}
