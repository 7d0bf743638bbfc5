import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Page } from '../store/page.js';

export const MAX_PER_PAGE = 100;
export const DEFAULT_PER_PAGE = 20;
/** Past any real list, and small enough that the offset stays an exact integer on both stores. */
export const MAX_PAGE = 1_000_000_000;
const MAX_LINK_HEADER = 8 * 1024;

/** Query fields every list accepts; merge into a route's querystring schema. */
export const paginationQuery = {
  page: Type.Optional(Type.Integer()),
  per_page: Type.Optional(Type.Integer()),
};

/** GitLab's leniency: page ≤ 0 is page 1, per_page is capped at 100 and ≤ 0 means the default.
 * Ours: a page beyond MAX_PAGE is read as MAX_PAGE (an empty page), not a database overflow. */
export function pageOf(query: { page?: number; per_page?: number }): Page {
  const page = query.page && query.page > 0 ? Math.min(query.page, MAX_PAGE) : 1;
  const requested = query.per_page && query.per_page > 0 ? query.per_page : DEFAULT_PER_PAGE;
  const perPage = Math.min(requested, MAX_PER_PAGE);
  return { page, perPage, offset: (page - 1) * perPage };
}

/** Sets X-* and Link headers the way GitLab does, with links built on the public base URL. */
export function setPageHeaders(request: FastifyRequest, reply: FastifyReply, externalUrl: string, p: Page, total: number): void {
  const totalPages = Math.max(1, Math.ceil(total / p.perPage));
  const next = p.page < totalPages ? String(p.page + 1) : '';
  const prev = p.page > 1 && p.page <= totalPages ? String(p.page - 1) : '';

  const [pathPart, queryPart = ''] = request.url.split('?', 2);
  const base = externalUrl + pathPart;
  const linkHeader = (keepQuery: boolean) => {
    const link = (page: number, rel: string) => {
      const params = new URLSearchParams(keepQuery ? queryPart : '');
      params.delete('private_token');
      params.delete('job_token');
      params.set('page', String(page));
      params.set('per_page', String(p.perPage));
      return `<${base}?${params.toString()}>; rel="${rel}"`;
    };
    const links: string[] = [];
    if (prev) links.push(link(Number(prev), 'prev'));
    if (next) links.push(link(Number(next), 'next'));
    links.push(link(1, 'first'));
    links.push(link(totalPages, 'last'));
    return links.join(', ');
  };
  // Ours: the header repeats the query four times, so a huge query would push the response headers
  // past what clients accept (Node: 16 KiB); then the links carry only page and per_page.
  let link = linkHeader(true);
  if (link.length > MAX_LINK_HEADER) link = linkHeader(false);

  reply.headers({
    'x-page': String(p.page),
    'x-per-page': String(p.perPage),
    'x-next-page': next,
    'x-prev-page': prev,
    'x-total': String(total),
    'x-total-pages': String(totalPages),
    ...(link.length <= MAX_LINK_HEADER ? { link } : {}),
  });
}

/** A list route's answer: the page its query asks for, listed, with the page headers set. */
export async function sendPage<T>(
  // Any route's request: the query was validated against paginationQuery by the route's schema.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  request: FastifyRequest<any, any, any, any, any>,
  reply: FastifyReply,
  externalUrl: string,
  list: (page: Page) => Promise<{ items: T[]; total: number }>,
): Promise<T[]> {
  const page = pageOf(request.query as { page?: number; per_page?: number });
  const { items, total } = await list(page);
  setPageHeaders(request, reply, externalUrl, page, total);
  return items;
}
