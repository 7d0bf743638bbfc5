import { createHash, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { rememberSecret } from './secrets.js';
import { verifySigV4 } from './s3-sigv4.js';

// A small S3-protocol server for the S3 backend's tests: path-style requests, SigV4-checked, the
// operations the backend calls and no others (501 NotImplemented), with S3's XML answers and
// error codes. Bodies stream to files in a temporary folder.
//
// Every part but the last must be at least 5 MiB, as on S3. A multipart object's LastModified is
// when its upload was initiated, as a store may date it: the worst case for the sweeper.

const MIN_PART_SIZE = 5 * 1024 * 1024;
const XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';

export interface S3Call {
  operation: string;
  key?: string;
  partNumber?: number;
  /** Body bytes received (PutObject, UploadPart). */
  size?: number;
  range?: string;
  /** The body's CRC32 was sent in x-amz-checksum-crc32 and matched. */
  crc32Checked?: boolean;
  status: number;
}

export interface S3ServerOptions {
  buckets?: string[];
  region?: string;
  /** Largest page ListObjectsV2, ListMultipartUploads and ListParts give, whatever is asked (S3: 1000). */
  pageSize?: number;
}

export interface S3TestServer {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Every authenticated request, in order. */
  calls: S3Call[];
  /** Makes UploadPart of these part numbers fail with 500 InternalError (every retry too). */
  failingParts: Set<number>;
  /** Complete objects' keys, read from the folder. */
  keys(bucket: string): Promise<string[]>;
  /** Multipart uploads begun and neither completed nor aborted. */
  pendingUploads(bucket: string): Promise<{ key: string; uploadId: string }[]>;
  /** Credentials for the AWS_* variables. */
  credentials(): Record<string, string>;
  close(): Promise<void>;
}

interface ObjectMeta {
  key: string;
  size: number;
  etag: string;
  lastModified: number;
  contentType: string;
  /** File under <bucket>/data holding the bytes: replaced whole, never rewritten. */
  data: string;
}

interface UploadMeta {
  key: string;
  initiated: number;
  contentType: string;
  checksumAlgorithm?: string;
}

interface PartMeta {
  size: number;
  etag: string;
  md5: string;
  lastModified: number;
  crc32?: string;
}

class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, string> = {},
  ) {
    super(message);
  }
}

const escapeXml = (s: string) => s.replace(/[&<>"']/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[c]};`);
const unescapeXml = (s: string) => s.replace(/&(amp|lt|gt|quot|apos);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" })[e]!);
const el = (name: string, value: string | number | boolean) => `<${name}>${escapeXml(String(value))}</${name}>`;
const iso = (ms: number) => new Date(ms).toISOString();
const crcBase64 = (crc: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(crc >>> 0);
  return b.toString('base64');
};
const keyFile = (key: string) => encodeURIComponent(key);
const byKey = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fsp.readFile(file, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function writeJson(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.${randomUUID()}.tmp`;
  await fsp.writeFile(tmp, JSON.stringify(value));
  await fsp.rename(tmp, file);
}

export async function startS3Server(options: S3ServerOptions = {}): Promise<S3TestServer> {
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'relinks-s3-'));
  const region = options.region ?? 'us-east-1';
  const pageSize = options.pageSize ?? 1000;
  const accessKeyId = `AKIA${randomBytes(8).toString('hex').toUpperCase()}`;
  const secretAccessKey = randomBytes(30).toString('base64');
  // The log scanners of test servers fail on either of them.
  rememberSecret(accessKeyId);
  rememberSecret(secretAccessKey);
  for (const bucket of options.buckets ?? ['relinks']) {
    for (const dir of ['objects', 'data', 'uploads']) await fsp.mkdir(path.join(root, bucket, dir), { recursive: true });
  }
  const calls: S3Call[] = [];
  const failingParts = new Set<number>();

  const dir = (bucket: string, ...rest: string[]) => path.join(root, bucket, ...rest);
  const objectMeta = (bucket: string, key: string) => readJson<ObjectMeta>(dir(bucket, 'objects', keyFile(key)));
  const uploadMeta = (bucket: string, uploadId: string) => (/^[0-9a-z]+$/.test(uploadId) ? readJson<UploadMeta>(dir(bucket, 'uploads', uploadId, 'upload.json')) : Promise.resolve(undefined));

  async function listObjectMetas(bucket: string): Promise<ObjectMeta[]> {
    const names = (await fsp.readdir(dir(bucket, 'objects'))).filter((n) => !n.endsWith('.tmp'));
    const metas = await Promise.all(names.map((n) => readJson<ObjectMeta>(dir(bucket, 'objects', n))));
    return metas.filter((m): m is ObjectMeta => !!m).sort((a, b) => byKey(a.key, b.key));
  }

  async function listUploads(bucket: string): Promise<(UploadMeta & { uploadId: string })[]> {
    const ids = await fsp.readdir(dir(bucket, 'uploads'));
    const metas = await Promise.all(ids.map(async (uploadId) => ({ uploadId, meta: await uploadMeta(bucket, uploadId) })));
    return metas
      .filter((m) => !!m.meta)
      .map((m) => ({ ...m.meta!, uploadId: m.uploadId }))
      .sort((a, b) => byKey(a.key, b.key) || (a.uploadId < b.uploadId ? -1 : 1));
  }

  /** Streams the body to `file`, checking the hashes the client sent. */
  async function receive(req: IncomingMessage, file: string, payloadHash: string) {
    if (payloadHash.startsWith('STREAMING-')) throw new S3Error(501, 'NotImplemented', 'aws-chunked bodies are not implemented by this server');
    const md5 = createHash('md5');
    const sha = createHash('sha256');
    let crc = 0;
    let size = 0;
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        md5.update(chunk);
        sha.update(chunk);
        crc = zlib.crc32(chunk, crc);
        size += chunk.length;
        done(null, chunk);
      },
    });
    try {
      await pipeline(req, hashing, fs.createWriteStream(file));
      const declared = req.headers['content-length'];
      if (declared !== undefined && Number(declared) !== size) throw new S3Error(400, 'IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header.');
      if (payloadHash !== 'UNSIGNED-PAYLOAD' && payloadHash !== sha.digest('hex')) {
        throw new S3Error(400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.");
      }
      const md5Raw = md5.digest();
      const sentMd5 = req.headers['content-md5'];
      if (sentMd5 !== undefined && sentMd5 !== md5Raw.toString('base64')) throw new S3Error(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
      const crc32 = crcBase64(crc);
      const sentCrc = req.headers['x-amz-checksum-crc32'];
      if (sentCrc !== undefined && sentCrc !== crc32) throw new S3Error(400, 'BadDigest', 'The CRC32 you specified did not match the calculated checksum.');
      for (const name of Object.keys(req.headers)) {
        if (name.startsWith('x-amz-checksum-') && name !== 'x-amz-checksum-crc32' && name !== 'x-amz-checksum-algorithm') {
          throw new S3Error(501, 'NotImplemented', `${name} is not implemented by this server`);
        }
      }
      return { size, md5: md5Raw.toString('hex'), crc32: sentCrc === undefined ? undefined : crc32 };
    } catch (error) {
      await fsp.rm(file, { force: true });
      throw error;
    }
  }

  function xml(res: ServerResponse, status: number, body: string) {
    const text = `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
    res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  async function putObject(req: IncomingMessage, res: ServerResponse, bucket: string, key: string, payloadHash: string, call: S3Call) {
    const data = randomUUID();
    const got = await receive(req, dir(bucket, 'data', data), payloadHash);
    call.size = got.size;
    call.crc32Checked = got.crc32 !== undefined;
    const etag = `"${got.md5}"`;
    const old = await objectMeta(bucket, key);
    await writeJson(dir(bucket, 'objects', keyFile(key)), {
      key, size: got.size, etag, lastModified: Date.now(), contentType: req.headers['content-type'] ?? 'binary/octet-stream', data,
    } satisfies ObjectMeta);
    if (old) await fsp.rm(dir(bucket, 'data', old.data), { force: true });
    res.writeHead(200, { etag, ...(got.crc32 ? { 'x-amz-checksum-crc32': got.crc32 } : {}) });
    res.end();
  }

  async function getObject(req: IncomingMessage, res: ServerResponse, bucket: string, key: string, call: S3Call) {
    const meta = await objectMeta(bucket, key);
    if (!meta) throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
    const headers: Record<string, string | number> = {
      etag: meta.etag, 'last-modified': new Date(meta.lastModified).toUTCString(), 'accept-ranges': 'bytes', 'content-type': meta.contentType,
    };
    let start = 0;
    let end = meta.size - 1;
    let status = 200;
    const range = req.headers.range;
    call.range = range;
    // S3 serves one range; a header it cannot read is ignored and the whole object sent.
    const m = range ? /^bytes=(\d*)-(\d*)$/.exec(range) : null;
    if (m && (m[1] !== '' || m[2] !== '')) {
      if (m[1] === '') {
        start = Math.max(0, meta.size - Number(m[2]));
      } else {
        start = Number(m[1]);
        if (m[2] !== '') end = Math.min(end, Number(m[2]));
        if (m[2] !== '' && Number(m[2]) < start) {
          start = 0;
          end = meta.size - 1;
        } else if (start >= meta.size) {
          res.setHeader('content-range', `bytes */${meta.size}`);
          throw new S3Error(416, 'InvalidRange', 'The requested range is not satisfiable', { RangeRequested: range!, ActualObjectSize: String(meta.size) });
        }
      }
      if (meta.size > 0) {
        status = 206;
        headers['content-range'] = `bytes ${start}-${end}/${meta.size}`;
      }
    }
    headers['content-length'] = Math.max(0, end - start + 1);
    res.writeHead(status, headers);
    if (req.method === 'HEAD' || end < start) return void res.end();
    await pipeline(fs.createReadStream(dir(bucket, 'data', meta.data), { start, end }), res);
  }

  async function createUpload(req: IncomingMessage, res: ServerResponse, bucket: string, key: string) {
    // Sortable by time, so uploads of one key list in the order they began, as S3 lists them.
    const uploadId = `${Date.now().toString(36).padStart(10, '0')}${randomBytes(12).toString('hex')}`;
    const algorithm = req.headers['x-amz-checksum-algorithm'] as string | undefined;
    if (algorithm !== undefined && algorithm !== 'CRC32') throw new S3Error(501, 'NotImplemented', `checksum algorithm ${algorithm} is not implemented by this server`);
    await fsp.mkdir(dir(bucket, 'uploads', uploadId));
    await writeJson(dir(bucket, 'uploads', uploadId, 'upload.json'), {
      key, initiated: Date.now(), contentType: req.headers['content-type'] ?? 'binary/octet-stream', checksumAlgorithm: algorithm,
    } satisfies UploadMeta);
    if (algorithm !== undefined) res.setHeader('x-amz-checksum-algorithm', algorithm);
    xml(res, 200, `<InitiateMultipartUploadResult xmlns="${XMLNS}">${el('Bucket', bucket)}${el('Key', key)}${el('UploadId', uploadId)}</InitiateMultipartUploadResult>`);
  }

  async function requireUpload(bucket: string, key: string, uploadId: string): Promise<UploadMeta> {
    const meta = await uploadMeta(bucket, uploadId);
    if (!meta || meta.key !== key) {
      throw new S3Error(404, 'NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', { UploadId: uploadId });
    }
    return meta;
  }

  async function uploadPart(req: IncomingMessage, res: ServerResponse, bucket: string, key: string, query: URLSearchParams, payloadHash: string, call: S3Call) {
    const uploadId = query.get('uploadId')!;
    const partNumber = Number(query.get('partNumber'));
    call.partNumber = partNumber;
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10000) throw new S3Error(400, 'InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive');
    await requireUpload(bucket, key, uploadId);
    if (failingParts.has(partNumber)) throw new S3Error(500, 'InternalError', 'We encountered an internal error. Please try again.');
    const file = dir(bucket, 'uploads', uploadId, `${partNumber}.${randomUUID()}.tmp`);
    const got = await receive(req, file, payloadHash);
    call.size = got.size;
    call.crc32Checked = got.crc32 !== undefined;
    // Aborted while the part streamed in: the part goes with it.
    if (!(await uploadMeta(bucket, uploadId))) {
      await fsp.rm(file, { force: true });
      throw new S3Error(404, 'NoSuchUpload', 'The specified upload does not exist.', { UploadId: uploadId });
    }
    await fsp.rename(file, dir(bucket, 'uploads', uploadId, String(partNumber)));
    const etag = `"${got.md5}"`;
    await writeJson(dir(bucket, 'uploads', uploadId, `${partNumber}.json`), { size: got.size, etag, md5: got.md5, lastModified: Date.now(), crc32: got.crc32 } satisfies PartMeta);
    res.writeHead(200, { etag, ...(got.crc32 ? { 'x-amz-checksum-crc32': got.crc32 } : {}) });
    res.end();
  }

  async function partsOf(bucket: string, uploadId: string): Promise<(PartMeta & { partNumber: number })[]> {
    const names = (await fsp.readdir(dir(bucket, 'uploads', uploadId)).catch(() => [] as string[])).filter((n) => /^\d+\.json$/.test(n));
    const parts = await Promise.all(names.map(async (n) => ({ ...(await readJson<PartMeta>(dir(bucket, 'uploads', uploadId, n)))!, partNumber: Number(n.split('.')[0]) })));
    return parts.filter((p) => p.etag).sort((a, b) => a.partNumber - b.partNumber);
  }

  async function completeUpload(req: IncomingMessage, res: ServerResponse, bucket: string, key: string, query: URLSearchParams) {
    const uploadId = query.get('uploadId')!;
    const upload = await requireUpload(bucket, key, uploadId);
    let body = '';
    for await (const chunk of req) {
      body += chunk;
      if (body.length > 1024 * 1024) throw new S3Error(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.');
    }
    const requested = [...body.matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map(([, inner]) => ({
      partNumber: Number(/<PartNumber>(\d+)<\/PartNumber>/.exec(inner)?.[1]),
      etag: unescapeXml(/<ETag>([^<]*)<\/ETag>/.exec(inner)?.[1] ?? ''),
      crc32: /<ChecksumCRC32>([^<]*)<\/ChecksumCRC32>/.exec(inner)?.[1],
    }));
    if (!/^\s*(<\?xml[^>]*\?>)?\s*<CompleteMultipartUpload[\s>]/.test(body) || requested.length === 0) {
      throw new S3Error(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.');
    }
    const stored = new Map((await partsOf(bucket, uploadId)).map((p) => [p.partNumber, p]));
    const chosen: PartMeta[] = [];
    for (const [i, part] of requested.entries()) {
      if (i > 0 && part.partNumber <= requested[i - 1].partNumber) throw new S3Error(400, 'InvalidPartOrder', 'The list of parts was not in ascending order. Parts must be ordered by part number.');
      const have = stored.get(part.partNumber);
      const normalize = (etag: string) => etag.replace(/^"|"$/g, '');
      if (!have || normalize(have.etag) !== normalize(part.etag) || (part.crc32 !== undefined && part.crc32 !== have.crc32)) {
        throw new S3Error(400, 'InvalidPart', "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.");
      }
      if (i < requested.length - 1 && have.size < MIN_PART_SIZE) throw new S3Error(400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.');
      chosen.push(have);
    }
    const data = randomUUID();
    const out = await fsp.open(dir(bucket, 'data', data), 'wx');
    try {
      for (const part of requested) {
        for await (const chunk of fs.createReadStream(dir(bucket, 'uploads', uploadId, String(part.partNumber)))) await out.write(chunk);
      }
      await out.close();
    } catch (error) {
      await out.close().catch(() => {});
      await fsp.rm(dir(bucket, 'data', data), { force: true });
      throw error;
    }
    const etag = `"${createHash('md5').update(Buffer.concat(chosen.map((p) => Buffer.from(p.md5, 'hex')))).digest('hex')}-${chosen.length}"`;
    const old = await objectMeta(bucket, key);
    await writeJson(dir(bucket, 'objects', keyFile(key)), {
      key, size: chosen.reduce((sum, p) => sum + p.size, 0), etag, lastModified: upload.initiated, contentType: upload.contentType, data,
    } satisfies ObjectMeta);
    if (old) await fsp.rm(dir(bucket, 'data', old.data), { force: true });
    await fsp.rm(dir(bucket, 'uploads', uploadId), { recursive: true, force: true });
    xml(res, 200, `<CompleteMultipartUploadResult xmlns="${XMLNS}">${el('Location', `${endpoint}/${bucket}/${key}`)}${el('Bucket', bucket)}${el('Key', key)}${el('ETag', etag)}</CompleteMultipartUploadResult>`);
  }

  async function abortUpload(res: ServerResponse, bucket: string, key: string, query: URLSearchParams) {
    const uploadId = query.get('uploadId')!;
    await requireUpload(bucket, key, uploadId);
    await fsp.rm(dir(bucket, 'uploads', uploadId), { recursive: true, force: true });
    res.writeHead(204);
    res.end();
  }

  async function listParts(res: ServerResponse, bucket: string, key: string, query: URLSearchParams) {
    const uploadId = query.get('uploadId')!;
    await requireUpload(bucket, key, uploadId);
    const marker = Number(query.get('part-number-marker') ?? 0);
    const max = Math.min(Number(query.get('max-parts') ?? 1000), pageSize);
    const after = (await partsOf(bucket, uploadId)).filter((p) => p.partNumber > marker);
    const page = after.slice(0, max);
    const truncated = after.length > page.length;
    const parts = page.map((p) => `<Part>${el('PartNumber', p.partNumber)}${el('LastModified', iso(p.lastModified))}${el('ETag', p.etag)}${el('Size', p.size)}${p.crc32 ? el('ChecksumCRC32', p.crc32) : ''}</Part>`);
    xml(res, 200, `<ListPartsResult xmlns="${XMLNS}">${el('Bucket', bucket)}${el('Key', key)}${el('UploadId', uploadId)}${el('PartNumberMarker', marker)}${truncated ? el('NextPartNumberMarker', page[page.length - 1].partNumber) : ''}${el('MaxParts', max)}${el('IsTruncated', truncated)}${el('StorageClass', 'STANDARD')}${parts.join('')}</ListPartsResult>`);
  }

  async function listObjects(res: ServerResponse, bucket: string, query: URLSearchParams) {
    if (query.has('delimiter')) throw new S3Error(501, 'NotImplemented', 'delimiter is not implemented by this server');
    const prefix = query.get('prefix') ?? '';
    const token = query.get('continuation-token');
    const after = token !== null ? Buffer.from(token, 'base64url').toString() : query.get('start-after') ?? '';
    const max = Math.min(Number(query.get('max-keys') ?? 1000), pageSize);
    const urlEncoded = query.get('encoding-type') === 'url';
    const shown = (s: string) => (urlEncoded ? encodeURIComponent(s) : s);
    const matching = (await listObjectMetas(bucket)).filter((m) => m.key.startsWith(prefix) && byKey(m.key, after) > 0);
    const page = matching.slice(0, max);
    const truncated = matching.length > page.length;
    const contents = page.map((m) => `<Contents>${el('Key', shown(m.key))}${el('LastModified', iso(m.lastModified))}${el('ETag', m.etag)}${el('Size', m.size)}${el('StorageClass', 'STANDARD')}</Contents>`);
    xml(res, 200, `<ListBucketResult xmlns="${XMLNS}">${el('Name', bucket)}${el('Prefix', shown(prefix))}${token !== null ? el('ContinuationToken', token) : ''}${truncated ? el('NextContinuationToken', Buffer.from(page[page.length - 1].key).toString('base64url')) : ''}${el('KeyCount', page.length)}${el('MaxKeys', max)}${urlEncoded ? el('EncodingType', 'url') : ''}${el('IsTruncated', truncated)}${contents.join('')}</ListBucketResult>`);
  }

  async function listMultipartUploads(res: ServerResponse, bucket: string, query: URLSearchParams) {
    if (query.has('delimiter')) throw new S3Error(501, 'NotImplemented', 'delimiter is not implemented by this server');
    const prefix = query.get('prefix') ?? '';
    const keyMarker = query.get('key-marker') ?? '';
    const idMarker = query.get('upload-id-marker');
    const max = Math.min(Number(query.get('max-uploads') ?? 1000), pageSize);
    const urlEncoded = query.get('encoding-type') === 'url';
    const shown = (s: string) => (urlEncoded ? encodeURIComponent(s) : s);
    const matching = (await listUploads(bucket)).filter((u) => {
      if (!u.key.startsWith(prefix)) return false;
      const order = byKey(u.key, keyMarker);
      return order > 0 || (order === 0 && idMarker !== null && u.uploadId > idMarker);
    });
    const page = matching.slice(0, max);
    const truncated = matching.length > page.length;
    const last = page[page.length - 1];
    const uploads = page.map((u) => `<Upload>${el('Key', shown(u.key))}${el('UploadId', u.uploadId)}${el('Initiated', iso(u.initiated))}${el('StorageClass', 'STANDARD')}</Upload>`);
    xml(res, 200, `<ListMultipartUploadsResult xmlns="${XMLNS}">${el('Bucket', bucket)}${el('KeyMarker', shown(keyMarker))}${el('UploadIdMarker', idMarker ?? '')}${truncated ? el('NextKeyMarker', shown(last.key)) + el('NextUploadIdMarker', last.uploadId) : ''}${el('Prefix', shown(prefix))}${el('MaxUploads', max)}${urlEncoded ? el('EncodingType', 'url') : ''}${el('IsTruncated', truncated)}${uploads.join('')}</ListMultipartUploadsResult>`);
  }

  async function deleteObject(res: ServerResponse, bucket: string, key: string) {
    const old = await objectMeta(bucket, key);
    await fsp.rm(dir(bucket, 'objects', keyFile(key)), { force: true });
    if (old) await fsp.rm(dir(bucket, 'data', old.data), { force: true });
    res.writeHead(204);
    res.end();
  }

  /** Which operation a request is, from its method and subresources; undefined for any other. */
  function operationOf(method: string, key: string | undefined, query: URLSearchParams, req: IncomingMessage): string | undefined {
    const names = new Set([...query.keys()].filter((n) => n !== 'x-id'));
    const only = (...allowed: string[]) => [...names].every((n) => allowed.includes(n));
    if (key === undefined) {
      if (method === 'GET' && query.get('list-type') === '2' && only('list-type', 'prefix', 'continuation-token', 'start-after', 'max-keys', 'encoding-type', 'fetch-owner', 'delimiter')) return 'ListObjectsV2';
      if (method === 'GET' && names.has('uploads') && only('uploads', 'prefix', 'key-marker', 'upload-id-marker', 'max-uploads', 'encoding-type', 'delimiter')) return 'ListMultipartUploads';
      return undefined;
    }
    if (method === 'PUT' && names.has('uploadId') && names.has('partNumber') && only('uploadId', 'partNumber')) return 'UploadPart';
    if (method === 'PUT' && names.size === 0 && !req.headers['x-amz-copy-source']) return 'PutObject';
    if (method === 'POST' && names.has('uploads') && only('uploads')) return 'CreateMultipartUpload';
    if (method === 'POST' && names.has('uploadId') && only('uploadId')) return 'CompleteMultipartUpload';
    if (method === 'GET' && names.has('uploadId') && only('uploadId', 'part-number-marker', 'max-parts')) return 'ListParts';
    if (method === 'GET' && names.size === 0) return 'GetObject';
    if (method === 'HEAD' && names.size === 0) return 'HeadObject';
    if (method === 'DELETE' && names.has('uploadId') && only('uploadId')) return 'AbortMultipartUpload';
    if (method === 'DELETE' && names.size === 0) return 'DeleteObject';
    return undefined;
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    res.setHeader('x-amz-request-id', requestId);
    let call: S3Call | undefined;
    let resource = req.url ?? '/';
    try {
      const auth = verifySigV4(req, { accessKeyId, secretAccessKey, region });
      if (!auth.ok) throw new S3Error(auth.status, auth.code, auth.message);
      const url = new URL(req.url ?? '/', 'http://s3.test');
      resource = url.pathname;
      const [, rawBucket = '', ...rest] = url.pathname.split('/');
      const bucket = decodeURIComponent(rawBucket);
      const key = rest.length && rest.join('/') !== '' ? decodeURIComponent(rest.join('/')) : undefined;
      const operation = operationOf(req.method ?? 'GET', key, url.searchParams, req);
      if (!bucket || !operation) throw new S3Error(501, 'NotImplemented', 'A header or query you provided implies functionality that is not implemented.');
      call = { operation, key, status: 0 };
      calls.push(call);
      if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || !fs.existsSync(dir(bucket, 'objects'))) throw new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });
      if (key !== undefined && (Buffer.byteLength(key) > 1024 || keyFile(key).length > 240)) throw new S3Error(400, 'KeyTooLongError', 'Your key is too long');
      const q = url.searchParams;
      switch (operation) {
        case 'PutObject': return await putObject(req, res, bucket, key!, auth.payloadHash, call);
        case 'GetObject':
        case 'HeadObject': return await getObject(req, res, bucket, key!, call);
        case 'DeleteObject': return await deleteObject(res, bucket, key!);
        case 'CreateMultipartUpload': return await createUpload(req, res, bucket, key!);
        case 'UploadPart': return await uploadPart(req, res, bucket, key!, q, auth.payloadHash, call);
        case 'CompleteMultipartUpload': return await completeUpload(req, res, bucket, key!, q);
        case 'AbortMultipartUpload': return await abortUpload(res, bucket, key!, q);
        case 'ListParts': return await listParts(res, bucket, key!, q);
        case 'ListObjectsV2': return await listObjects(res, bucket, q);
        case 'ListMultipartUploads': return await listMultipartUploads(res, bucket, q);
      }
    } catch (caught) {
      const error = caught instanceof S3Error ? caught : new S3Error(500, 'InternalError', 'We encountered an internal error. Please try again.');
      if (!(caught instanceof S3Error) && !req.destroyed) console.error('s3 test server:', caught);
      if (res.headersSent) return void res.destroy();
      // A body not read (refused before it was) is drained so the connection stays usable.
      req.resume();
      const extra = Object.entries(error.extra).map(([name, value]) => el(name, value)).join('');
      if (req.method === 'HEAD') {
        res.writeHead(error.status);
        res.end();
      } else {
        xml(res, error.status, `<Error>${el('Code', error.code)}${el('Message', error.message)}${extra}${el('Resource', resource)}${el('RequestId', requestId)}</Error>`);
      }
    } finally {
      if (call) call.status = res.statusCode;
    }
  }

  const server = http.createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    endpoint,
    region,
    accessKeyId,
    secretAccessKey,
    calls,
    failingParts,
    async keys(bucket) {
      return (await listObjectMetas(bucket)).map((m) => m.key);
    },
    async pendingUploads(bucket) {
      return (await listUploads(bucket)).map((u) => ({ key: u.key, uploadId: u.uploadId }));
    },
    credentials: () => ({ AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey }),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await fsp.rm(root, { recursive: true, force: true });
    },
  };
}

export interface RelinksOnS3 {
  s3: S3TestServer;
  /** STORAGE_URL and the AWS_* credentials, for startTestServer(env). */
  env: Record<string, string>;
  storageUrl: string;
  close(): Promise<void>;
}

/**
 * A test S3 server with a bucket for relinks and the settings that point relinks at it. relinks'
 * backendFor reads the AWS_* credentials from process.env, so they are set there too until close().
 */
export async function startS3ForRelinks(): Promise<RelinksOnS3> {
  const s3 = await startS3Server({ buckets: ['relinks'] });
  const storageUrl = `s3://relinks/blobs?endpoint=${encodeURIComponent(s3.endpoint)}&region=${s3.region}&force_path_style=true`;
  const credentials = s3.credentials();
  const saved = Object.fromEntries(Object.keys(credentials).map((name) => [name, process.env[name]]));
  Object.assign(process.env, credentials);
  return {
    s3,
    env: { STORAGE_URL: storageUrl, ...credentials },
    storageUrl,
    async close() {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await s3.close();
    },
  };
}
