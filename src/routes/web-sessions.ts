import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { chromeOf, sendPage } from '../http/html.js';
import { facts } from '../http/route-facts.js';
import { clearSessionCookie, cookieOf, csrfTokenFor, SESSION_COOKIE, sessionOf, setSessionCookie } from '../http/sessions.js';
import { signIn, SignInError, signOut } from '../services/sessions.js';
import { urlsFor } from '../views/urls.js';
import { signInView } from '../views/sign-in.js';
import type { RouteDeps } from './deps.js';
import { Found, htmlPage, webResponses } from './web-responses.js';

// Signing in and out at GitLab's URLs. Sign-in takes a username or an email with the password (or
// a personal access token as the password); the session lives in the database and the browser
// holds only its random key, in an HttpOnly, SameSite=Lax cookie (Secure behind https).

const SignInQuery = Type.Object({ redirect_to: Type.Optional(Type.String({ maxLength: 2048 })) });
const SignInBody = Type.Object({
  authenticity_token: Type.Optional(Type.String()),
  login: Type.String({ maxLength: 255 }),
  password: Type.String({ maxLength: 1024 }),
  redirect_to: Type.Optional(Type.String({ maxLength: 2048 })),
});
const SignOutBody = Type.Object({ authenticity_token: Type.Optional(Type.String()) });

/** Only a path of this site: `//host` and `/\host` would leave it. */
export function safeReturn(base: string, target: string | undefined): string {
  const home = `${base}/`;
  if (!target || !target.startsWith(`${base}/`) || /^\/[/\\]/.test(target.slice(base.length)) || /[\u0000-\u001f\\]/.test(target)) return home;
  return target;
}

export default async function webSessionRoutes(instance: FastifyInstance, { config }: RouteDeps) {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const urls = urlsFor(config.externalUrl);

  app.get(
    '/users/sign_in',
    {
      config: facts.page,
      schema: { summary: 'The sign-in page (signed in already: on to redirect_to)', tags: ['Web pages'], querystring: SignInQuery, response: webResponses('/users/sign_in', facts.page, { 200: htmlPage('The sign-in form'), 302: Found }) },
    },
    async (request, reply) => {
      const target = safeReturn(urls.base, request.query.redirect_to);
      if (request.ctx.actor.user) return reply.redirect(target, 302);
      const chrome = { ...chromeOf(request, config), csrf: csrfTokenFor(request, reply, config) };
      return sendPage(reply, 200, signInView(chrome, { login: '', redirectTo: target }));
    },
  );

  app.post(
    '/users/sign_in',
    {
      config: facts.signIn,
      schema: {
        summary: 'Sign in: username or email, and the password or a personal access token',
        tags: ['Web pages'],
        body: SignInBody,
        response: webResponses('/users/sign_in', facts.signIn, { 302: Found }, {
          422: 'The login or password is wrong, the account is locked for a while, or the form\'s authenticity token is wrong (page)',
          429: 'Too many failed sign-ins from this address: Retry-After says when to try again (page)',
        }),
      },
    },
    async (request, reply) => {
      const { login, password, redirect_to } = request.body;
      const target = safeReturn(urls.base, redirect_to);
      try {
        const previous = cookieOf(request, SESSION_COOKIE);
        const created = await signIn(request.ctx, login, password, request.ip);
        // A new key on every sign-in (no fixation); the session the browser had before ends.
        if (previous) await signOut(request.ctx, previous);
        setSessionCookie(reply, config, created.value);
        return reply.redirect(target, 302);
      } catch (error) {
        if (!(error instanceof SignInError)) throw error;
        const status = error.reason === 'throttled' ? 429 : 422;
        if (error.retryAfterSeconds) reply.header('retry-after', String(error.retryAfterSeconds));
        const chrome = { ...chromeOf(request, config), csrf: csrfTokenFor(request, reply, config) };
        return sendPage(reply, status, signInView(chrome, { login, redirectTo: target, error: error.message }));
      }
    },
  );

  app.post(
    '/users/sign_out',
    {
      config: facts.signIn,
      schema: { summary: 'Sign out: the session ends on every instance', tags: ['Web pages'], body: SignOutBody, response: webResponses('/users/sign_out', facts.signIn, { 302: Found }, { 422: 'The form\'s authenticity token is wrong (page)' }) },
    },
    async (request, reply) => {
      const value = cookieOf(request, SESSION_COOKIE);
      if (value && sessionOf(request)) await signOut(request.ctx, value);
      clearSessionCookie(reply, config);
      return reply.redirect(urls.home(), 302);
    },
  );
}
