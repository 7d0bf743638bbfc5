import type { FastifySchemaValidationError } from 'fastify/types/schema.js';
import type { Ajv, KeywordDefinition } from 'ajv';
import { badParams } from '../errors.js';

// Turns Ajv's schema errors into Grape's one-line messages, e.g. "name is missing, url is missing".

/** "/assets/links/0" + "name" → "assets[links][0][name]", Rails' way of naming nested params. */
function paramName(instancePath: string, leaf?: string): string {
  const parts = instancePath.split('/').filter(Boolean);
  if (leaf !== undefined) parts.push(leaf);
  if (parts.length === 0) return 'params';
  return parts[0] + parts.slice(1).map((p) => `[${p}]`).join('');
}

function messageFor(error: FastifySchemaValidationError): string {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return `${paramName(error.instancePath, String(params.missingProperty))} is missing`;
    case 'enum':
      // A bad item of a list is reported on the list, as Grape does: "scopes does not have a valid value".
      return `${paramName(error.instancePath.replace(/\/\d+$/, ''))} does not have a valid value`;
    case 'atLeastOneOf': {
      const fields = params.fields as string[];
      return `${fields.join(', ')} are missing, at least one parameter must be provided`;
    }
    default:
      return `${paramName(error.instancePath)} is invalid`;
  }
}

export function schemaErrorFormatter(errors: FastifySchemaValidationError[]): Error {
  const messages: string[] = [];
  for (const error of errors) {
    // anyOf/oneOf wrappers only repeat what their branches already said.
    if (error.keyword === 'anyOf' || error.keyword === 'oneOf' || error.keyword === 'if') continue;
    const message = messageFor(error);
    if (!messages.includes(message)) messages.push(message);
  }
  return badParams(messages.join(', ') || 'params are invalid');
}

/** Ajv keyword for Grape's `at_least_one_of`: `{ atLeastOneOf: ['name', 'url'] }` on an object schema. */
const atLeastOneOfKeyword: KeywordDefinition = {
  keyword: 'atLeastOneOf',
  type: 'object',
  schemaType: 'array',
  errors: true,
  validate: function check(fields: string[], data: Record<string, unknown>): boolean {
    const ok = fields.some((f) => data[f] !== undefined);
    if (!ok) {
      (check as unknown as { errors: object[] }).errors = [
        { keyword: 'atLeastOneOf', instancePath: '', params: { fields }, message: 'at least one parameter must be provided' },
      ];
    }
    return ok;
  },
};

export const addAtLeastOneOf = (ajv: Ajv) => ajv.addKeyword(atLeastOneOfKeyword);
