import type { FastifyRequest } from 'fastify';
import type { FastifySchemaValidationError } from 'fastify/types/schema.js';
import type { Ajv, KeywordDefinition } from 'ajv';
import { AjvCompiler } from '@fastify/ajv-compiler';
import { badParams } from '../errors.js';
import { isDay, parseTime } from '../services/calendar.js';

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
    case 'mutuallyExclusive':
      // Grape names the parameters given, then the route's own message.
      return `${(params.fields as string[]).join(', ')} ${String(params.message)}`;
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

/** Grape's `mutually_exclusive ... message:`: `{ mutuallyExclusive: { fields: [...], message } }` on an object schema. */
const mutuallyExclusiveKeyword: KeywordDefinition = {
  keyword: 'mutuallyExclusive',
  type: 'object',
  schemaType: 'object',
  errors: true,
  validate: function check(rule: { fields: string[]; message: string }, data: Record<string, unknown>): boolean {
    const given = rule.fields.filter((f) => data[f] !== undefined);
    if (given.length < 2) return true;
    (check as unknown as { errors: object[] }).errors = [
      { keyword: 'mutuallyExclusive', instancePath: '', params: { fields: given, message: rule.message }, message: rule.message },
    ];
    return false;
  },
};

// GitLab's Date and DateTime parameters, checked against the calendar (see services/calendar.ts).
// An empty value passes: what it means (no filter, the default, no date) is the route's to say.
export const DATE_FORMAT = 'gitlab-date';
export const TIME_FORMAT = 'gitlab-date-time';

/**
 * Everything relinks adds to the request validator: Grape's at_least_one_of and mutually_exclusive,
 * the date formats, and `x-relinks`, the mark on what GitLab does not have (an annotation only).
 */
export function addRelinksKeywords(ajv: Ajv): Ajv {
  return addAtLeastOneOf(ajv)
    .addKeyword(mutuallyExclusiveKeyword)
    .addKeyword({ keyword: 'x-relinks', schemaType: 'boolean' })
    .addFormat(DATE_FORMAT, { type: 'string', validate: (text: string) => text === '' || isDay(text) })
    .addFormat(TIME_FORMAT, { type: 'string', validate: (text: string) => text === '' || parseTime(text) !== null });
}

// Blank values. Grape reads an empty string as nil for every type but String (Grape's
// PrimitiveCoercer#treat_as_nil?): `?page=` is no page at all and an optional `parent_id=` is
// absent. A required one is reported missing here (Grape's presence check only asks for the key
// and hands nil to the endpoint, whose reaction differs from one endpoint to the next). Ajv alone
// would call '' invalid, and coerce a whitespace-only string to 0 (Number(' ') is 0) where Ruby's
// Integer(' ') fails: both are settled here, before Ajv runs.

interface ParamSchema {
  type?: string | string[];
  anyOf?: ParamSchema[];
  properties?: Record<string, ParamSchema>;
  items?: ParamSchema;
}

const SCALARS_NOT_STRING = new Set(['integer', 'number', 'boolean']);
const MAX_BLANK_DEPTH = 8;

function typesOf(schema: ParamSchema): string[] {
  if (schema.anyOf) return schema.anyOf.flatMap(typesOf);
  if (Array.isArray(schema.type)) return schema.type;
  return schema.type ? [schema.type] : [];
}

/** Something no Ajv coercion turns into a number or boolean: its schema error is "<name> is invalid". */
const INVALID = Object.freeze({});

/**
 * Drops '' where the schema takes a number or boolean (so it counts as absent), and makes a
 * whitespace-only string there invalid unless the schema takes a string too. Walks nested objects
 * and arrays of objects (assets[links][0][...]); changes `data` in place. An empty path segment
 * (`links/` matched as `:link_id`) is no parameter Grape would see: `emptyIsAbsent` false leaves it
 * to Ajv ("link_id is invalid").
 */
export function settleBlankParams(schema: unknown, data: unknown, emptyIsAbsent = true, depth = 0): void {
  const s = schema as ParamSchema | undefined;
  if (!s || !data || typeof data !== 'object' || depth > MAX_BLANK_DEPTH) return;
  if (Array.isArray(data)) {
    if (s.items) for (const item of data) settleBlankParams(s.items, item, emptyIsAbsent, depth + 1);
    return;
  }
  const properties = s.properties ?? s.anyOf?.find((branch) => branch.properties)?.properties;
  if (!properties) return;
  const record = data as Record<string, unknown>;
  for (const [name, sub] of Object.entries(properties)) {
    if (!Object.prototype.hasOwnProperty.call(record, name)) continue;
    const value = record[name];
    if (typeof value !== 'string') {
      settleBlankParams(sub, value, emptyIsAbsent, depth + 1);
      continue;
    }
    if (value.trim() !== '') continue;
    const types = typesOf(sub);
    if (!types.some((t) => SCALARS_NOT_STRING.has(t))) continue;
    if (value === '') {
      if (emptyIsAbsent) delete record[name];
    } else if (!types.includes('string')) record[name] = INVALID;
  }
}

/** Settles blank values in every part a route's schema covers (path, query, body), before validation. */
export function settleRequestBlanks(request: FastifyRequest): void {
  const schema = request.routeOptions.schema;
  if (!schema) return;
  settleBlankParams(schema.params, request.params, false);
  settleBlankParams(schema.querystring, request.query);
  settleBlankParams(schema.body, request.body);
}

/**
 * One validator pool for the process. Ajv keeps what it compiled by schema object, and route
 * schemas are module constants: every app built here after the first (each server a test file
 * starts) reuses the validators instead of compiling them again.
 */
export const sharedValidators = AjvCompiler();
