import fc from 'fast-check';
import qs from 'qs';
import { sql, type Kysely } from 'kysely';
import { Ajv } from 'ajv';
import { addRelinksKeywords } from '../../src/http/validation.js';
import type { RouteEntry } from '../../src/http/route-list.js';
import type { RawRequest, RawResponse } from './raw-http.js';

// Generators of hostile requests for every registered route, the check every response must pass,
// and the row accounting that proves a refused request wrote nothing.

/** The statuses GitLab documents for its API; anything else (5xx above all) is a bug. */
/** A release's most links (services/link-rules.ts). */
const MAX_LINKS = 1000;

export const DOCUMENTED_STATUSES = new Set([200, 201, 202, 204, 302, 400, 401, 403, 404, 409, 413, 415, 422, 429]);

// ---------------------------------------------------------------------------------------------
// Pools of real values, filled from fixtures and grown from successful responses while fuzzing.

export interface Pools {
  /** Path-ready project refs: ids and encoded full paths of fixture projects. */
  projectRefs: string[];
  /** Projects the fuzzer itself created: the only ones DELETE /projects/:id may hit. */
  throwawayProjects: string[];
  groupRefs: string[];
  tags: string[];
  linkIds: string[];
  userIds: string[];
  protectedNames: string[];
  filepaths: string[];
  tokens: Record<string, string>;
}

const remember = (list: string[], value: string, max = 200) => {
  if (list.includes(value)) return;
  list.push(value);
  if (list.length > max) list.splice(0, list.length - max);
};

/** Picks from a pool at generation time, so values created mid-run are used too. */
const fromPool = (pool: string[], fallback = 'x') => fc.nat().map((i) => (pool.length ? pool[i % pool.length] : fallback));

// ---------------------------------------------------------------------------------------------
// Encoding helpers.

const UNRESERVED = /[A-Za-z0-9\-._~]/;
/** Percent-encodes bytes, keeping unreserved ASCII: works for any bytes, valid UTF-8 or not. */
export function pctBytes(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    out += b < 0x80 && UNRESERVED.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
export const pct = (s: string) => pctBytes(Buffer.from(s, 'utf8'));

// ---------------------------------------------------------------------------------------------
// Hostile strings and path segments.

const HOSTILE_SEGMENTS = [
  '', '%2F', '%00', 'v1%00', '..', '%2e%2e', '.', '%2E', '%252F', '%', '%zz', '%f', '%ff', '%c3%28', '%ed%a0%80', '%C0%AE',
  '%F0%9F%98%80', ';', ',', '~', '-1', '0', '00', '01', '1e3', '1E400', '0x1f', '1.5', '+1', '%201', '%20', '+',
  '9'.repeat(30), '2147483647', '2147483648', '4294967296', '9007199254740993', '-2147483649', 'NaN', 'Infinity',
  'null', 'undefined', 'true', '[]', '%5B%5D', '{}', '%7B%7D', '*', '%2A', '%5C', '%0A', '%0D%0A', '%09',
  'v1.0%2F..%2F..', '..%2F..%2F', 'root', 'ROOT', '__proto__', 'constructor', 'hasOwnProperty', 'prototype',
  '%27%20OR%201%3D1--', '%3Cscript%3E', 'latest', 'permalink', 'all', '\u00fc', '\u00ff\u00fe',
  'a'.repeat(10_240), '%61'.repeat(3_000), 'x'.repeat(4_097), 'x'.repeat(4_096),
];

export const hostileSegment: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...HOSTILE_SEGMENTS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }).map(pct) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 16 }).map(pctBytes) },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.maxSafeInteger(), fc.double({ noNaN: false })).map((n) => pct(String(n))) },
  { weight: 1, arbitrary: fc.integer({ min: 90, max: 12_000 }).map((n) => 'z'.repeat(n)) },
);

const HOSTILE_STRINGS = [
  '', ' ', '\t\n', 'a\u0000b', '\u0000', '\ud800', '\udfff', 'x\ud83d', '\u202e\u0645rtl', '\ufeff', '\u00e9\u0301',
  '😀'.repeat(50), "'; drop table release_links; --", '../../etc/passwd', 'javascript:alert(1)', '<script>alert(1)</script>',
  'http://[::1]:80/', 'https://' + 'a'.repeat(1_100) + '.com/', 'https://example.com/' + 'x'.repeat(2_040),
  'https://example.com/' + 'x'.repeat(2_100), 'n'.repeat(255), 'n'.repeat(256), 'x'.repeat(10_240), '%00', '%2F',
  'ftp://files.example.com/a', 'torrent://x', 'https://user:pass@example.com/', 'https://exa mple.com/', 'http://-bad.example/',
  '__proto__', 'constructor', '0', '-1', 'true', 'null', '{}', '[]', '1e400', '2147483648',
];

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.integer({ min: 200, max: 12_000 }).map((n) => 'y'.repeat(n)) },
);

const word = fc.stringMatching(/^[a-z][a-z0-9]{0,10}$/);
const slug = fc.tuple(word, fc.nat(1_000_000)).map(([w, n]) => `${w}-${n}`);

/** Valid values only, for well-formed requests that should get through and write. */
function cleanString(field: string, pools: Pools): fc.Arbitrary<string> | undefined {
  switch (field) {
    case 'name':
    case 'username':
    case 'path':
      return slug;
    case 'url':
      return slug.map((s) => `https://example.com/${s}`);
    case 'filepath':
    case 'direct_asset_path':
      return slug.map((s) => `/bin/${s}`);
    case 'tag_name':
      return fc.oneof(fromPool(pools.tags), slug.map((s) => `v${s}`));
    case 'ref':
      return fc.constant('main');
    case 'released_at':
      return fc.date({ min: new Date('2000-01-01'), max: new Date('2030-01-01'), noInvalidDate: true }).map((d) => d.toISOString());
    case 'expires_at':
      return fc.constant(new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10));
    case 'due_date':
    case 'start_date':
      return fc.date({ min: new Date('2000-01-01'), max: new Date('2030-01-01'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
    case 'milestones':
    case 'milestone_ids':
      // The fixtures have no milestones: an empty item is an empty list, which every release takes.
      return fc.constant('');
    case 'password':
      return fc.constant('secret-password');
    case 'scopes':
      return fc.constant('api');
    default:
      return undefined;
  }
}

/** Plausible values for the body fields routes take, so many requests pass validation and write. */
function fieldString(field: string, pools: Pools, clean = false): fc.Arbitrary<string> {
  const valid = clean ? cleanString(field, pools) : undefined;
  if (valid) return valid;
  switch (field) {
    case 'name':
      return fc.oneof(slug, fromPool(pools.protectedNames), fc.string({ minLength: 1, maxLength: 40 }));
    case 'url':
      return fc.oneof(
        slug.map((s) => `https://example.com/${s}`),
        slug.map((s) => `ftp://files.example.com/${s}`),
        slug.map((s) => `http://relinks.test/root/p/-/${s}`),
      );
    case 'filepath':
    case 'direct_asset_path':
      return fc.oneof(slug.map((s) => `/bin/${s}`), fromPool(pools.filepaths), fc.constantFrom('/a', '//x', '/x/', 'rel/x', '/bin/é'));
    case 'tag_name':
      return fc.oneof(fromPool(pools.tags), slug.map((s) => `v${s}`), slug.map((s) => `rel/${s}`), fc.constantFrom('v*', 'a..b', '-x', 'x.lock'));
    case 'ref':
      return fc.constantFrom('main', 'master', 'a'.repeat(40), '0123456789abcdef0123456789abcdef01234567', ' ');
    case 'released_at':
    case 'expires_at':
      return fc.oneof(
        fc.date({ min: new Date('1970-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => (field === 'expires_at' ? d.toISOString().slice(0, 10) : d.toISOString())),
        fc.constantFrom('2020-13-45', '9999-99-99', 'yesterday', '+275760-09-13T00:00:00.000Z', '0000-00-00', '2019-03-15T08:00:00Z',
          '2024-02-30', '2023-02-29T10:00:00Z', '2024-02-29T24:00:00Z', '2024-01-01T24:00:01Z', '2024-01-01T10:00:00+25:00', '0000-01-01T00:00:00+01:00', ''),
      );
    case 'due_date':
    case 'start_date':
      return fc.constantFrom('2024-02-29', '2024-02-30', '2023-02-29', '2024-13-01', '', 'tomorrow', '2030-01-01T00:00:00Z');
    case 'milestones':
      return fc.constantFrom('', 'v1', 'a,b', ' , ', ',,,', 'x'.repeat(300));
    case 'milestone_ids':
      return fc.constantFrom('', '1', '1,2', '0', '-1', 'abc', '99999999999999999999', '1_000', ' 7 ');
    case 'email':
      return slug.map((s) => `${s}@example.com`);
    case 'username':
    case 'path':
      return fc.oneof(slug, fc.constantFrom('root', '-bad', 'x.git', 'a b'));
    case 'password':
      return fc.constantFrom('secret-password', 'short', 'x'.repeat(200));
    case 'scopes':
      return fc.constantFrom('api', 'read_api', 'api,read_api', 'bogus', 'api,,');
    case 'visibility':
      return fc.constantFrom('private', 'internal', 'public', 'secret');
    case 'namespace_id':
    case 'parent_id':
      return fromPool(pools.groupRefs);
    default:
      return fc.oneof(word, fc.string({ maxLength: 30 }));
  }
}

function fieldInteger(field: string, pools: Pools): fc.Arbitrary<number> {
  const id = (pool: string[]) => fromPool(pool, '1').map((v) => (/^\d+$/.test(v) ? Number(v) : 1));
  switch (field) {
    case 'user_id':
      return fc.oneof(id(pools.userIds), fc.integer({ min: -5, max: 50 }));
    case 'access_level':
    case 'create_access_level':
      return fc.constantFrom(0, 10, 20, 30, 40, 50, 60, -1);
    case 'namespace_id':
    case 'parent_id':
      return fc.oneof(id(pools.groupRefs), fc.integer({ min: 0, max: 50 }));
    default:
      return fc.oneof(fc.integer({ min: -2, max: 200 }), fc.constantFrom(2 ** 31, 2 ** 53, 1e300, -1e300));
  }
}

/** A value of the wrong kind: objects where strings belong, arrays, numbers, null, deep nesting. */
const wrongType: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 4 }),
  fc.dictionary(word, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
  fc.constant({ $gt: '' }),
  fc.constant([[[[['deep']]]]]),
  fc.integer({ min: 1_000, max: 5_000 }).map((n) => Array.from({ length: n }, (_, i) => i)),
);

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  enum?: unknown[];
  mutuallyExclusive?: { fields: string[] };
}

/** Values for a route's body schema: mostly valid, sometimes wrong types, missing or extra fields. */
function fromSchema(schema: JsonSchema, field: string, pools: Pools, clean: boolean, depth = 0): fc.Arbitrary<unknown> {
  if (schema.anyOf?.length) return fc.oneof(...schema.anyOf.map((s) => fromSchema(s, field, pools, clean, depth)));
  if (schema.enum?.length) {
    return clean ? fc.constantFrom(...schema.enum) : fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...schema.enum) }, { weight: 1, arbitrary: hostileString });
  }
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  const valid = ((): fc.Arbitrary<unknown> => {
    switch (type) {
      case 'object': {
        const props = schema.properties ?? {};
        if (depth > 4 || Object.keys(props).length === 0) return fc.dictionary(word, fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 });
        const model: Record<string, fc.Arbitrary<unknown>> = {};
        for (const [key, sub] of Object.entries(props)) model[key] = fromSchema(sub, key, pools, clean, depth + 1);
        const required = (schema.required ?? []).filter((k) => k in model);
        // A well-formed request gives at most one of parameters that exclude each other.
        const [, ...excluded] = schema.mutuallyExclusive?.fields ?? [];
        if (clean) return fc.record(model, { requiredKeys: required }).map((v) => { const r: Record<string, unknown> = { ...v }; for (const f of excluded) delete r[f]; return r; });
        return fc.oneof(
          { weight: 9, arbitrary: fc.record(model, { requiredKeys: required }) },
          { weight: 1, arbitrary: fc.record(model, { requiredKeys: [] }) },
        );
      }
      case 'array': {
        const item = fromSchema(schema.items ?? {}, field, pools, clean, depth + 1);
        if (clean) return fc.array(item, { maxLength: 3 });
        return fc.oneof(
          { weight: 20, arbitrary: fc.array(item, { maxLength: 4 }) },
          // Past the 1,000-links limit, or just big.
          { weight: 1, arbitrary: fc.integer({ min: 995, max: 1_005 }).chain((n) => fc.array(item, { minLength: n, maxLength: n })) },
        );
      }
      case 'integer':
      case 'number':
        return fieldInteger(field, pools);
      case 'boolean':
        return fc.boolean();
      case 'string':
        return fieldString(field, pools, clean);
      default:
        return fc.jsonValue({ maxDepth: 2 });
    }
  })();
  if (depth === 0 || clean) return valid;
  return fc.oneof({ weight: 12, arbitrary: valid }, { weight: 1, arbitrary: wrongType }, { weight: 1, arbitrary: hostileString });
}

/** Fields a client must never be able to set: ids, ownership, timestamps, flags. */
const MASS_ASSIGNMENT = {
  id: fc.integer({ min: 1, max: 100 }),
  release_id: fc.integer({ min: 1, max: 100 }),
  project_id: fc.integer({ min: 1, max: 100 }),
  author_id: fc.integer({ min: 1, max: 100 }),
  user_id: fc.integer({ min: 1, max: 100 }),
  created_at: fc.constant('2000-01-01T00:00:00.000Z'),
  updated_at: fc.constant('2000-01-01T00:00:00.000Z'),
  is_admin: fc.boolean(),
  token_digest: fc.constant('0'.repeat(64)),
  revoked: fc.constant(1),
};

// ---------------------------------------------------------------------------------------------
// Bodies as bytes, with their content type.

interface Body {
  contentType?: string;
  bytes?: Buffer;
}

const JSON_TYPES = [
  'application/json', 'application/json; charset=utf-8', 'Application/JSON', 'application/json; charset=latin1',
  'application/json;charset=UTF-16', 'application/vnd.api+json', 'application/json, text/html',
];
const OTHER_TYPES = ['text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/octet-stream', '', '*/*', 'text/html; charset=utf-8', 'application/x-www-form-urlencoded; charset=latin1'];

const RAW_JSON = [
  '', ' ', 'null', '[]', '"str"', '1e400', '-0', 'true', '{', '{"name":', '{"name":"a",}', "{'name':'a'}", '{"a":1}{"b":2}',
  '\ufeff{"name":"bom"}', '{"__proto__":{"is_admin":1}}', '{"constructor":{"prototype":{"x":1}}}', '{"name":"\\ud800"}',
  '{"name":"\\u0000"}', '{"assets":{"links":{"0":{"name":"a","url":"https://e.com/"}}}}', '{"assets":"links"}',
  '['.repeat(100_000) + ']'.repeat(100_000), '{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000),
  '[' + '0,'.repeat(150_000) + '0]', '{"name":' + '1'.repeat(5_000) + '}',
];

const RAW_FORMS = [
  'a[b][c][d][e][f][g][h]=1', 'x[]=1&'.repeat(3_000), 'name[]=a&name[]=b', 'name[a]=1', '%zz=1', 'name=%ff%fe',
  '&&&==&', '='.repeat(1_000), 'assets[links][1000000][name]=x', '__proto__[is_admin]=1', 'constructor[prototype][x]=1',
  'assets[links][0][name]=a&assets[links][0][url]=https%3A%2F%2Fe.com%2F&tag_name=v9&ref=main', 'name=a%00b&url=x',
  Array.from({ length: 12_000 }, (_, i) => `k${i}=v`).join('&'),
];

/** Rails-style form encoding; qs overflows the stack on arrays of many thousands, which get a flat form. */
function formOf(value: unknown): string {
  try {
    return qs.stringify(value);
  } catch {
    const flat = value && typeof value === 'object' ? Object.entries(value).map(([k, v]) => [k, JSON.stringify(v) ?? '']) : [['value', String(value)]];
    return new URLSearchParams(flat).toString();
  }
}

/** The name=value pairs of a value's Rails-style form encoding (`[]` or indexed arrays), decoded. */
function formPairs(value: unknown, brackets = false): Array<[string, string]> {
  try {
    return qs
      .stringify(value, { arrayFormat: brackets ? 'brackets' : 'indices' })
      .split('&')
      .filter(Boolean)
      .map((pair) => {
        const at = pair.indexOf('=');
        return [decodeURIComponent(pair.slice(0, at)), decodeURIComponent(pair.slice(at + 1))];
      });
  } catch {
    return value && typeof value === 'object' ? Object.entries(value).map(([k, v]) => [k, JSON.stringify(v) ?? '']) : [['value', String(value)]];
  }
}

const BOUNDARY = 'relinks-fuzz-7MA4YWxkTrZu0gW';
const MULTIPART_TYPE = `multipart/form-data; boundary=${BOUNDARY}`;

/** A field name in a Content-Disposition header, escaped as browsers do. */
const dispositionName = (name: string) => name.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');

/** multipart/form-data as curl --form sends it: one part per field, optionally a file part too. */
function multipartOf(pairs: Array<[string, string]>, file?: string): Buffer {
  const parts = pairs.map(([name, value]) => `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${dispositionName(name)}"\r\n\r\n${value}\r\n`);
  if (file !== undefined) {
    parts.push(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${dispositionName(file)}"; filename="app.bin"\r\nContent-Type: application/octet-stream\r\n\r\n\u0000\u0001binary\r\n`);
  }
  return Buffer.from(parts.join('') + `--${BOUNDARY}--\r\n`);
}

const part = (headers: string, value: string) => `--${BOUNDARY}\r\n${headers}\r\n\r\n${value}\r\n`;
const field = (name: string, value: string) => part(`Content-Disposition: form-data; name="${name}"`, value);
const END = `--${BOUNDARY}--\r\n`;
const GOOD_FIELDS = field('name', 'a') + field('url', 'https://e.com/a');

/** Hostile multipart bodies, each with the Content-Type it is sent with. */
const RAW_MULTIPART: Array<[string, string]> = [
  ['multipart/form-data', GOOD_FIELDS + END],
  ['multipart/form-data; boundary=', GOOD_FIELDS + END],
  ['multipart/form-data; boundary=other', GOOD_FIELDS + END],
  [`multipart/form-data; boundary="${BOUNDARY}"`, GOOD_FIELDS + END],
  [`multipart/form-data; boundary=${'b'.repeat(200)}`, GOOD_FIELDS + END],
  [`Multipart/Form-Data; charset=utf-8; boundary=${BOUNDARY}`, GOOD_FIELDS + END],
  [MULTIPART_TYPE, ''],
  [MULTIPART_TYPE, END],
  [MULTIPART_TYPE, 'not multipart at all'],
  [MULTIPART_TYPE, GOOD_FIELDS],
  [MULTIPART_TYPE, GOOD_FIELDS.slice(0, 60)],
  [MULTIPART_TYPE, (GOOD_FIELDS + END).replace(/\r\n/g, '\n')],
  [MULTIPART_TYPE, 'preamble\r\n' + GOOD_FIELDS + END + 'epilogue'],
  [MULTIPART_TYPE, GOOD_FIELDS + part('Content-Disposition: form-data; name="file"; filename="x.bin"', 'data') + END],
  [MULTIPART_TYPE, GOOD_FIELDS + part('Content-Disposition: form-data; name="file"; filename=""\r\nContent-Type: application/octet-stream', '') + END],
  [MULTIPART_TYPE, GOOD_FIELDS + part('Content-Disposition: form-data; name="blob"\r\nContent-Type: application/octet-stream', '\u0000\u0001') + END],
  [MULTIPART_TYPE, field('name', 'a') + part('Content-Disposition: form-data; name="url"\r\nContent-Type: application/json', '"https://e.com/j"') + END],
  [MULTIPART_TYPE, field('name', 'a') + part('Content-Disposition: form-data; name="url"\r\nContent-Type: application/json', '{bad') + END],
  [MULTIPART_TYPE, GOOD_FIELDS + field('__proto__', 'x') + END],
  [MULTIPART_TYPE, GOOD_FIELDS + field('constructor', 'x') + field('__proto__[is_admin]', '1') + END],
  [MULTIPART_TYPE, field('name', 'a\u0000b') + field('url', 'https://e.com/n') + END],
  [MULTIPART_TYPE, field('na\u0000me', 'a') + field('url', 'https://e.com/n') + END],
  [MULTIPART_TYPE, field('name', 'a') + field('name', 'b') + field('url', 'https://e.com/d') + END],
  [MULTIPART_TYPE, field('name', '') + field('url', '') + field('link_id', '') + field('page', ' ') + END],
  [MULTIPART_TYPE, part('Content-Disposition: form-data; name="name"\r\nContent-Type: text/plain; charset=latin1', '\u00e9') + END],
  [MULTIPART_TYPE, part('Content-Disposition: form-data; name="name"\r\nContent-Transfer-Encoding: base64', 'YQ==') + END],
  [MULTIPART_TYPE, part('Content-Disposition: attachment; name="name"', 'a') + END],
  [MULTIPART_TYPE, part('X-Nothing: here', 'a') + END],
  [MULTIPART_TYPE, part('Content-Disposition: form-data', 'nameless') + END],
  [MULTIPART_TYPE, part(Array.from({ length: 3_000 }, (_, i) => `X-H${i}: v`).join('\r\n') + '\r\nContent-Disposition: form-data; name="name"', 'a') + END],
  [MULTIPART_TYPE, field('tag_name', 'vmp') + field('ref', 'main') + field('assets[links][][name]', 'a') + field('assets[links][][url]', 'https://e.com/a') + field('assets[links][][name]', 'b') + END],
  [MULTIPART_TYPE, field('scopes[]', 'api') + field('scopes[]', 'read_api') + field('name', 'n') + END],
  [MULTIPART_TYPE, Array.from({ length: 10_001 }, (_, i) => field(`k${i}`, 'v')).join('') + END],
  [MULTIPART_TYPE, field('a[b][c][d][e][f][g][h]', '1') + field('assets[links][1000000][name]', 'x') + END],
];

function invalidUtf8(json: string, at: number): Buffer {
  const b = Buffer.from(json, 'utf8');
  const i = b.length ? at % b.length : 0;
  return Buffer.concat([b.subarray(0, i), Buffer.from([0xff, 0xc3, 0x28, 0xed, 0xa0, 0x80]), b.subarray(i)]);
}

function bodyArb(route: RouteEntry | undefined, pools: Pools): fc.Arbitrary<Body> {
  const schema = route?.schema?.body as JsonSchema | undefined;
  const value: fc.Arbitrary<unknown> = schema ? fromSchema(schema, 'body', pools, false) : fc.jsonValue({ maxDepth: 3 });
  const withExtras = fc
    .tuple(value, fc.record(MASS_ASSIGNMENT, { requiredKeys: [] }), fc.nat(9))
    .map(([v, extra, roll]) => (roll < 2 && v && typeof v === 'object' && !Array.isArray(v) ? { ...extra, ...v } : v));
  const json = fc.tuple(withExtras, fc.constantFrom(...JSON_TYPES.slice(0, 1), ...JSON_TYPES));
  return fc.oneof(
    { weight: 30, arbitrary: fc.constant<Body>({}) },
    { weight: 140, arbitrary: json.map(([v, type]) => ({ contentType: type, bytes: Buffer.from(JSON.stringify(v) ?? 'null') })) },
    { weight: 50, arbitrary: withExtras.map((v) => ({ contentType: 'application/x-www-form-urlencoded', bytes: Buffer.from(formOf(v)) })) },
    // Truncated JSON.
    { weight: 20, arbitrary: fc.tuple(withExtras, fc.nat()).map(([v, n]) => { const s = JSON.stringify(v) ?? 'null'; return { contentType: 'application/json', bytes: Buffer.from(s.slice(0, n % Math.max(1, s.length))) }; }) },
    // Duplicate keys: the first copy says one thing, the rest another.
    { weight: 10, arbitrary: withExtras.map((v) => { const s = JSON.stringify(v) ?? 'null'; return { contentType: 'application/json', bytes: Buffer.from(s.startsWith('{"') ? `{"name":"dup","url":7,${s.slice(1)}` : s) }; }) },
    { weight: 20, arbitrary: fc.tuple(withExtras, fc.nat()).map(([v, n]) => ({ contentType: 'application/json', bytes: invalidUtf8(JSON.stringify(v) ?? 'null', n) })) },
    { weight: 20, arbitrary: fc.tuple(fc.constantFrom(...RAW_JSON), fc.constantFrom(...JSON_TYPES)).map(([s, type]) => ({ contentType: type, bytes: Buffer.from(s) })) },
    { weight: 20, arbitrary: fc.constantFrom(...RAW_FORMS).map((s) => ({ contentType: 'application/x-www-form-urlencoded', bytes: Buffer.from(s) })) },
    // Multipart: the generated values as curl --form fields (arrays as x[] or x[0]), sometimes with a file part.
    { weight: 40, arbitrary: fc.tuple(withExtras, fc.boolean(), fc.nat(9)).map(([v, brackets, roll]) => ({ contentType: MULTIPART_TYPE, bytes: multipartOf(formPairs(v, brackets), roll === 0 ? 'file' : undefined) })) },
    // Truncated multipart.
    { weight: 10, arbitrary: fc.tuple(withExtras, fc.nat()).map(([v, n]) => { const b = multipartOf(formPairs(v)); return { contentType: MULTIPART_TYPE, bytes: b.subarray(0, n % b.length) }; }) },
    { weight: 20, arbitrary: fc.constantFrom(...RAW_MULTIPART).map(([type, s]) => ({ contentType: type, bytes: Buffer.from(s) })) },
    // The right bytes under the wrong (or no) content type.
    { weight: 20, arbitrary: fc.tuple(withExtras, fc.constantFrom(...OTHER_TYPES, undefined)).map(([v, type]) => ({ contentType: type, bytes: Buffer.from(JSON.stringify(v) ?? '') })) },
    { weight: 10, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => ({ contentType: 'application/json', bytes: Buffer.from(b) })) },
    // Over the 1 MiB limit: rare here (each costs a megabyte each way); test/limits.test.ts covers it.
    { weight: 1, arbitrary: fc.constantFrom<Body>(
      { contentType: 'application/json', bytes: Buffer.from(JSON.stringify({ name: 'big', url: 'https://e.com/' + 'x'.repeat(1_100_000) })) },
      { contentType: 'application/x-www-form-urlencoded', bytes: Buffer.from('name=big&url=' + 'x'.repeat(1_100_000)) },
      { contentType: MULTIPART_TYPE, bytes: multipartOf([['name', 'big'], ['url', 'x'.repeat(1_100_000)]]) },
      { contentType: 'text/plain', bytes: Buffer.alloc(1_100_000, 0x61) },
    ) },
  );
}

// ---------------------------------------------------------------------------------------------
// Paths, queries, headers.

const paramName = (segment: string) => segment.slice(1).replace(/\(.*$/, '');

function segmentArb(name: string, route: RouteEntry | undefined, pools: Pools, clean = false): fc.Arbitrary<string> {
  const destructive = route?.method === 'DELETE' && /^\/api\/v4\/(projects|groups|users)\/:id$/.test(route.url);
  const valid = ((): fc.Arbitrary<string> => {
    switch (name) {
      case 'id':
        if (destructive) return fromPool(pools.throwawayProjects, '999999');
        if (route?.url.startsWith('/api/v4/groups')) return fromPool(pools.groupRefs);
        if (route?.url.startsWith('/api/v4/users')) return fromPool(pools.userIds);
        return fromPool(pools.projectRefs);
      case 'tag_name':
        return fromPool(pools.tags).map((t) => encodeURIComponent(t));
      case 'link_id':
        return fromPool(pools.linkIds);
      case 'user_id':
        return fromPool(pools.userIds);
      case 'name':
        return fc.oneof(fromPool(pools.protectedNames), fromPool(pools.tags)).map((t) => encodeURIComponent(t));
      case '*':
        return fromPool(pools.filepaths).map((f) => f.replace(/^\//, ''));
      case 'hook_id':
        // Hooks the run creates get small serial ids.
        return fc.integer({ min: 1, max: 40 }).map(String);
      case 'trigger':
        return fc.constantFrom('releases_events', 'push_events', 'note_events', 'releases');
      default:
        return fc.oneof(fromPool(pools.tags), word).map((t) => encodeURIComponent(t));
    }
  })();
  // Deleting a whole fixture project mid-run would leave nothing to fuzz: no numeric ids there.
  if (clean) return valid;
  const hostile = destructive ? hostileSegment.filter((s) => !/^\d+$/.test(safeDecode(s))) : hostileSegment;
  return fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: hostile });
}

const safeDecode = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

function pathArb(route: RouteEntry, pools: Pools, clean = false): fc.Arbitrary<string> {
  const parts = route.url.split('/');
  return fc.tuple(...parts.map((part) => {
    if (part.startsWith(':')) return segmentArb(paramName(part), route, pools, clean);
    if (part === '*') return clean ? segmentArb('*', route, pools, true) : fc.oneof(segmentArb('*', route, pools), fc.constantFrom('../../x', 'a//b', '%2e%2e/%2e%2e', ''));
    return fc.constant(part);
  })).map((segments) => segments.join('/'));
}

const QUERY_KEYS = [
  'page', 'per_page', 'private_token', 'job_token', 'name', 'url', 'tag_name', 'ref', 'sort', 'order_by', 'link_type',
  'filepath', 'direct_asset_path', 'scopes', 'access_level', 'user_id', 'visibility', 'page[]', 'per_page[x]', '__proto__',
  'constructor[prototype][x]', 'a[b][c][d][e][f][g]', 'assets[links][0][name]', 'released_at', 'id', 'release_id', 'created_at',
  'link_order', 'milestones', 'milestone_ids', 'milestones[]', 'updated_before', 'updated_after', 'include_html_description', 'state',
];

function queryArb(pools: Pools): fc.Arbitrary<string> {
  const value = fc.oneof(
    fc.integer({ min: -3, max: 120 }).map(String),
    fc.constantFrom('1e300', '1E400', '99999999999999999999', '2147483648', '-1e300', '1.5', '0x10', 'NaN', '', '%205', '5%20', '+5'),
    hostileSegment,
    word,
    fromPool(Object.values(pools.tokens)),
  );
  const pair = fc.tuple(fc.oneof(fc.constantFrom(...QUERY_KEYS), word), value).map(([k, v]) => `${encodeURI(k)}=${v}`);
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant('') },
    { weight: 4, arbitrary: fc.array(pair, { minLength: 1, maxLength: 6 }).map((pairs) => `?${pairs.join('&')}`) },
    { weight: 1, arbitrary: fc.constantFrom('?', '??', '?&&', '?=', '?page', '?%zz', '?per_page=1&per_page=1000', '?a=%ff', '#frag', '?' + 'k=v&'.repeat(3_000)) },
  );
}

export const TOKEN_LABELS = ['root', 'developer', 'reporter', 'guest', 'outsider', 'readApi', 'expired', 'otherMember'] as const;

function authArb(pools: Pools): fc.Arbitrary<Record<string, string>> {
  const token = fc.constantFrom(...TOKEN_LABELS).map((label) => pools.tokens[label] ?? 'missing');
  return fc.oneof(
    { weight: 10, arbitrary: token.map((t) => ({ 'private-token': t })) },
    { weight: 3, arbitrary: fc.constant({}) },
    { weight: 2, arbitrary: token.map((t) => ({ authorization: `Bearer ${t}` })) },
    { weight: 2, arbitrary: fc.constantFrom(
      { 'private-token': 'garbage' }, { 'private-token': '' }, { 'private-token': 'x'.repeat(8_000) },
      { authorization: 'Bearer' }, { authorization: 'Bearer a b' }, { authorization: 'Basic cm9vdDpyb290' }, { authorization: '' },
      { 'job-token': 'garbage' }, { 'job-token': '' }, { 'private-token': '\u00ff\u00fe' },
    ) },
    { weight: 1, arbitrary: token.map((t) => ({ 'private-token': t, authorization: 'Bearer garbage', 'job-token': 'garbage' })) },
  );
}

const EXTRA_HEADERS: Array<[string, string]> = [
  ['accept', '*/*'], ['accept', 'text/html'], ['accept', 'application/xml'], ['accept-encoding', 'gzip, br'],
  ['x-forwarded-for', '1.2.3.4, garbage'], ['x-forwarded-for', '::1'], ['x-forwarded-proto', 'javascript'],
  ['x-forwarded-host', 'evil.example'], ['content-encoding', 'gzip'], ['user-agent', 'u'.repeat(4_000)],
  ['x-http-method-override', 'DELETE'], ['accept-version', '2'], ['if-none-match', '*'], ['range', 'bytes=0-1'],
  ['origin', 'https://evil.example'], ['cookie', '_gitlab_session=abc'], ['host', 'evil.example'], ['x-request-id', '../..'],
];

function headersArb(pools: Pools): fc.Arbitrary<Record<string, string>> {
  return fc
    .tuple(authArb(pools), fc.subarray(EXTRA_HEADERS, { maxLength: 3 }), fc.option(fc.uuid(), { nil: undefined }))
    .map(([auth, extra, key]) => ({ ...Object.fromEntries(extra), ...auth, ...(key ? { 'idempotency-key': key } : {}) }));
}

const OTHER_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'PROPFIND', 'FOO'];

export interface FuzzRequest extends RawRequest {
  /** The route the request was generated for (`METHOD /pattern`), or `random path`. */
  target: string;
}

function randomPathArb(pools: Pools): fc.Arbitrary<string> {
  return fc.oneof(
    fc.array(fc.oneof(word, hostileSegment), { minLength: 0, maxLength: 8 }).map((s) => '/api/v4/' + s.join('/')),
    fc.array(hostileSegment, { maxLength: 4 }).map((s) => '/' + s.join('/')),
    fc.constantFrom('/', '//api/v4/user', '/api/v4/user/', '/api/v4//user', '/api/v4/projects/1/../1', '/API/V4/USER', '/api/v4/user;x=1', '/-/health/', '/api/v4/projects/', '/api/v4/projects/%2F', '*', '/api/v4/user?' + 'x'.repeat(7_000)),
    fromPool(pools.projectRefs).map((p) => `/${decodeURIComponent(p)}/-/releases/v1.0/downloads/bin/app`),
  );
}

/** One request: a real route (usually its own method) with hostile parts, or a random path. */
export function requestArb(routes: readonly RouteEntry[], pools: Pools): fc.Arbitrary<FuzzRequest> {
  // Built once per route: constructing arbitraries per request would cost more than sending it.
  const routed = fc.oneof(...routes.map((route) =>
    fc.record({
      method: fc.oneof({ weight: 12, arbitrary: fc.constant(route.method) }, { weight: 1, arbitrary: fc.constantFrom(...OTHER_METHODS) }),
      path: pathArb(route, pools),
      query: queryArb(pools),
      headers: headersArb(pools),
      body: route.method === 'GET' || route.method === 'HEAD' ? fc.oneof({ weight: 9, arbitrary: fc.constant<Body>({}) }, { weight: 1, arbitrary: bodyArb(route, pools) }) : bodyArb(route, pools),
    }).map((r) => build(`${route.method} ${route.url}`, r)),
  ));
  // Well-formed requests by privileged users, so writes succeed often and the row accounting bites.
  const privileged = fc.constantFrom('root', 'maintainer', 'developer').map((label) => ({ 'private-token': pools.tokens[label] ?? 'missing' }));
  const wellFormed = fc.oneof(...routes.map((route) => {
    const schema = route.schema?.body as JsonSchema | undefined;
    const value = schema ? fromSchema(schema, 'body', pools, true) : fc.constant(undefined);
    const body = fc.tuple(value, fc.nat(5)).map(([v, roll]): Body => {
      if (v === undefined) return {};
      if (roll === 0) return { contentType: 'application/x-www-form-urlencoded', bytes: Buffer.from(formOf(v)) };
      if (roll === 1) return { contentType: MULTIPART_TYPE, bytes: multipartOf(formPairs(v, true)) };
      return { contentType: 'application/json', bytes: Buffer.from(JSON.stringify(v)) };
    });
    const arbitrary = fc.record({ method: fc.constant(route.method), path: pathArb(route, pools, true), query: fc.constant(''), headers: privileged, body })
      .map((r) => build(`${route.method} ${route.url}`, r));
    // Writes weigh more: they are where a half-done change could hide; link writes most of all.
    const weight = ['GET', 'HEAD'].includes(route.method) ? 1 : route.url.includes('/assets/links') ? 10 : 3;
    return { weight, arbitrary };
  }));
  const random = fc.record({
    method: fc.constantFrom(...OTHER_METHODS),
    path: randomPathArb(pools),
    query: queryArb(pools),
    headers: headersArb(pools),
    body: bodyArb(undefined, pools),
  }).map((r) => build('random path', r));
  return fc.oneof({ weight: 12, arbitrary: routed }, { weight: 7, arbitrary: wellFormed }, { weight: 1, arbitrary: random });
}

function build(target: string, r: { method: string; path: string; query: string; headers: Record<string, string>; body: Body }): FuzzRequest {
  const headers = { ...r.headers };
  if (r.body.contentType !== undefined) headers['content-type'] = r.body.contentType;
  return { target, method: r.method, path: (r.path || '/') + r.query, headers, body: r.body.bytes };
}

// ---------------------------------------------------------------------------------------------
// What every response must look like.

const ERROR_KEYS = new Set(['message', 'error', 'error_description', 'scope']);

/** Problems with one response, or [] when it is one GitLab could have sent. */
/** API routes whose success is a stored file's bytes rather than JSON. */
const FILE_ROUTES = new Set([
  '/api/v4/projects/:id/packages/generic/:package_name/:package_version/*',
  '/api/v4/projects/:id/uploads/:upload_id',
]);

export function responseProblems(request: RawRequest, res: RawResponse): string[] {
  const problems: string[] = [];
  if (!DOCUMENTED_STATUSES.has(res.status)) problems.push(`status ${res.status} is not one GitLab documents`);
  if (res.headers['x-content-type-options'] !== 'nosniff') problems.push('no X-Content-Type-Options: nosniff');
  if (res.headers['x-powered-by'] !== undefined) problems.push('X-Powered-By is set');
  const type = String(res.headers['content-type'] ?? '');
  // The reference page's scripts and styles are shipped files, the same bytes for every request,
  // and minified code reads like a stack frame; every other answer is searched.
  const shippedAsset = res.status === 200 && /^text\/(javascript|css)\b/.test(type);
  if (!shippedAsset && (/\bat [^\n]+:\d+:\d+\)?/.test(res.text) || res.text.includes('node_modules') || /\/(work|home|src|dist)\//.test(res.text))) {
    problems.push('body shows a stack trace or a file path');
  }
  if (request.method === 'HEAD' || res.status === 204) {
    if (res.body.length) problems.push(`${res.status} to ${request.method} has a body`);
    return problems;
  }
  if (res.status === 302) {
    if (!res.headers.location) problems.push('302 without Location');
    return problems;
  }
  const path = request.path.split('?')[0];
  if (type.startsWith('text/html') && !path.startsWith('/api/')) {
    // The web pages, and their errors for a browser: a whole document under the pages' strict policy.
    if (!res.text.startsWith('<!DOCTYPE html>\n<html lang="en">') || !res.text.trimEnd().endsWith('</html>')) problems.push('HTML that is not a whole page');
    const policy = String(res.headers['content-security-policy'] ?? '');
    if (!/default-src 'none'/.test(policy) || /unsafe-inline|unsafe-eval/.test(policy)) problems.push(`HTML under a weak policy: ${policy}`);
    if (res.status >= 400 && !/text\/html/i.test(String(request.headers?.accept ?? ''))) {
      problems.push('an HTML error to a client that did not ask for HTML');
    }
    return problems;
  }
  if (res.status < 300 && request.method === 'GET' && FILE_ROUTES.has(request.target.replace(/^\S+ /, ''))) {
    // A stored file's own bytes, whatever they are, always as a download.
    if (!/^attachment\b/.test(String(res.headers['content-disposition'] ?? ''))) problems.push('a file not sent as an attachment');
    return problems;
  }
  if (!type.startsWith('application/json')) {
    // Plain text is fine for probes outside the API (`/-/health`), never for the API itself.
    if (res.status >= 400 || path.startsWith('/api/')) problems.push(`content type "${type}" is not JSON`);
    return problems;
  }
  if (type !== 'application/json') problems.push(`content type "${type}" is not exactly application/json`);
  if (res.json === undefined) {
    // Headers past the server's 16 KiB limit may reach it split, the request line in an earlier
    // packet than the failure: it cannot tell a HEAD from a GET then, and sends no body at all.
    const headerBytes = Object.entries(request.headers).reduce((n, [k, v]) => n + k.length + String(v).length + 4, request.path.length);
    if (res.status === 400 && res.body.length === 0 && headerBytes > 16 * 1024) return problems;
    problems.push('body is not JSON');
    return problems;
  }
  if (res.status >= 400) {
    const body = res.json as Record<string, unknown>;
    if (!body || typeof body !== 'object' || Array.isArray(body)) problems.push('error body is not an object');
    else if (!('message' in body) && !('error' in body)) problems.push('error body has neither message nor error');
    else if (Object.keys(body).some((k) => !ERROR_KEYS.has(k))) problems.push(`error body has foreign keys: ${Object.keys(body).join(', ')}`);
  } else if (typeof res.json !== 'object' || res.json === null) {
    problems.push('success body is neither an object nor an array');
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Row accounting: what each successful write adds or removes; a refused request adds nothing.

export const COUNTED_TABLES = [
  'users', 'namespaces', 'projects', 'members', 'personal_access_tokens', 'tags', 'protected_tags', 'releases', 'release_links',
  'packages', 'package_files', 'uploads',
] as const;
export type Counts = Record<(typeof COUNTED_TABLES)[number], number>;
type Delta = Partial<Record<keyof Counts, [number, number]>>;

export async function countRows(db: Kysely<any>): Promise<Counts> {
  const counts = {} as Counts;
  for (const table of COUNTED_TABLES) {
    const row = await db.selectFrom(table).select(sql<string>`count(*)`.as('n')).executeTakeFirstOrThrow();
    counts[table] = Number(row.n);
  }
  return counts;
}

const exact = (n: number): [number, number] => [n, n];

/**
 * The change in row counts a response proves, as [min, max] per table; `unknown` when a write
 * succeeded on a route this table does not model (its burst is then checked by invariants only).
 */
export function effectOf(target: string, method: string, res: RawResponse): Delta | 'unknown' {
  if (res.status >= 300 || method === 'GET' || method === 'HEAD') return {};
  // An Idempotency-Key replay answers the first response again and writes nothing new.
  if (res.headers['idempotent-replayed'] === 'true') return {};
  const body = res.json as Record<string, any>;
  switch (`${method} ${target.replace(/^\S+ /, '')}`) {
    case 'POST /api/v4/users':
      return { users: exact(1), namespaces: exact(1), members: exact(1) };
    case 'POST /api/v4/users/:id/personal_access_tokens':
      return { personal_access_tokens: exact(1) };
    case 'POST /api/v4/groups':
      return { namespaces: exact(1), members: exact(1) };
    case 'POST /api/v4/projects':
      return { projects: exact(1), members: [0, 1] };
    case 'POST /api/v4/projects/:id/members':
      return { members: exact(1) };
    case 'POST /api/v4/projects/:id/repository/tags':
      return { tags: exact(1) };
    case 'POST /api/v4/projects/:id/protected_tags':
      return { protected_tags: exact(1) };
    case 'DELETE /api/v4/projects/:id/protected_tags/:name':
      return { protected_tags: exact(-1) };
    case 'POST /api/v4/projects/:id/releases':
      return { releases: exact(1), tags: [0, 1], release_links: exact(body?.assets?.links?.length ?? 0) };
    case 'PUT /api/v4/projects/:id/releases/:tag_name':
      // With assets[links] (relinks' own) the release ends with exactly the links answered, from any
      // number it had; without, none change, and 0 is in the range.
      return { release_links: [-MAX_LINKS, body?.assets?.count ?? 0] };
    case 'DELETE /api/v4/projects/:id/releases/:tag_name':
      return { releases: exact(-1), release_links: exact(-(body?.assets?.count ?? 0)) };
    case 'POST /api/v4/projects/:id/releases/:tag_name/assets/links':
      return { release_links: exact(1) };
    case 'DELETE /api/v4/projects/:id/releases/:tag_name/assets/links/:link_id':
      return { release_links: exact(-1) };
    case 'PUT /api/v4/projects/:id/packages/generic/:package_name/:package_version/*':
      return { packages: [0, 1], package_files: exact(1) };
    case 'DELETE /api/v4/projects/:id/packages/:package_id/package_files/:package_file_id':
      return { package_files: exact(-1) };
    case 'POST /api/v4/projects/:id/uploads':
      return { uploads: exact(1) };
    case 'DELETE /api/v4/projects/:id/uploads/:upload_id':
      return { uploads: exact(-1) };
    // Hooks, their test calls and their log are in tables this accounting does not count.
    case 'POST /api/v4/projects/:id/hooks':
    case 'DELETE /api/v4/projects/:id/hooks/:hook_id':
    case 'POST /api/v4/projects/:id/hooks/:hook_id/test/:trigger':
      return {};
    default:
      // Updates change no counts; anything else that wrote is not modelled here.
      return method === 'PUT' || method === 'PATCH' ? {} : 'unknown';
  }
}

/** Sums effects and says which tables moved outside what the responses allow. */
export function accountingProblems(before: Counts, after: Counts, effects: Array<Delta | 'unknown'>): string[] {
  if (effects.includes('unknown')) return [];
  const problems: string[] = [];
  for (const table of COUNTED_TABLES) {
    let min = 0;
    let max = 0;
    for (const e of effects as Delta[]) {
      const d = e[table];
      if (d) {
        min += d[0];
        max += d[1];
      }
    }
    const change = after[table] - before[table];
    if (change < min || change > max) problems.push(`${table}: changed by ${change}, responses account for ${min === max ? min : `${min}..${max}`}`);
  }
  return problems;
}

/** Grows the pools from what the server created, so later requests reach deeper. */
export function learn(pools: Pools, target: string, res: RawResponse): void {
  if (!res.json || typeof res.json !== 'object') return;
  const body = res.json as Record<string, any>;
  // A release update with assets[links] makes new links.
  if (res.status === 200 && target === 'PUT /api/v4/projects/:id/releases/:tag_name') {
    for (const l of body.assets?.links ?? []) remember(pools.linkIds, String(l.id));
  }
  if (res.status !== 201) return;
  if (target.endsWith('/assets/links') && typeof body.id === 'number') remember(pools.linkIds, String(body.id));
  if (target === 'POST /api/v4/projects/:id/releases') {
    if (typeof body.tag_name === 'string') remember(pools.tags, body.tag_name, 100);
    for (const l of body.assets?.links ?? []) remember(pools.linkIds, String(l.id));
  }
  if (target === 'POST /api/v4/projects' && typeof body.id === 'number') remember(pools.throwawayProjects, String(body.id), 50);
  if (target === 'POST /api/v4/users' && typeof body.id === 'number') remember(pools.userIds, String(body.id), 50);
}

// ---------------------------------------------------------------------------------------------
// Well-formed bodies, for sweeps that must get past parameter validation.

/**
 * Deterministic bodies for a route that pass its own schema (checked with the app's Ajv options),
 * smallest first: the fewer optional fields, the fewer business rules stand before the lookups.
 */
export function validBodies(route: RouteEntry, pools: Pools, count = 1): unknown[] {
  const schema = route.schema?.body as JsonSchema | undefined;
  if (!schema) return [undefined];
  const ajv = addRelinksKeywords(new Ajv({ allErrors: true, coerceTypes: 'array', useDefaults: true, strict: false }));
  const validate = ajv.compile(schema);
  const found: unknown[] = [];
  for (const candidate of fc.sample(fromSchema(schema, 'body', pools, true), { numRuns: 500, seed: 42 })) {
    if (validate(structuredClone(candidate))) found.push(candidate);
  }
  if (!found.length) throw new Error(`no valid body found for ${route.method} ${route.url}`);
  const size = (v: unknown) => (v && typeof v === 'object' ? Object.keys(v).length : 0);
  return found.sort((a, b) => size(a) - size(b) || JSON.stringify(a).length - JSON.stringify(b).length).slice(0, count);
}
