import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { LookupFunction } from 'node:net';
import type { Target } from './url-guard.js';

// One POST to a receiver, on the address the URL guard checked. No redirect is followed (a 3xx is
// an answer like any other), at most 8 KiB of the answer's body and 50 of its headers are read (as
// GitLab keeps for its log), and one timer bounds the whole attempt: connecting, sending, waiting
// and reading. A receiver can hold an attempt no longer than that.

export const RESPONSE_BODY_LIMIT = 8 * 1024;
const RESPONSE_HEADERS_COUNT_LIMIT = 50;
const RESPONSE_HEADER_SIZE_LIMIT = 1024;

export interface Answer {
  /** null when no answer came (refused, reset, timed out). */
  status: number | null;
  headers: Record<string, string>;
  body: string;
  error?: string;
}

// Kept-alive connections to receivers; a socket is only opened through the pinned lookup below.
const agents = {
  http: new http.Agent({ keepAlive: true, maxFreeSockets: 64, timeout: 60_000 }),
  https: new https.Agent({ keepAlive: true, maxFreeSockets: 64, timeout: 60_000 }),
  httpsUnverified: new https.Agent({ keepAlive: true, maxFreeSockets: 64, timeout: 60_000, rejectUnauthorized: false }),
};

/** Resolves the URL's host to the checked address only, whatever DNS says now. */
function pinned(target: Target): LookupFunction {
  return ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  }) as unknown as LookupFunction;
}

/** Content-Type, X-Request-Id: GitLab's each_capitalized. */
const capitalized = (name: string) => name.split('-').map((p) => p.charAt(0).toUpperCase() + p.slice(1).toLowerCase()).join('-');

function truncateBytes(text: string, limit: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= limit) return text;
  // Cut on a character boundary: drop a trailing partial sequence.
  return bytes.subarray(0, limit).toString('utf8').replace(/\uFFFD$/, '');
}

function responseHeaders(raw: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = capitalized(raw[i]);
    if (!(name in out) && Object.keys(out).length >= RESPONSE_HEADERS_COUNT_LIMIT) continue;
    const value = name in out ? `${out[name]}, ${raw[i + 1]}` : raw[i + 1];
    out[name] = truncateBytes(value, RESPONSE_HEADER_SIZE_LIMIT);
  }
  return out;
}

function describe(error: unknown, timedOut: boolean, timeoutMs: number): string {
  if (timedOut) return `Request timed out after ${timeoutMs} ms`;
  const e = error as { code?: string; message?: string };
  return e?.message ? String(e.message) : String(error);
}

export function post(target: Target, headers: Record<string, string>, body: Buffer, options: { timeoutMs: number; verifyTls: boolean; signal?: AbortSignal }): Promise<Answer> {
  const { url } = target;
  const isHttps = url.protocol === 'https:';
  const hostIsName = net.isIP(url.hostname.replace(/^\[|\]$/g, '')) === 0;
  return new Promise<Answer>((resolve) => {
    let settled = false;
    let timedOut = false;
    let status: number | null = null;
    let gotHeaders: Record<string, string> = {};
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (error?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      const text = truncateBytes(Buffer.concat(chunks).toString('utf8'), RESPONSE_BODY_LIMIT);
      // An answer whose status came is an answer, even if its body was cut short.
      if (status !== null) resolve({ status, headers: gotHeaders, body: text });
      else resolve({ status: null, headers: {}, body: '', error: describe(error, timedOut, options.timeoutMs) });
    };
    const user = url.username ? `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}` : undefined;
    const request = (isHttps ? https : http).request({
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port || (isHttps ? 443 : 80),
      path: `${url.pathname}${url.search}`,
      method: 'POST',
      headers: { ...headers, 'Content-Length': String(body.length) },
      auth: user,
      lookup: pinned(target),
      agent: isHttps ? (options.verifyTls ? agents.https : agents.httpsUnverified) : agents.http,
      ...(isHttps ? { rejectUnauthorized: options.verifyTls, ...(hostIsName ? { servername: url.hostname } : {}) } : {}),
    });
    const stop = (error: Error) => {
      request.destroy(error);
      finish(error);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop(new Error('timeout'));
    }, options.timeoutMs);
    const onAbort = () => stop(new Error('Delivery stopped: the server is shutting down'));
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    request.on('error', (error) => finish(error));
    request.on('response', (response) => {
      status = response.statusCode ?? null;
      gotHeaders = responseHeaders(response.rawHeaders);
      response.on('data', (chunk: Buffer) => {
        if (size < RESPONSE_BODY_LIMIT) chunks.push(chunk);
        size += chunk.length;
        // Enough read: the rest is not wanted, and a receiver that streams for ever is cut off.
        if (size > RESPONSE_BODY_LIMIT) {
          response.destroy();
          finish();
        }
      });
      response.on('end', () => finish());
      response.on('error', (error) => finish(error));
      response.on('close', () => finish());
    });
    request.end(body);
  });
}
