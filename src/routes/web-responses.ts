import type { FastifyContextConfig } from 'fastify';
import { ERROR_DESCRIPTIONS, errorStatusesFor } from '../http/openapi.js';
import { GitLabError, Redirect, RELINKS_OWN } from './responses.js';

// Response declarations of the web routes. A page is HTML; every error a web route can give is
// JSON (GitLab's error body) for API clients and a page for browsers (Accept: text/html), so the
// errors the pipeline adds to every route are declared here with both media types.

const HTML = { type: 'string', description: 'An HTML page' } as const;

export const htmlPage = (description: string) => ({ description, content: { 'text/html': { schema: HTML } } });

const jsonOrPage = (description: string) => ({
  description,
  content: { 'application/json': { schema: GitLabError }, 'text/html': { schema: HTML } },
});

/** A 302 after a form is sent (or to the asset): the target is in Location. */
export const Found = Redirect;

/** Every status the pipeline may answer this route with, as JSON or a page, and the route's own answers. */
export function webResponses(url: string, config: FastifyContextConfig, own: Record<number, object>, errors: Record<number, string> = {}) {
  const out: Record<number, object> = {};
  for (const status of errorStatusesFor({ method: 'GET', url, config })) out[status] = jsonOrPage(ERROR_DESCRIPTIONS[status]);
  for (const [status, description] of Object.entries(errors)) out[Number(status)] = jsonOrPage(description);
  return { ...out, ...own };
}

/** relinks' own URLs (the form targets, the pages' files): GitLab has others. */
export const OWN = RELINKS_OWN;
