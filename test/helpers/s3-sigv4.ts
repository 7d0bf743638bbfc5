import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

// AWS Signature Version 4 as S3 checks it on a request signed in its Authorization header, so the
// tests prove the backend sends the configured credentials and signs with the secret it was given.

export interface SigV4Key {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

export type SigV4Result =
  | { ok: true; accessKeyId: string; payloadHash: string }
  | { ok: false; status: number; code: string; message: string };

const AUTH = /^AWS4-HMAC-SHA256 Credential=([^/\s]+)\/(\d{8})\/([^/\s]+)\/([^/\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;

const sha256 = (data: string) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

/** RFC 3986 encoding, as SigV4 wants for query names and values. */
const strictEncode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function canonicalQuery(rawQuery: string): string {
  return rawQuery
    .split('&')
    .filter(Boolean)
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = decodeURIComponent(eq < 0 ? pair : pair.slice(0, eq));
      const value = eq < 0 ? '' : decodeURIComponent(pair.slice(eq + 1));
      return [strictEncode(name), strictEncode(value)];
    })
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

/** Checks the request's Authorization header against `key`; the body's hash is checked by the caller as it streams. */
export function verifySigV4(req: IncomingMessage, key: SigV4Key): SigV4Result {
  const header = req.headers.authorization;
  if (!header) return { ok: false, status: 403, code: 'AccessDenied', message: 'Access Denied' };
  const match = AUTH.exec(header);
  if (!match) return { ok: false, status: 400, code: 'AuthorizationHeaderMalformed', message: 'The authorization header is malformed.' };
  const [, accessKeyId, date, region, service, signedList, signature] = match;
  if (accessKeyId !== key.accessKeyId) {
    return { ok: false, status: 403, code: 'InvalidAccessKeyId', message: 'The AWS Access Key Id you provided does not exist in our records.' };
  }
  if (service !== 's3') return { ok: false, status: 400, code: 'AuthorizationHeaderMalformed', message: `The authorization header is malformed; incorrect service "${service}". This endpoint belongs to "s3".` };
  if (region !== key.region) {
    return { ok: false, status: 400, code: 'AuthorizationHeaderMalformed', message: `The authorization header is malformed; the region '${region}' is wrong; expecting '${key.region}'` };
  }
  const amzDate = req.headers['x-amz-date'];
  const payloadHash = req.headers['x-amz-content-sha256'];
  if (typeof amzDate !== 'string' || !/^\d{8}T\d{6}Z$/.test(amzDate) || amzDate.slice(0, 8) !== date) {
    return { ok: false, status: 400, code: 'AuthorizationHeaderMalformed', message: 'The authorization header is malformed; the date does not match X-Amz-Date.' };
  }
  if (typeof payloadHash !== 'string') return { ok: false, status: 400, code: 'InvalidRequest', message: 'Missing required header for this request: x-amz-content-sha256' };
  const signed = signedList.split(';');
  for (const required of ['host', 'x-amz-content-sha256', 'x-amz-date']) {
    if (!signed.includes(required)) return { ok: false, status: 403, code: 'AccessDenied', message: `The header ${required} must be signed.` };
  }

  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const canonicalHeaders = signed.map((name) => {
    const value = req.headers[name];
    return `${name}:${(Array.isArray(value) ? value.join(',') : value ?? '').trim().replace(/\s+/g, ' ')}\n`;
  });
  const canonicalRequest = [req.method, q < 0 ? url : url.slice(0, q), canonicalQuery(q < 0 ? '' : url.slice(q + 1)), canonicalHeaders.join(''), signedList, payloadHash].join('\n');
  const scope = `${date}/${region}/s3/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${key.secretAccessKey}`, date), region), 's3'), 'aws4_request');
  const expected = hmac(signingKey, stringToSign);
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
    return { ok: false, status: 403, code: 'SignatureDoesNotMatch', message: 'The request signature we calculated does not match the signature you provided. Check your key and signing method.' };
  }
  return { ok: true, accessKeyId, payloadHash };
}
