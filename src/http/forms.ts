import type { FastifyInstance, FastifyRequest } from 'fastify';
import formbody from '@fastify/formbody';
import { Busboy, type BusboyHeaders, type BusboyInstance } from '@fastify/busboy';
import type { IncomingMessage } from 'node:http';
import qs from 'qs';
import { ApiError, badParams } from '../errors.js';

// Form bodies, as Rack reads them for GitLab: application/x-www-form-urlencoded (curl --data) and
// multipart/form-data (curl --form). Both end in the same qs reading, so bracketed field names
// (assets[links][0][name], scopes[]) make the same nested parameters whichever way they came.

const QS_OPTIONS = { depth: 5, arrayLimit: 1000, parameterLimit: 10_000 } as const;

/** At most this many parts in a multipart body, as qs reads at most this many urlencoded fields. */
export const MAX_FORM_PARTS = QS_OPTIONS.parameterLimit;

/** How many bracket levels a field name is compared on; qs nests no deeper than 5. */
const MAX_KEY_LEVELS = 6;

/** `[b][c]tail` → ['[b]', '[b][c]']: the bracketed path, level by level, up to the first `[]`. */
function keyPaths(tail: string): string[] {
  const paths: string[] = [];
  let at = 0;
  while (paths.length < MAX_KEY_LEVELS && tail[at] === '[') {
    const end = tail.indexOf(']', at);
    if (end <= at + 1) break;
    paths.push(tail.slice(0, end + 1));
    at = end + 1;
  }
  return paths;
}

/**
 * Rack's reading of `x[][y]`: each field adds to the last hash of the array `x` unless that hash
 * has `y` already, which starts the next one. So `links[][name]=a&links[][url]=u&links[][name]=b`
 * are two links, where qs alone would make one link with two names. Rewrites such names to
 * explicit indexes (`links[0][name]`, `links[1][name]`), in the order the fields arrive.
 */
function rackArrayIndexes(): (key: string) => string {
  const arrays = new Map<string, { index: number; keys: Set<string> }>();
  return (key) => {
    let done = '';
    let rest = key;
    for (let at = rest.indexOf('[]['); at !== -1; at = rest.indexOf('[][')) {
      const prefix = done + rest.slice(0, at);
      const tail = rest.slice(at + 2);
      const paths = keyPaths(tail);
      let array = arrays.get(prefix);
      if (!array) {
        array = { index: 0, keys: new Set() };
        arrays.set(prefix, array);
      } else if (!tail.includes('[]') && paths.length && array.keys.has(paths[paths.length - 1])) {
        // Rack: a key holding `[]` never counts as present, so it always goes to the last hash.
        array.index += 1;
        array.keys = new Set();
      }
      for (const path of paths) array.keys.add(path);
      done = `${prefix}[${array.index}]`;
      rest = tail;
    }
    return done + rest;
  };
}

/** An urlencoded form as nested parameters (Rails style: a[b]=1, a[]=1, a[][b]=1). */
export function parseFormBody(body: string): Record<string, unknown> {
  const indexes = rackArrayIndexes();
  return qs.parse(body, {
    ...QS_OPTIONS,
    decoder: (text, decode, charset, type) => {
      const decoded = decode(text, decode, charset);
      return type === 'key' && decoded.includes('[][') ? indexes(decoded) : decoded;
    },
  }) as Record<string, unknown>;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Percent-encodes for qs; a lone surrogate (which decoded bytes never give) becomes U+FFFD. */
function encode(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return encodeURIComponent(text.replace(LONE_SURROGATE, '\ufffd'));
  }
}

const tooLarge = (closing: boolean) =>
  new ApiError(413, { message: '413 Request Entity Too Large' }, closing ? { connection: 'close' } : {});

/**
 * The fields of a multipart body, read through the same qs path as an urlencoded one. This API takes
 * no uploads: a file part is a 400 (after the body has been read, so the connection stays usable).
 * A body over `limit` bytes is a 413, declared (Content-Length) or streamed (chunked).
 */
function readMultipart(request: FastifyRequest, payload: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  if (Number(request.headers['content-length']) > limit) return Promise.reject(tooLarge(true));
  return new Promise((resolve, reject) => {
    const pairs: string[] = [];
    let file: string | undefined;
    let received = 0;
    let settled = false;
    const fail = (error: ApiError) => {
      if (settled) return;
      settled = true;
      if (!payload.complete) {
        // The rest of the body is left unread: discard it, and end the connection after answering.
        payload.unpipe();
        payload.resume();
        if (!error.headers.connection) error = new ApiError(error.status, error.body, { ...error.headers, connection: 'close' });
      }
      reject(error);
    };
    const malformed = (message: string) => fail(badParams(`400 Bad request - malformed multipart body (${message})`));

    let parser: BusboyInstance;
    try {
      parser = new Busboy({
        headers: request.headers as BusboyHeaders,
        // Rack's rule: a part with a filename is a file, any other part a field (whatever its type).
        isPartAFile: (_name, _type, filename) => filename !== undefined,
        limits: { parts: MAX_FORM_PARTS, fields: MAX_FORM_PARTS, fieldSize: limit, fileSize: limit, headerPairs: 100 },
      });
    } catch (error) {
      // No boundary, or not multipart at all.
      return malformed((error as Error).message);
    }
    payload.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) fail(tooLarge(true));
    });
    parser.on('field', (name, value, _nameTruncated, valueTruncated, _encoding, type) => {
      if (name === '__proto__' || name in Object.prototype) return malformed(`the field name ${JSON.stringify(name)} is not allowed`);
      if (valueTruncated) return fail(tooLarge(false));
      // A part that says it is JSON must be JSON; its text is the parameter, as Rack keeps it.
      if (type.startsWith('application/json')) {
        try {
          JSON.parse(value);
        } catch {
          return malformed(`the field ${JSON.stringify(name.slice(0, 100))} is not valid JSON`);
        }
      }
      pairs.push(`${encode(name)}=${encode(value)}`);
    });
    parser.on('file', (name, stream, filename) => {
      // Read to the end: the parser waits for it. A file input left empty (filename="") is no
      // parameter at all, as for Rack.
      stream.resume();
      if (filename !== '' && file === undefined) file = name;
    });
    for (const limitHit of ['partsLimit', 'filesLimit', 'fieldsLimit'] as const) parser.on(limitHit, () => fail(tooLarge(false)));
    parser.on('error', (error: Error) => {
      // An empty body is an empty form, not a truncated one.
      if (received === 0 && /Unexpected end/.test(error.message)) return finish();
      malformed(error.message);
    });
    const finish = () => {
      if (settled) return;
      settled = true;
      if (file !== undefined) {
        return reject(badParams(`400 Bad request - file uploads are not accepted (field ${JSON.stringify(file.slice(0, 100))})`));
      }
      resolve(parseFormBody(pairs.join('&')));
    };
    parser.on('finish', finish);
    payload.pipe(parser);
  });
}

/**
 * A bad multipart body that was read to its end: answered from the pipeline's parameter step, not
 * as a parser error, for which Fastify would close a connection that is still good.
 */
const bodyErrors = new WeakMap<FastifyRequest, Error>();

export function throwBodyError(request: FastifyRequest): void {
  const error = bodyErrors.get(request);
  if (error) throw error;
}

/** Registers both form parsers; `limit` bounds a whole body, as for JSON. */
export async function registerFormParsers(app: FastifyInstance, limit: number): Promise<void> {
  await app.register(formbody, { bodyLimit: limit, parser: parseFormBody });
  app.addContentTypeParser('multipart/form-data', (request, payload, done) => {
    readMultipart(request, payload as IncomingMessage, limit).then(
      (body) => done(null, body),
      (error: Error) => {
        if (!(payload as IncomingMessage).complete) return done(error, undefined);
        bodyErrors.set(request, error);
        done(null, {});
      },
    );
  });
}
