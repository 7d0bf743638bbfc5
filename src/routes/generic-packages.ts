import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { badParams } from '../errors.js';
import { facts } from '../http/route-facts.js';
import { sendContent } from '../http/send-content.js';
import { checkDeclaredLength, completeBody, closeIfUnread, streamBodies } from '../http/stream-body.js';
import * as packages from '../services/packages.js';
import { FileBytes, UploadedPackageFile } from './file-responses.js';
import { Message, error } from './responses.js';
import { StringEnum } from './schemas.js';
import type { RouteDeps } from './deps.js';

// GitLab's generic package registry: PUT a file's bytes under a name and version, GET them back.
//   /projects/:id/packages/generic/:package_name/:package_version/(:path/):file_name

/** Gitlab::Regex: generic package and file names (Maven's file name rule), versions (Maven's). */
const NAME = /^[A-Za-z0-9._+-]+$/;
const VERSION = /^(?!.*\.\.)[A-Za-z0-9_+.-]+$/;
const DOTS = (s: string) => s === '.' || s === '..';
/** The router leaves the wildcard encoded; a segment that is not valid percent-encoding stays as sent (and fails the name rule). */
const decoded = (segment: string) => {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
};

const Params = Type.Object({
  id: Type.String(),
  package_name: Type.String({ pattern: NAME.source }),
  package_version: Type.String({ pattern: VERSION.source }),
  '*': Type.String({ description: '(path/)file_name' }),
});
type Params = { id: string; package_name: string; package_version: string; '*': string };

/**
 * The wildcard holds an optional folder path and the file name; GitLab stores a file with a path
 * under its URI-encoded `path/file_name`. Names are checked as Grape's `file_path` does: no `.` or
 * `..` segment that could climb out.
 */
export function genericRef(params: Params): packages.GenericFileRef {
  if (DOTS(params.package_name)) throw badParams('package_name should be a valid file path');
  const segments = params['*'].split('/').map(decoded);
  const fileName = segments.pop()!;
  if (!NAME.test(fileName)) throw badParams('file_name is invalid');
  if (DOTS(fileName)) throw badParams('file_name should be a valid file path');
  if (segments.some((s) => s === '' || DOTS(s) || s.includes('/'))) throw badParams('path should be a valid file path');
  const encoded = segments.length ? encodeURIComponent([...segments, fileName].join('/')) : fileName;
  return { name: params.package_name, version: params.package_version, fileName: encoded };
}

const Upload = Type.Object({
  status: Type.Optional(StringEnum(['default', 'hidden'] as const)),
  select: Type.Optional(StringEnum(['package_file'] as const)),
});

async function publish(request: FastifyRequest<{ Params: Params; Querystring: { status?: 'default' | 'hidden'; select?: 'package_file' } }>, reply: FastifyReply) {
  try {
    const ref = genericRef(request.params);
    checkDeclaredLength(request, request.ctx.config.maxPackageFileSize);
    // Who may publish is settled before a byte of the file is read.
    const view = await packages.publishableProject(request.ctx, request.params.id);
    const file = await packages.publishGenericFile(request.ctx, view, ref, request.query.status, completeBody(request));
    // Two shapes under one status: each is already in its entity's key order. A reply serializer
    // of its own leaves Content-Type to the route, and clients parse the answer only as JSON.
    reply.code(201).type('application/json; charset=utf-8').serializer(JSON.stringify);
    return reply.send(request.query.select === 'package_file' ? file : { message: '201 Created' });
  } catch (e) {
    closeIfUnread(request, reply);
    throw e;
  }
}

export default async function genericPackageRoutes(instance: FastifyInstance, _deps: RouteDeps) {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  streamBodies(app);
  const url = '/projects/:id/packages/generic/:package_name/:package_version/*';
  app.put(
    url,
    {
      config: facts.packageUpload,
      schema: {
        summary: 'Upload a package file (raw body, e.g. curl --upload-file); path segments before the file name are its folder',
        tags: ['Generic packages'],
        params: Params,
        querystring: Upload,
        response: {
          201: Type.Union([Message, UploadedPackageFile], { description: '`{"message":"201 Created"}`, or with `select=package_file` the stored file' }),
          403: error('Forbidden: Developer and up publish packages'),
          404: error('Not found: the project'),
          413: error('The file is larger than MAX_PACKAGE_FILE_SIZE'),
        },
      },
    },
    publish,
  );
  app.get(
    url,
    {
      // The one API route a browser's session cookie reaches: release pages link hosted files.
      config: facts.packageDownload,
      schema: {
        summary: 'Download a package file (the newest of that name); Range and HEAD supported',
        tags: ['Generic packages'],
        params: Params,
        response: {
          200: FileBytes('The file, as an attachment; X-Checksum-SHA256 carries its SHA-256'),
          206: FileBytes('The requested byte range'),
          304: Type.Null({ description: 'Not Modified: the ETag given in If-None-Match still matches' }),
          403: error('Forbidden: Reporter and up read packages of a private project'),
          404: error('Not found: the project, package or file'),
          416: Type.Null({ description: 'Range Not Satisfiable' }),
        },
      },
    },
    async (request, reply) => {
      const ref = genericRef(request.params);
      const served = await packages.genericFile(request.ctx, request.params.id, ref, request.method === 'GET' && !request.headers.range);
      return sendContent(request, reply, served.content, { filename: served.fileName, headers: { 'x-checksum-sha256': served.sha256 } });
    },
  );
}
