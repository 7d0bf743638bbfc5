import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { inlineRefs, openapiPath } from './openapi.js';

// Checks every answer against the OpenAPI document, for test servers: the status must be one the
// document lists for the route, and a JSON body must match that status's schema. Before
// serialization, an entity must also carry no field its schema lacks, since fast-json-stringify
// would drop it silently. Problems are collected, not thrown: the answer itself stays untouched.

interface Operation {
  responses: Record<string, { content?: Record<string, { schema?: object }> }>;
}

/** The same schema with undeclared properties refused, wherever properties are listed. */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (!schema || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    out[key] = key === 'properties' ? Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, closed(v)])) : closed(value);
  }
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

// One validator per distinct schema text for the whole process: the servers a test file starts
// declare the same schemas, and each would otherwise compile them again. The WeakMap finds an
// app's own schema object without rebuilding its text on every answer.
const ajv = new Ajv2020({ strict: false, allErrors: true });
const byText = new Map<string, ValidateFunction>();
const byObject = new WeakMap<object, ValidateFunction>();

function validatorFor(schema: object, prepare: (schema: object) => unknown): ValidateFunction {
  let validate = byObject.get(schema);
  if (!validate) {
    const prepared = prepare(schema) as object;
    const text = JSON.stringify(prepared);
    validate = byText.get(text) ?? ajv.compile(prepared);
    byText.set(text, validate);
    byObject.set(schema, validate);
  }
  return validate;
}

export function registerResponseCheck(app: FastifyInstance, problems: string[]): void {
  const routeOf = (request: FastifyRequest) =>
    request.is404 || request.method === 'HEAD' || !request.routeOptions.url ? null : { method: request.method, url: request.routeOptions.url };
  const label = (request: FastifyRequest, status: number) => `${request.method} ${request.routeOptions.url} ${status}`;
  const errorsOf = (validate: ValidateFunction) => ajv.errorsText(validate.errors, { separator: '; ' }).slice(0, 500);

  app.addHook('preSerialization', async (request, reply, payload) => {
    const route = routeOf(request);
    const schema = (request.routeOptions.schema?.response as Record<string, object> | undefined)?.[reply.statusCode];
    if (!route || !schema) return payload;
    const validate = validatorFor(schema, closed);
    if (!validate(payload)) problems.push(`${label(request, reply.statusCode)}: the entity does not match its schema: ${errorsOf(validate)}`);
    return payload;
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const route = routeOf(request);
    if (!route) return payload;
    const status = reply.statusCode;
    const document = app.swagger() as unknown as { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown> } };
    const operation = document.paths[openapiPath(route.url)]?.[route.method.toLowerCase()];
    if (!operation) {
      problems.push(`${label(request, status)}: the route is not in the document`);
      return payload;
    }
    const declared = operation.responses[status];
    if (!declared) {
      problems.push(`${label(request, status)}: status not declared (declared: ${Object.keys(operation.responses).join(', ')})`);
      return payload;
    }
    const type = String(reply.getHeader('content-type') ?? '').split(';')[0].trim();
    const body = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : null;
    if (!declared.content) {
      if (body) problems.push(`${label(request, status)}: a body where none is declared`);
      return payload;
    }
    const media = declared.content[type];
    if (!media) {
      problems.push(`${label(request, status)}: Content-Type ${type || '(none)'} not declared (declared: ${Object.keys(declared.content).join(', ')})`);
      return payload;
    }
    // Streams and non-JSON bodies are only checked for their type.
    if (type !== 'application/json' || body === null) return payload;
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      problems.push(`${label(request, status)}: the body is not JSON`);
      return payload;
    }
    if (!media.schema) return payload;
    const validate = validatorFor(media.schema, (schema) => inlineRefs(schema, document.components.schemas));
    if (!validate(parsed)) problems.push(`${label(request, status)}: ${errorsOf(validate)}; body ${body.slice(0, 300)}`);
    return payload;
  });
}
