import contentDisposition from 'content-disposition';
import type { FastifyReply, FastifyRequest } from 'fastify';
import rangeParser from 'range-parser';
import { Readable } from 'node:stream';
import { recordDownloadBytes } from '../metrics.js';
import type { OpenedContent } from '../services/files.js';

// Sends hosted bytes as a download: length, a strong ETag (the SHA-256), one byte range (206, so an
// interrupted download resumes), HEAD without a body. What the file claims to be is never trusted
// to render: it is always an attachment, never sniffed, and sandboxed if a browser opens it anyway.

/** Types a browser may show inline inside a page (<img>); everything else is plain bytes. */
const SAFE_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
};

export function contentTypeFor(filename: string): string {
  const ext = /\.([A-Za-z0-9]+)$/.exec(filename)?.[1]?.toLowerCase();
  return (ext && SAFE_TYPES[ext]) || 'application/octet-stream';
}

export interface SendOptions {
  filename: string;
  /** Extra headers, e.g. GitLab's X-Checksum-SHA256 on package files. */
  headers?: Record<string, string>;
}

export function sendContent(request: FastifyRequest, reply: FastifyReply, content: OpenedContent, { filename, headers = {} }: SendOptions) {
  const etag = `"${content.sha256}"`;
  reply
    .headers(headers)
    .header('content-type', contentTypeFor(filename))
    .header('content-disposition', contentDisposition(filename))
    .header('etag', etag)
    .header('accept-ranges', 'bytes')
    .header('cache-control', 'private, no-cache')
    .header('content-security-policy', "default-src 'none'; sandbox");

  const ifNoneMatch = request.headers['if-none-match'];
  if (ifNoneMatch && ifNoneMatch.split(',').some((t) => t.trim() === etag || t.trim() === '*')) {
    return reply.code(304).send();
  }

  let range: { start: number; end: number } | undefined;
  const header = request.headers.range;
  // If-Range with another validator: the file changed, so the whole of it is sent.
  const ifRange = request.headers['if-range'];
  if (header && (!ifRange || ifRange === etag)) {
    const parsed = rangeParser(content.size, header, { combine: true });
    if (parsed === -1) {
      return reply.code(416).header('content-range', `bytes */${content.size}`).send();
    }
    // -2 (malformed) and several ranges are answered with the whole file, as HTTP allows.
    if (parsed !== -2 && parsed.type === 'bytes' && parsed.length === 1) range = parsed[0];
  }

  if (range) {
    reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${content.size}`);
  }
  const length = range ? range.end - range.start + 1 : content.size;
  reply.header('content-length', length);
  // Fastify's HEAD twin keeps our Content-Length only when the payload is a stream it can drain.
  if (request.method === 'HEAD' || length === 0) return reply.send(Readable.from([]));
  recordDownloadBytes(length);
  return reply.send(content.open(range));
}
