import fastJsonStringify from 'fast-json-stringify';
import type { FastifySerializerCompiler } from 'fastify/types/schema.js';

// fast-json-stringify writes a schema's required keys first and its optional ones after. GitLab
// puts some optional keys (a release's description_html, milestones) between required ones, and
// the response schemas list every key in GitLab's order, so serialization follows that list: the
// serializer gets the schema without `required`. Whether an answer holds its required keys is the
// response check's business (http/response-check.ts), against the untouched schema.

function withoutRequired(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withoutRequired);
  if (!schema || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'required' && Array.isArray(value)) continue;
    out[key] = key === 'properties' ? Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, withoutRequired(v)])) : withoutRequired(value);
  }
  return out;
}

// Every app built in this process (each server a test file starts, a CLI command's app) declares
// the same schemas, some of them built afresh per route (an error body with the route's own
// description): compiled once per distinct text, not once per app.
const compiled = new Map<string, (data: unknown) => string>();

export const declaredOrderSerializer: FastifySerializerCompiler<unknown> = ({ schema }) => {
  const text = JSON.stringify(schema);
  let serialize = compiled.get(text);
  if (!serialize) {
    serialize = fastJsonStringify(withoutRequired(schema) as Parameters<typeof fastJsonStringify>[0]);
    compiled.set(text, serialize);
  }
  return serialize;
};
