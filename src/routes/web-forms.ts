import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { chromeOf, sendPage } from '../http/html.js';
import { facts } from '../http/route-facts.js';
import { createFromForm, FormErrors, updateFromForm, valuesOf, type ReleaseFormInput } from '../services/release-form.js';
import { editPage, hidden, newReleasePage } from '../services/release-pages.js';
import type { FieldErrors } from '../errors.js';
import type { ReleaseValues } from '../services/release-pages.js';
import type { Project } from '../store/schema.js';
import { releaseFormView } from '../views/release-form.js';
import { urlsFor } from '../views/urls.js';
import type { RouteDeps } from './deps.js';
import { LinkType } from './schemas.js';
import { Found, htmlPage, OWN, webResponses } from './web-responses.js';

// Where the new release and edit forms are sent: relinks' own URLs (by project id), since a form's
// target needs a fixed route and a project's full path has any number of segments. Only a signed-in
// browser may send them, with the form's authenticity token (the pipeline checks it).

const LinkRow = Type.Object({
  id: Type.Optional(Type.String({ pattern: '^[0-9]{1,10}$' })),
  name: Type.Optional(Type.String()),
  url: Type.Optional(Type.String()),
  direct_asset_path: Type.Optional(Type.String()),
  link_type: Type.Optional(LinkType),
  remove: Type.Optional(Type.String()),
});

const FormBody = Type.Object({
  authenticity_token: Type.Optional(Type.String()),
  tag_name: Type.Optional(Type.String()),
  ref: Type.Optional(Type.String()),
  tag_message: Type.Optional(Type.String()),
  name: Type.Optional(Type.String()),
  released_at: Type.Optional(Type.String()),
  description: Type.Optional(Type.String()),
  links: Type.Optional(Type.Array(LinkRow, { maxItems: 1100 })),
  add_link: Type.Optional(Type.String({ description: 'Sent by "Add another link": show the form again with one more row, save nothing' })),
});

const blankLink = () => ({ name: '', url: '', direct_asset_path: '', link_type: 'other' });

const responses = (url: string) =>
  webResponses(url, facts.form, { 200: htmlPage('The form again with one more link row ("Add another link")'), 302: Found }, {
    422: 'The form has errors (page: each beside its field; nothing saved), or its authenticity token is wrong',
  });

export default async function webFormRoutes(instance: FastifyInstance, { config }: RouteDeps) {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const urls = urlsFor(config.externalUrl);

  const form = (request: FastifyRequest, reply: FastifyReply, status: number, data: { project: Project; mode: 'new' | 'edit'; values: ReleaseValues; errors: FieldErrors; tags?: string[] }) =>
    sendPage(reply, status, releaseFormView(chromeOf(request, config), {
      ...data,
      action: data.mode === 'new' ? urls.createAction(data.project.id) : urls.updateAction(data.project.id, data.values.tag_name),
      cancel: data.mode === 'new' ? urls.releases(data.project.full_path) : urls.release(data.project.full_path, data.values.tag_name),
    }));

  app.post(
    '/-/project/:id/releases',
    {
      config: facts.form,
      schema: { summary: 'The new release form, sent', tags: ['Web pages'], ...OWN, params: Type.Object({ id: Type.String() }), body: FormBody, response: responses('/-/project/:id/releases') },
    },
    async (request, reply) => {
      const input = request.body as ReleaseFormInput & { add_link?: string };
      const { project, tags } = await newReleasePage(request.ctx, request.params.id);
      const values = valuesOf(input);
      if (input.add_link) return form(request, reply, 200, { project, mode: 'new', values: { ...values, links: [...values.links, blankLink()] }, errors: {}, tags });
      try {
        const release = await hidden(() => createFromForm(request.ctx, String(project.id), input));
        return reply.redirect(urls.release(project.full_path, release.tag_name), 302);
      } catch (error) {
        if (!(error instanceof FormErrors)) throw error;
        return form(request, reply, 422, { project, mode: 'new', values: error.values, errors: error.errors, tags });
      }
    },
  );

  app.post(
    '/-/project/:id/releases/:tag_name',
    {
      config: facts.form,
      schema: { summary: 'The edit release form, sent', tags: ['Web pages'], ...OWN, params: Type.Object({ id: Type.String(), tag_name: Type.String() }), body: FormBody, response: responses('/-/project/:id/releases/:tag_name') },
    },
    async (request, reply) => {
      const input = request.body as ReleaseFormInput & { add_link?: string };
      const { id, tag_name } = request.params;
      const { project, values: current } = await editPage(request.ctx, id, tag_name);
      const values = { ...valuesOf(input), tag_name: current.tag_name };
      if (input.add_link) return form(request, reply, 200, { project, mode: 'edit', values: { ...values, links: [...values.links, blankLink()] }, errors: {} });
      try {
        await hidden(() => updateFromForm(request.ctx, String(project.id), tag_name, input));
        return reply.redirect(urls.release(project.full_path, current.tag_name), 302);
      } catch (error) {
        if (!(error instanceof FormErrors)) throw error;
        return form(request, reply, 422, { project, mode: 'edit', values: error.values, errors: error.errors });
      }
    },
  );
}
