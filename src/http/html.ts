import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { ApiError } from '../errors.js';
import { isConnectionLoss } from '../store/errors.js';
import { errorView } from '../views/errors.js';
import type { Chrome } from '../views/layout.js';
import { urlsFor } from '../views/urls.js';
import { isSecretName } from './logging.js';
import { sessionOf } from './sessions.js';

// HTML answers: the pages' headers, and errors as pages for browsers. A client that does not ask
// for HTML (curl, CI, the API's clients) gets the same JSON error as from any other route, so a
// download URL that misses answers exactly as before, and exactly like a page that misses.

/**
 * The pages' own files only, no inline script or style; images in release notes from anywhere on
 * https; forms post only here; Trusted Types keep any script from writing HTML.
 */
export const PAGE_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' https:",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
].join('; ');

/** A browser asks for HTML; API clients and curl (any type, or none named) do not. */
export function wantsHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  return typeof accept === 'string' && /\btext\/html\b/i.test(accept);
}

/** The URL without parameters that hold credentials (`?private_token=`): a page never repeats them. */
function withoutSecrets(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  for (const name of [...params.keys()]) if (isSecretName(name)) params.delete(name);
  const rest = params.toString();
  return rest ? `${url.slice(0, q)}?${rest}` : url.slice(0, q);
}

/** Under /api is the API (the web wildcard also sees its unknown paths): its errors are always JSON. */
export const isApiPath = (url: string): boolean => /^\/api(\/|\?|$)/i.test(url);

/** What every page shows around its content: who is signed in, the sign-out form's token, links. */
export function chromeOf(request: FastifyRequest, config: Config): Chrome {
  const urls = urlsFor(config.externalUrl);
  const user = request.ctx?.actor.user;
  return {
    urls,
    user: user ? { username: user.username, name: user.name } : null,
    csrf: sessionOf(request)?.csrf_token ?? '',
    here: `${urls.base}${withoutSecrets(request.url)}`,
  };
}

/**
 * Sends a page. Never stored by a cache (it may hold a private project's data and a form's token);
 * the referrer goes to this site only, which keeps a private page's URL from the sites it links
 * to while a form's Origin header still names this one.
 */
export function sendPage(reply: FastifyReply, status: number, html: string): FastifyReply {
  return reply
    .code(status)
    .header('content-security-policy', PAGE_POLICY)
    .header('referrer-policy', 'same-origin')
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(html);
}

/** Error handler of the web routes: a page for a browser, else on to the JSON error handler. */
export function htmlErrors(config: Config) {
  return (error: FastifyError | ApiError, request: FastifyRequest, reply: FastifyReply) => {
    if (!wantsHtml(request) || isApiPath(request.url)) throw error;
    let status: number;
    let detail: string;
    if (error instanceof ApiError) {
      status = error.status;
      reply.headers(error.headers);
      const body = error.body as { message?: unknown; error?: unknown };
      detail = typeof body.message === 'string' ? body.message : typeof body.error === 'string' ? body.error : '';
    } else if ((error.statusCode ?? 500) >= 400 && (error.statusCode ?? 500) < 500) {
      status = error.statusCode!;
      detail = error.message;
    } else if (isConnectionLoss(error)) {
      request.log.warn({ err: error }, 'database unreachable');
      status = 503;
      detail = 'The database cannot be reached. Try again in a moment.';
    } else {
      request.log.error({ err: error }, 'unexpected error');
      status = 500;
      detail = 'Something went wrong on our side.';
    }
    return sendPage(reply, status, errorView(chromeOf(request, config), status, detail));
  };
}
