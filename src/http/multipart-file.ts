import { Busboy, type BusboyHeaders, type BusboyInstance } from '@fastify/busboy';
import type { FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { badParams } from '../errors.js';
import { bodyStream } from './stream-body.js';

// The one file of a multipart upload (`curl --form file=@app.tgz`), handed over as a stream while
// it arrives. Other fields are ignored; a second file part is drained unread.

export interface FilePart {
  filename: string;
  stream: Readable;
}

export function multipartFile(request: FastifyRequest, field: string, limit: number): Promise<FilePart> {
  return new Promise((resolve, reject) => {
    let parser: BusboyInstance;
    try {
      // One byte over the limit is let through, so the reader sees the file is too large (413).
      parser = new Busboy({ headers: request.headers as BusboyHeaders, limits: { files: 1, fileSize: limit + 1, fields: 50, parts: 60 } });
    } catch {
      reject(badParams(`${field} is missing`));
      return;
    }
    let found: Readable | null = null;
    parser.on('file', (name: string, stream: Readable, filename: string) => {
      if (name !== field || found) {
        stream.resume();
        return;
      }
      found = stream;
      resolve({ filename, stream });
    });
    // A client that goes away mid-file: the reader of the file must fail, not wait forever.
    const body = bodyStream(request);
    const broken = () => {
      if (body.complete) return;
      const error = new Error('the request body ended early');
      if (found) found.destroy(error);
      else reject(badParams(`${field} is missing`));
    };
    body.on('error', broken);
    body.on('close', broken);
    parser.on('error', (error: Error) => {
      // Once the file is handed over, its stream carries the error to the reader.
      if (!found) reject(error.message.includes('Unexpected end') ? badParams(`${field} is missing`) : badParams(`${field} is invalid`));
    });
    parser.on('finish', () => {
      if (!found) reject(badParams(`${field} is missing`));
    });
    body.pipe(parser);
  });
}
