import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { badParams } from '../errors.js';
import { multipartFile } from '../http/multipart-file.js';
import { sendNoContent } from '../http/no-content.js';
import { paginationQuery, sendPage } from '../http/pagination.js';
import { facts } from '../http/route-facts.js';
import { sendContent } from '../http/send-content.js';
import { checkDeclaredLength, closeIfUnread, streamBodies } from '../http/stream-body.js';
import type { ServedFile } from '../services/packages.js';
import * as uploads from '../services/uploads.js';
import { FileBytes, UploadListEntry, UploadedFile } from './file-responses.js';
import { NoContent, error, paged } from './responses.js';
import { Id, ProjectParams, StringEnum } from './schemas.js';
import type { RouteDeps } from './deps.js';

// Project uploads: POST a file (multipart `file`), as glab and semantic-release do before linking
// it from a release; list, fetch and delete them by id (Maintainer); and the web path that serves
// one to whoever may see the project: /-/project/:id/uploads/:secret/:filename.

const UploadParams = Type.Object({ id: Type.String(), upload_id: Id });
const SecretParams = Type.Object({ id: Type.String(), secret: Type.String(), filename: Type.String() });
export const fileAnswers = {
  200: FileBytes('The file, as an attachment'),
  206: FileBytes('The requested byte range'),
  304: Type.Null({ description: 'Not Modified' }),
  416: Type.Null({ description: 'Range Not Satisfiable' }),
};

async function upload(request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) {
  try {
    const limit = request.ctx.config.maxUploadSize;
    // The multipart envelope adds a few hundred bytes around the file.
    checkDeclaredLength(request, limit + 64 * 1024);
    const view = await uploads.uploadableProject(request.ctx, request.params.id);
    const part = await multipartFile(request, 'file', limit);
    const filename = uploads.sanitizeFilename(part.filename);
    if (!filename) {
      part.stream.resume();
      throw badParams('file is invalid');
    }
    return reply.code(201).send(await uploads.uploadFile(request.ctx, view, filename, part.stream));
  } catch (e) {
    closeIfUnread(request, reply);
    throw e;
  }
}

const send = (request: FastifyRequest, reply: FastifyReply, file: ServedFile) => sendContent(request, reply, file.content, { filename: file.fileName });

/** The upload itself: the only route here that reads its body as a stream. */
async function streamedUpload(instance: FastifyInstance) {
  streamBodies(instance);
  instance.withTypeProvider<TypeBoxTypeProvider>().post(
    '/projects/:id/uploads',
    {
      config: facts.fileUpload,
      schema: {
        summary: 'Upload a file to the project (multipart field `file`); link it from a release with the answer',
        tags: ['Uploads'],
        params: ProjectParams,
        response: { 201: UploadedFile, 403: error('Forbidden: members upload files'), 413: error('The file is larger than MAX_UPLOAD_SIZE') },
      },
    },
    upload,
  );
}

export async function uploadApiRoutes(instance: FastifyInstance, deps: RouteDeps) {
  await instance.register(streamedUpload);
  const { config } = deps;
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/projects/:id/uploads',
    { config: facts.read, schema: { summary: "List the project's uploads (Maintainer and up)", tags: ['Uploads'], params: ProjectParams, querystring: Type.Object({ ...paginationQuery, sort: Type.Optional(StringEnum(['asc', 'desc'] as const)) }), response: { 200: paged(UploadListEntry), 403: error('Forbidden') } } },
    async (request, reply) => sendPage(request, reply, config.externalUrl, (page) => uploads.listProjectUploads(request.ctx, request.params.id, request.query.sort ?? 'desc', page)),
  );
  app.get(
    '/projects/:id/uploads/:upload_id',
    { config: facts.read, schema: { summary: 'Download an upload by id (Maintainer and up)', tags: ['Uploads'], params: UploadParams, response: { ...fileAnswers, 403: error('Forbidden'), 404: error('Not found') } } },
    async (request, reply) => send(request, reply, await uploads.uploadById(request.ctx, request.params.id, request.params.upload_id)),
  );
  app.delete(
    '/projects/:id/uploads/:upload_id',
    { config: facts.remove, schema: { summary: 'Delete an upload (Maintainer and up)', tags: ['Uploads'], params: UploadParams, response: { 204: NoContent, 403: error('Forbidden'), 404: error('Not found') } } },
    async (request, reply) => {
      await uploads.deleteUpload(request.ctx, request.params.id, request.params.upload_id);
      return sendNoContent(reply);
    },
  );
}

/** `/<full path>/uploads/<secret>/<filename>`: the address GitLab gave uploads before `full_path`. */
export function parseClassicUploadPath(path: string): { fullPath: string; secret: string; filename: string } | null {
  const match = /^\/(.+)\/uploads\/([0-9a-f]{32})\/([^/]+)$/.exec(path);
  if (!match) return null;
  try {
    return { fullPath: decodeURIComponent(match[1]), secret: match[2], filename: decodeURIComponent(match[3]) };
  } catch {
    return null;
  }
}

export const uploadAnswers = { ...fileAnswers, 404: error('Not found') };

export async function sendUpload(request: FastifyRequest, reply: FastifyReply, at: { fullPath: string; secret: string; filename: string }) {
  return send(request, reply, await uploads.uploadBySecret(request.ctx, at.fullPath, at.secret, at.filename));
}

/** Served to whoever may see the project, like the release page that shows it. */
export async function uploadWebRoutes(instance: FastifyInstance, _deps: RouteDeps) {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/-/project/:id/uploads/:secret/:filename',
    // A signed-in browser follows these too, from a release page.
    { config: facts.webRead, schema: { summary: "An upload's web address (`full_path` in the upload's answer)", tags: ['Uploads'], params: SecretParams, response: { ...fileAnswers, 404: error('Not found') } } },
    async (request, reply) => send(request, reply, await uploads.uploadBySecret(request.ctx, request.params.id, request.params.secret, request.params.filename)),
  );
}
