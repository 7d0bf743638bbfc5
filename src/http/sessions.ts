import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { ApiError } from '../errors.js';
import { anonymous } from '../policy.js';
import { actorForSession } from '../services/sessions.js';
import type { WebSession } from '../store/session-schema.js';
import type { TokenResolver } from './credentials.js';
import { factsOf } from './route-facts.js';

// The browser's credential: a session cookie, read only on routes that declare 'session' (so no
// API route takes it, and no page of another site can make the browser call one with it). Routes
// that take the cookie and a body are forms: the pipeline checks their authenticity token.

export const SESSION_COOKIE = '_relinks_session';
/** Before sign-in there is no session to hold the forms' token: this cookie holds it (double submit). */
export const CSRF_COOKIE = '_relinks_csrf';
export const CSRF_FIELD = 'authenticity_token';

const sessions = new WeakMap<FastifyRequest, WebSession>();

export function cookieOf(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  const value = request.server.parseCookie(header)[name];
  return value === '' ? undefined : value;
}

/** The session cookie's value, when the route takes sessions and the browser sent one. */
export function sessionCookieOf(request: FastifyRequest): string | undefined {
  return factsOf(request).auth.includes('session') ? cookieOf(request, SESSION_COOKIE) : undefined;
}

/** A cookie's value is a credential: a dead session is no error, the browser is simply signed out. */
export const browserSessions: TokenResolver = async (db, credentials, request) => {
  if (credentials.kind !== 'session') return null;
  const found = await actorForSession(db, credentials.token);
  if (!found) return anonymous;
  sessions.set(request, found.session);
  return found.actor;
};

/** The live session the request came with, if any. */
export const sessionOf = (request: FastifyRequest): WebSession | undefined => sessions.get(request);

/** Cookie attributes: HttpOnly, SameSite=Lax, Secure behind https, scoped to where relinks is served. */
function cookieOptions(config: Config) {
  const url = new URL(config.externalUrl);
  return { path: url.pathname.replace(/\/+$/, '') || '/', httpOnly: true, sameSite: 'lax' as const, secure: url.protocol === 'https:' };
}

export function setSessionCookie(reply: FastifyReply, config: Config, value: string): void {
  reply.setCookie(SESSION_COOKIE, value, cookieOptions(config));
}

export function clearSessionCookie(reply: FastifyReply, config: Config): void {
  reply.clearCookie(SESSION_COOKIE, cookieOptions(config));
}

/** The token a page puts in its forms: the session's, or (signed out) the CSRF cookie's, set when missing. */
export function csrfTokenFor(request: FastifyRequest, reply: FastifyReply, config: Config): string {
  const session = sessionOf(request);
  if (session) return session.csrf_token;
  const existing = cookieOf(request, CSRF_COOKIE);
  if (existing && /^[A-Za-z0-9_-]{43}$/.test(existing)) return existing;
  const fresh = randomBytes(32).toString('base64url');
  reply.setCookie(CSRF_COOKIE, fresh, cookieOptions(config));
  return fresh;
}

const same = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/** Rails' answer to a form without the right token. */
export const csrfRejected = () => new ApiError(422, { message: '422 Unprocessable Entity - the form\'s authenticity token is missing or wrong; reload the page and send it again' });

/** The origins a form of ours is sent from: EXTERNAL_URL's, and the one the browser reached us at. */
function sameOrigin(request: FastifyRequest, config: Config): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  return origin === new URL(config.externalUrl).origin || origin === `${request.protocol}://${request.host}`;
}

/**
 * A form's authenticity token must be the session's (signed in) or the CSRF cookie's (signed
 * out), and a browser that says where the form came from must say here.
 */
export function verifyCsrf(request: FastifyRequest, config: Config): void {
  const body = request.body as Record<string, unknown> | undefined;
  const sent = body && typeof body[CSRF_FIELD] === 'string' ? (body[CSRF_FIELD] as string) : '';
  const expected = sessionOf(request)?.csrf_token ?? cookieOf(request, CSRF_COOKIE) ?? '';
  if (sent === '' || expected === '' || !same(sent, expected) || !sameOrigin(request, config)) throw csrfRejected();
}
