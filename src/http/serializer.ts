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

export const declaredOrderSerializer: FastifySerializerCompiler<unknown> = ({ schema }) =>
  fastJsonStringify(withoutRequired(schema) as Parameters<typeof fastJsonStringify>[0]);
