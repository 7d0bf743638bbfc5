import { randomUUID } from 'node:crypto';
import { PassThrough, pipeline, type Readable } from 'node:stream';
import type { CompletedPart, S3Client } from '@aws-sdk/client-s3';
import { ConfigError } from '../../config.js';
import type { BlobBackend, ByteRange } from './backend.js';

// S3-compatible object storage through the AWS SDK: see docs/storage-s3.md. Bytes are written
// first (multipart, one part in memory) and recorded after, like the disk backend: a write that
// fails aborts its multipart upload, and what a crash leaves is swept (list()).

/**
 * Parts of S3's smallest size, sent one at a time from one buffer that each part fills again, so
 * an upload holds one part in memory and leaves no 5 MiB buffers behind for the garbage collector
 * (lib-storage's Upload, used before, concatenated a fresh one per part: docs/storage-s3.md).
 * Measured there too: 8 MiB parts two at a time cost some 30 MiB more RSS for at most a fifth more
 * speed. 10,000 parts make the largest object 48.8 GiB.
 */
export const PART_SIZE = 5 * 1024 * 1024;
const MAX_PARTS = 10_000;
/**
 * How long this process keeps a location it wrote out of list(): a store may date a multipart
 * object from when its upload began, so an upload that outlasted the sweep's grace would look old
 * enough to sweep in the moment between its completion and the commit that records it.
 */
const RECENT_MS = 10 * 60 * 1000;
const LOCATION = /^[0-9a-f]{2}\/[0-9a-f-]{36}$/;
const PARAMS = ['endpoint', 'region', 'force_path_style', 'max_sockets'];

export interface S3Settings {
  bucket: string;
  /** '' or a key prefix ending in '/'; objects live under `<prefix>objects/`. */
  prefix: string;
  endpoint: string | undefined;
  region: string;
  forcePathStyle: boolean;
  maxSockets: number;
  /** undefined: the SDK's default chain (shared config files, SSO, web identity, container and instance roles). */
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined;
}

/** Reads `s3://<bucket>[/<prefix>]?endpoint=…&region=…&force_path_style=…&max_sockets=…` and the AWS_* credentials. */
export function s3Settings(url: string, env: NodeJS.ProcessEnv): S3Settings {
  const fail = (why: string) => new ConfigError(`STORAGE_URL: ${why}`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw fail('not a URL; expected s3://<bucket>[/<prefix>]?endpoint=…&region=…&force_path_style=true');
  }
  if (parsed.protocol !== 's3:') throw fail('expected s3://<bucket>…');
  // Never echoed: whatever stands there is meant to be a secret.
  if (parsed.username || parsed.password) throw fail('must not hold credentials; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
  const bucket = parsed.hostname;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{1,61}[A-Za-z0-9]$/.test(bucket) || parsed.port) throw fail(`"${bucket}${parsed.port ? ':' + parsed.port : ''}" is not a bucket name`);
  const path = decodeURIComponent(parsed.pathname).replace(/^\/+/, '');
  const prefix = path === '' || path.endsWith('/') ? path : `${path}/`;

  const params = parsed.searchParams;
  for (const name of params.keys()) {
    if (!PARAMS.includes(name)) throw fail(`unknown parameter "${name}"; known: ${PARAMS.join(', ')}`);
  }
  let endpoint: string | undefined;
  const rawEndpoint = params.get('endpoint');
  if (rawEndpoint !== null) {
    let e: URL | undefined;
    try {
      e = new URL(rawEndpoint);
    } catch {
      // reported below
    }
    if (!e || (e.protocol !== 'http:' && e.protocol !== 'https:') || e.search || e.hash) throw fail('endpoint must be an http(s) URL such as http://127.0.0.1:9000');
    if (e.username || e.password) throw fail('endpoint must not hold credentials; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
    endpoint = e.toString().replace(/\/$/, '');
  }
  const region = params.get('region') || env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1';
  if (!/^[a-z0-9-]+$/.test(region)) throw fail(`region "${region}" is not a region name`);
  const pathStyle = params.get('force_path_style') ?? 'false';
  if (pathStyle !== 'true' && pathStyle !== 'false') throw fail(`force_path_style must be true or false, got "${pathStyle}"`);
  const sockets = params.get('max_sockets') ?? '200';
  if (!/^\d+$/.test(sockets) || Number(sockets) < 1 || Number(sockets) > 10_000) throw fail(`max_sockets must be an integer from 1 to 10000, got "${sockets}"`);

  const accessKeyId = env.AWS_ACCESS_KEY_ID || undefined;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY || undefined;
  if (!accessKeyId !== !secretAccessKey) throw new ConfigError('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together');
  const credentials = accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN || undefined } : undefined;

  return { bucket, prefix, endpoint, region, forcePathStyle: pathStyle === 'true', maxSockets: Number(sockets), credentials };
}

/** A failed S3 call, reduced to what is safe to log: the SDK's own errors can carry request details. */
export class S3StorageError extends Error {
  constructor(
    message: string,
    /** S3's error code (NoSuchKey, AccessDenied, …) or the network error's. */
    readonly code: string,
    readonly status: number | undefined,
  ) {
    super(message);
    this.name = 'S3StorageError';
  }
}

function storageError(operation: string, error: unknown, secrets: string[]): S3StorageError {
  const e = (error ?? {}) as { name?: string; Code?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const code = e.Code ?? e.code ?? e.name ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  let text = typeof e.message === 'string' ? e.message : String(error);
  for (const secret of secrets) text = text.replaceAll(secret, '[FILTERED]');
  return new S3StorageError(`S3 ${operation} failed${status ? ` (HTTP ${status})` : ''}: ${code}: ${text}`, code, status);
}

interface Sdk {
  s3: typeof import('@aws-sdk/client-s3');
  client: S3Client;
}

export function s3Backend(url: string, env: NodeJS.ProcessEnv): BlobBackend {
  const settings = s3Settings(url, env);
  const { bucket } = settings;
  const objects = `${settings.prefix}objects/`;
  const secrets = [settings.credentials?.secretAccessKey, settings.credentials?.sessionToken, settings.credentials?.accessKeyId].filter((s): s is string => !!s);
  const fail = (operation: string, error: unknown) => storageError(operation, error, secrets);
  const keyOf = (location: string) => {
    if (!LOCATION.test(location)) throw new Error(`not an S3 blob location: ${location}`);
    return objects + location;
  };
  // location -> when its write finished (Infinity while running); see RECENT_MS.
  const recent = new Map<string, number>();
  const forget = () => {
    const cutoff = Date.now() - RECENT_MS;
    for (const [location, at] of recent) if (at < cutoff) recent.delete(location);
  };

  // The SDK is loaded at first use, so servers on other backends never pay for it.
  let sdk: Promise<Sdk> | undefined;
  const ready = () =>
    (sdk ??= (async () => {
      const s3 = await import('@aws-sdk/client-s3');
      const agent = { keepAlive: true, maxSockets: settings.maxSockets };
      const client = new s3.S3Client({
        region: settings.region,
        endpoint: settings.endpoint,
        forcePathStyle: settings.forcePathStyle,
        credentials: settings.credentials,
        // A store that stops answering fails the request instead of holding it forever.
        requestHandler: { connectionTimeout: 10_000, socketTimeout: 300_000, httpAgent: agent, httpsAgent: agent },
      });
      return { s3, client };
    })());

  return {
    name: 's3',
    transactional: false,
    async write(source) {
      const { s3, client } = await ready();
      const id = randomUUID();
      const location = `${id.slice(0, 2)}/${id}`;
      const key = keyOf(location);
      const Bucket = bucket;
      const Key = key;
      // S3's own failures become S3StorageErrors; anything else thrown here is the source's (a
      // client gone, a body too large), which is what the caller must see.
      const ours = <T>(call: Promise<T>): Promise<T> => call.catch((error: unknown) => Promise.reject(fail(`upload of ${key}`, error)));
      // As lib-storage does: a store that takes checksums gets a CRC32 for the whole upload.
      const checksummed = (await client.config.requestChecksumCalculation()) === 'WHEN_SUPPORTED';
      const part = Buffer.allocUnsafe(PART_SIZE);
      let filled = 0;
      let uploadId: string | undefined;
      const parts: CompletedPart[] = [];
      /** Sends what `part` holds as the next part, starting the multipart upload at the first; `part` is free again once it resolves. */
      const sendPart = async () => {
        if (parts.length === MAX_PARTS) throw new S3StorageError(`S3 upload of ${key} failed: more than ${MAX_PARTS} parts`, 'TooManyParts', undefined);
        if (uploadId === undefined) {
          const created = await ours(
            client.send(new s3.CreateMultipartUploadCommand({ Bucket, Key, ContentType: 'application/octet-stream', ChecksumAlgorithm: checksummed ? 'CRC32' : undefined })),
          );
          uploadId = created.UploadId;
          if (!uploadId) throw new S3StorageError(`S3 upload of ${key} failed: no UploadId`, 'NoUploadId', undefined);
        }
        const PartNumber = parts.length + 1;
        const sent = await ours(client.send(new s3.UploadPartCommand({ Bucket, Key, UploadId: uploadId, PartNumber, Body: part.subarray(0, filled) })));
        if (!sent.ETag) throw new S3StorageError(`S3 upload of ${key} failed: part ${PartNumber} has no ETag`, 'NoETag', undefined);
        const { ETag, ChecksumCRC32, ChecksumCRC32C, ChecksumCRC64NVME, ChecksumSHA1, ChecksumSHA256 } = sent;
        parts.push({ PartNumber, ETag, ChecksumCRC32, ChecksumCRC32C, ChecksumCRC64NVME, ChecksumSHA1, ChecksumSHA256 });
        filled = 0;
      };
      forget();
      recent.set(location, Infinity);
      try {
        for await (const piece of source) {
          for (let offset = 0; offset < piece.length; ) {
            // A full part goes once a byte past it arrives, so content of one part is one PutObject.
            if (filled === PART_SIZE) await sendPart();
            const copied = piece.copy(part, filled, offset);
            offset += copied;
            filled += copied;
          }
        }
        if (uploadId === undefined) {
          await ours(client.send(new s3.PutObjectCommand({ Bucket, Key, Body: part.subarray(0, filled), ContentType: 'application/octet-stream' })));
        } else {
          await sendPart();
          await ours(client.send(new s3.CompleteMultipartUploadCommand({ Bucket, Key, UploadId: uploadId, MultipartUpload: { Parts: parts } })));
        }
      } catch (error) {
        recent.delete(location);
        // If this abort fails too, list() aborts the upload later.
        if (uploadId !== undefined) await client.send(new s3.AbortMultipartUploadCommand({ Bucket, Key, UploadId: uploadId })).catch(() => {});
        // A completion whose answer was lost may have left the object: it was never recorded.
        await client.send(new s3.DeleteObjectCommand({ Bucket, Key })).catch(() => {});
        throw error;
      }
      recent.set(location, Date.now());
      return location;
    },
    read(location, range?: ByteRange) {
      const key = keyOf(location);
      const out = new PassThrough();
      const abort = new AbortController();
      let answered = false;
      out.once('close', () => {
        if (!answered) abort.abort();
      });
      ready()
        .then(({ s3, client }) =>
          client.send(new s3.GetObjectCommand({ Bucket: bucket, Key: key, Range: range ? `bytes=${range.start}-${range.end}` : undefined }), { abortSignal: abort.signal }),
        )
        .then(
          (answer) => {
            answered = true;
            const bytes = answer.Body as Readable;
            if (out.destroyed) bytes.destroy();
            // pipeline destroys the S3 response when the reader goes away, freeing its socket.
            else pipeline(bytes, out, () => {});
          },
          (error) => {
            answered = true;
            if (!out.destroyed) out.destroy(fail(`read of ${key}`, error));
          },
        );
      return out;
    },
    async remove(location) {
      const key = keyOf(location);
      const { s3, client } = await ready();
      try {
        await client.send(new s3.DeleteObjectCommand({ Bucket: bucket, Key: key }));
      } catch (error) {
        throw fail(`delete of ${key}`, error);
      }
    },
    async *list(before) {
      const { s3, client } = await ready();
      forget();
      // Uploads a crash left unfinished first: they never had a location to yield.
      let keyMarker: string | undefined;
      let uploadIdMarker: string | undefined;
      do {
        const page = await client
          .send(new s3.ListMultipartUploadsCommand({ Bucket: bucket, Prefix: objects, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }))
          .catch((error) => Promise.reject(fail('listing of multipart uploads', error)));
        for (const upload of page.Uploads ?? []) {
          const { Key, UploadId, Initiated } = upload;
          if (!Key || !UploadId || !Initiated || Initiated.getTime() >= before) continue;
          if (recent.has(Key.slice(objects.length))) continue;
          // An upload begun long ago may still be sending parts (a slow client): only a quiet one is dead.
          if ((await lastPartAt(client, s3, Key, UploadId)) >= before) continue;
          await client.send(new s3.AbortMultipartUploadCommand({ Bucket: bucket, Key, UploadId })).catch((error) => {
            if ((error as { name?: string }).name !== 'NoSuchUpload') throw fail(`abort of an upload to ${Key}`, error);
          });
        }
        keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
        uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
      } while (keyMarker);

      let token: string | undefined;
      do {
        const page = await client
          .send(new s3.ListObjectsV2Command({ Bucket: bucket, Prefix: objects, ContinuationToken: token }))
          .catch((error) => Promise.reject(fail('listing of objects', error)));
        for (const item of page.Contents ?? []) {
          const location = item.Key?.slice(objects.length) ?? '';
          // Keys relinks did not write under its prefix are not its own to remove.
          if (!LOCATION.test(location) || !item.LastModified || item.LastModified.getTime() >= before) continue;
          if (recent.has(location)) continue;
          yield location;
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);

      async function lastPartAt(c: S3Client, sdkS3: Sdk['s3'], Key: string, UploadId: string): Promise<number> {
        let latest = 0;
        let marker: string | undefined;
        do {
          const parts = await c.send(new sdkS3.ListPartsCommand({ Bucket: bucket, Key, UploadId, PartNumberMarker: marker })).catch((error) => {
            // Completed or aborted since it was listed: nothing left to abort.
            if ((error as { name?: string }).name === 'NoSuchUpload') return null;
            throw fail(`listing of the parts of an upload to ${Key}`, error);
          });
          if (!parts) return Number.POSITIVE_INFINITY;
          for (const part of parts.Parts ?? []) latest = Math.max(latest, part.LastModified?.getTime() ?? 0);
          marker = parts.IsTruncated ? parts.NextPartNumberMarker : undefined;
        } while (marker);
        return latest;
      }
    },
    async close() {
      if (sdk) (await sdk).client.destroy();
    },
  };
}
