import { createRequire } from 'node:module';
import type { FastifyContextConfig, FastifyInstance, FastifySchema } from 'fastify';
import swagger from '@fastify/swagger';
import { GitLabError } from '../routes/responses.js';

// The OpenAPI 3.1 document is generated from the routes' own schemas (@fastify/swagger), so it
// cannot drift from what the server validates and serializes. Routes declare their successes and
// the errors only they give (409, 422, ...); the errors that the request pipeline gives to whole
// classes of routes are added here, from what the route is, when the document is built.

export const OPENAPI_PATH = '/-/openapi.json';

export interface DocumentedRoute {
  method: string;
  url: string;
  config?: FastifyContextConfig;
}

export const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Bad request: a parameter is missing or invalid, malformed JSON or form body, a NUL byte, broken percent-encoding',
  401: 'Unauthorized: the token is unknown, expired or revoked, or the route needs one',
  403: 'Forbidden: the role is too low, the token lacks the scope (insufficient_scope), or a job token may not use this route',
  404: 'Not found, or not visible to the caller (the two are indistinguishable)',
  409: 'Conflict: it exists already',
  413: 'Request body over 1 MiB, or too many multipart parts',
  415: 'Unsupported body Content-Type',
  422: 'Unprocessable',
  429: 'Rate limited (when limits are on): Retry-After and RateLimit-* headers say for how long',
  500: 'Unexpected error (logged on the server; the body says no more)',
  503: 'Database unreachable: retry later or on another node',
};

/**
 * The error statuses the request pipeline can give a route, whatever its handler does, from the
 * facts the route declares (http/route-facts.ts): public routes read no credential and reach no
 * store behind the pipeline; throttled ones can be 429; those that read a body can be 413 and 415.
 */
export function errorStatusesFor(route: DocumentedRoute): number[] {
  const authenticated = route.config?.auth !== 'public';
  const namesObjects = /[:*]/.test(route.url);
  const statuses = [400, 500];
  if (authenticated) statuses.push(401, 403, 503);
  if (route.config?.throttle) statuses.push(429);
  if (namesObjects) statuses.push(404);
  if (route.config?.body) statuses.push(413, 415);
  return statuses.sort((a, b) => a - b);
}

/** Fastify's `/downloads/*` as an OpenAPI template: the wildcard is the `path` parameter. */
export function openapiPath(url: string): string {
  return url.replace(/:(\w+)/g, '{$1}').replace(/\*$/, '{path}');
}

type Responses = Record<string, unknown>;

/** GitLab's throttle headers, as src/http/rate-limit.ts sends them. */
const THROTTLE_HEADERS = {
  'retry-after': { type: 'string', description: 'Seconds until the limit resets' },
  'ratelimit-name': { type: 'string', description: 'throttle_authenticated_api, throttle_unauthenticated_api or throttle_release_writes' },
  'ratelimit-limit': { type: 'string', description: 'Requests per minute' },
  'ratelimit-remaining': { type: 'string', description: 'Always 0 here' },
  'ratelimit-reset': { type: 'string', description: 'Unix time of the reset' },
  'ratelimit-resettime': { type: 'string', description: 'HTTP date of the reset' },
};

/** The route's responses plus the pipeline's errors; a route's own entry for a status wins. */
export function documentedResponses(route: DocumentedRoute & { schema?: FastifySchema }): Responses {
  const declared = (route.schema?.response ?? {}) as Responses;
  const errors: Responses = {};
  for (const status of errorStatusesFor(route)) {
    errors[status] = { ...GitLabError, 'x-response-description': ERROR_DESCRIPTIONS[status], ...(status === 429 ? { headers: THROTTLE_HEADERS } : {}) };
  }
  return { ...errors, ...declared };
}

const BODY_TYPES = ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data'];

const SCHEMAS = '#/components/schemas/';

/**
 * Moves each titled schema (GitLabError, Link, Release, ...) to components and refers to it, so
 * generated clients get one named model per entity and the document states each shape once. A
 * copy that differs from the first of its title (a variant marked x-relinks) stays inline.
 */
export function hoistTitledSchemas(document: { paths?: object; components?: { schemas?: Record<string, unknown> } }) {
  const components: Record<string, unknown> = { ...document.components?.schemas };
  const visit = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(visit);
    if (!node || typeof node !== 'object') return node;
    const out = Object.fromEntries(Object.entries(node).map(([key, value]) => [key, visit(value)]));
    const title = out.title;
    if (typeof title !== 'string') return out;
    if (!(title in components)) components[title] = out;
    return JSON.stringify(components[title]) === JSON.stringify(out) ? { $ref: SCHEMAS + title } : out;
  };
  // Only under paths: elsewhere `title` is not a schema's (info.title).
  const paths = visit(document.paths ?? {});
  return { ...document, paths, components: { ...document.components, schemas: components } };
}

/** The schema with every components reference replaced by its target (for validators without the document). */
export function inlineRefs(schema: unknown, components: Record<string, unknown>): unknown {
  if (Array.isArray(schema)) return schema.map((s) => inlineRefs(s, components));
  if (!schema || typeof schema !== 'object') return schema;
  const ref = (schema as { $ref?: unknown }).$ref;
  if (typeof ref === 'string' && ref.startsWith(SCHEMAS)) return inlineRefs(components[ref.slice(SCHEMAS.length)], components);
  return Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, inlineRefs(value, components)]));
}

/** A wildcard's parameter, renamed as openapiPath names it. */
function wildcardParams(params: unknown): unknown {
  const schema = params as { properties?: Record<string, unknown>; required?: string[] } | undefined;
  if (!schema?.properties?.['*']) return params;
  const { '*': rest, ...others } = schema.properties;
  return {
    ...schema,
    properties: { ...others, path: { ...(rest as object), description: 'The rest of the path; may contain `/`' } },
    required: schema.required?.map((name) => (name === '*' ? 'path' : name)),
  };
}

const TOKEN_SCHEMES = {
  private_token_header: { type: 'apiKey', in: 'header', name: 'PRIVATE-TOKEN', description: 'A personal access token' },
  private_token_query: { type: 'apiKey', in: 'query', name: 'private_token' },
  job_token_header: { type: 'apiKey', in: 'header', name: 'JOB-TOKEN', description: 'A job token (relinks mints them: POST /projects/{id}/ci/job_tokens)' },
  job_token_query: { type: 'apiKey', in: 'query', name: 'job_token' },
  bearer: { type: 'http', scheme: 'bearer', description: 'A personal access token or a job token' },
} as const;

const PERSONAL_SCHEMES = ['private_token_header', 'private_token_query', 'bearer'];
const JOB_SCHEMES = ['job_token_header', 'job_token_query', 'bearer'];

/** A signed-in browser: only the routes that declare it read the cookie (the web pages and forms). */
const SESSION_SCHEME = {
  session_cookie: { type: 'apiKey', in: 'cookie', name: '_relinks_session', description: 'A signed-in browser\'s session (web pages and their forms; see docs/web.md)' },
} as const;

/** The schemes a route's declared credentials stand for, or undefined for the document's default (tokens of both kinds). */
function securityOf(auth: readonly string[]): Array<Record<string, []>> | undefined {
  const takes = (c: string) => auth.includes(c);
  if (takes('job') && takes('personal') && !takes('session')) return undefined;
  const names = new Set([...(takes('personal') ? PERSONAL_SCHEMES : []), ...(takes('job') ? JOB_SCHEMES : []), ...(takes('session') ? ['session_cookie'] : [])]);
  return [...[...names].map((name) => ({ [name]: [] as [] })), {}];
}

/** Registers the generator; call before any route is added (it collects them as they come). */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  // src/http and dist/http are both two levels below the package.
  const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'relinks',
        version,
        description:
          "GitLab's Release links API and the calls around it (releases, tags, projects, groups, users), as relinks serves them. " +
          'Operations and schemas that GitLab does not have are marked `x-relinks: true`. Errors have GitLab\'s bodies: ' +
          '`{"message": ...}` or `{"error": ...}`.',
      },
      components: { securitySchemes: { ...TOKEN_SCHEMES, ...SESSION_SCHEME } },
      // Anonymous requests are allowed too: public projects can be read without a token.
      security: [...Object.keys(TOKEN_SCHEMES).map((name) => ({ [name]: [] })), {}],
    },
    transform: ({ schema, url, route }) => {
      const documented = { method: String(route.method), url, config: route.config, schema };
      const transformed: Record<string, unknown> = { ...schema, response: documentedResponses(documented) };
      if (schema?.params) transformed.params = wildcardParams(schema.params);
      // A route that reads a body takes JSON, curl's --data and curl's --form alike.
      if (schema?.body) transformed.consumes = BODY_TYPES;
      const auth = route.config?.auth;
      if (auth === 'public') transformed.security = [];
      else if (auth) {
        const security = securityOf(auth);
        if (security) transformed.security = security;
      }
      return { schema: transformed as FastifySchema, url: openapiPath(url) };
    },
    transformObject: (document) => ('openapiObject' in document ? hoistTitledSchemas(document.openapiObject as object) : document.swaggerObject) as never,
  });
}
