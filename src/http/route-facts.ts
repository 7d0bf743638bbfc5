import type { FastifyRequest } from 'fastify';

// What a route declares about itself in its options' `config`; the pipeline (http/pipeline.ts)
// reads these and nothing else to decide who may call it, how it is counted and what body it reads.

/**
 * Ways of presenting a token. Anonymous callers are always let through to the policy, which decides.
 * `session` is a signed-in browser's cookie (http/sessions.ts): a route that takes it and a body is
 * a form, and the pipeline checks the form's authenticity token (CSRF).
 */
export type Credential = 'personal' | 'job' | 'basic' | 'session';
export type Scope = 'api' | 'read_api' | 'read_user';
/**
 * `form` is urlencoded or multipart fields (curl --data / --form); `json` a JSON document; `stream`
 * a file the route reads itself as it arrives, never parsed or held whole (http/stream-body.ts).
 */
export type BodyKind = 'json' | 'form' | 'stream';
/** Counted per project on top of the per-user limit: GitLab's release write throttle. */
export type RateLimitGroup = 'api' | 'release-writes';

export interface RouteFacts {
  /** `public`: no credential is read at all (probes). Otherwise the credentials the route takes. */
  auth: 'public' | readonly Credential[];
  /** A personal token needs one of these scopes. Job tokens carry no scopes. */
  scopes?: readonly Scope[];
  /** Named `throttle`, GitLab's word: @fastify/rate-limit owns `config.rateLimit`. */
  throttle?: RateLimitGroup;
  /** The bodies the route reads; none when absent. Query and body parameters merge only here. */
  body?: readonly BodyKind[];
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Read through factsOf(); null until then. `url` is the route's template (none when unmatched). */
    routeFacts: (RouteFacts & { url?: string }) | null;
  }
  interface FastifyContextConfig {
    auth?: RouteFacts['auth'];
    scopes?: RouteFacts['scopes'];
    throttle?: RouteFacts['throttle'];
    body?: RouteFacts['body'];
  }
}

// The common declarations, so a route reads as what it is.
const READ_SCOPES: readonly Scope[] = ['api', 'read_api'];
const WRITE_SCOPES: readonly Scope[] = ['api'];
const PARAMS: readonly BodyKind[] = ['json', 'form'];

export const facts = {
  /** Health probes, the metrics endpoint: no token read, not rate limited. */
  public: { auth: 'public' },
  /** A read with a personal token (or none). */
  read: { auth: ['personal'], scopes: READ_SCOPES, throttle: 'api' },
  /** A write with a personal token and GitLab's parameters in the query or the body. */
  write: { auth: ['personal'], scopes: WRITE_SCOPES, throttle: 'api', body: PARAMS },
  /** A delete: its only parameters are in the path, but a token may come as a body field. */
  remove: { auth: ['personal'], scopes: WRITE_SCOPES, throttle: 'api', body: PARAMS },
  /** The current user: a `read_user` token may read it too. */
  userRead: { auth: ['personal'], scopes: [...READ_SCOPES, 'read_user'], throttle: 'api' },
  /** Reads a CI job token may also make: releases, links, tags, asset downloads. */
  jobRead: { auth: ['personal', 'job'], scopes: READ_SCOPES, throttle: 'api' },
  /** Release and link writes: job tokens too, and counted per project. */
  releaseWrite: { auth: ['personal', 'job'], scopes: WRITE_SCOPES, throttle: 'release-writes', body: PARAMS },
  releaseRemove: { auth: ['personal', 'job'], scopes: WRITE_SCOPES, throttle: 'release-writes', body: PARAMS },
  /** Package reads: tokens of every kind, and HTTP Basic as package managers send them (curl --user). */
  packageRead: { auth: ['personal', 'job', 'basic'], scopes: READ_SCOPES, throttle: 'api' },
  /**
   * A package file's bytes, read: package reads, and a signed-in browser's session too, since a
   * release page links hosted files (GitLab's API takes its session cookie on reads as well). No
   * body, so no form and no authenticity token: a GET or HEAD changes nothing but a download count.
   */
  packageDownload: { auth: ['personal', 'job', 'basic', 'session'], scopes: READ_SCOPES, throttle: 'api' },
  /** A package file's bytes, streamed in. */
  packageUpload: { auth: ['personal', 'job', 'basic'], scopes: WRITE_SCOPES, throttle: 'api', body: ['stream'] },
  packageRemove: { auth: ['personal', 'job', 'basic'], scopes: WRITE_SCOPES, throttle: 'api', body: PARAMS },
  /** A project upload: one multipart file, streamed in. */
  fileUpload: { auth: ['personal', 'job'], scopes: WRITE_SCOPES, throttle: 'api', body: ['stream'] },
  /** A web page: a signed-in browser, or a token as anywhere. */
  page: { auth: ['session', 'personal'], scopes: READ_SCOPES, throttle: 'api' },
  /** The web URLs a browser or CI follows: pages, and asset downloads and permalinks (job tokens too). */
  webRead: { auth: ['session', 'personal', 'job'], scopes: READ_SCOPES, throttle: 'api' },
  /** Signing in and out: the browser's session (or none yet) and a form, its authenticity token checked. */
  signIn: { auth: ['session'], scopes: READ_SCOPES, throttle: 'api', body: ['form'] },
  /** A form that changes something: only a signed-in browser, its authenticity token checked. */
  form: { auth: ['session'], scopes: WRITE_SCOPES, throttle: 'api', body: ['form'] },
} as const satisfies Record<string, RouteFacts>;

/**
 * The facts of the route a request matched; a request no route matched is a plain API read.
 * Fastify's `request.routeOptions` builds a fresh object on every read, and a request asks for its
 * facts some ten times on its way through the pipeline, so they are read once and kept on the
 * request (`routeFacts`, declared by the pipeline so every request has the same shape).
 */
export function factsOf(request: FastifyRequest): RouteFacts & { url?: string } {
  // A route may hand its request on to the 404 handler (reply.callNotFound()): then the kept facts
  // (a matched route's, with its url) are stale. request.is404 is a plain read, no allocation.
  const kept = request.routeFacts;
  if (kept && (kept.url === undefined) === request.is404) return kept;
  const config = request.routeOptions.config;
  return (request.routeFacts = (config?.auth ? config : facts.read) as RouteFacts & { url?: string });
}

/** The route reads its body itself as a stream: nothing may look inside it before the handler. */
export const readsStream = (request: FastifyRequest): boolean => factsOf(request).body?.includes('stream') === true;

export const isPublic = (request: FastifyRequest): boolean => factsOf(request).auth === 'public';
