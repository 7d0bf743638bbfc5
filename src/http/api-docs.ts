import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { facts } from './route-facts.js';
import { OPENAPI_PATH } from './openapi.js';
import { RELINKS_OWN } from '../routes/responses.js';

// The document and an interactive reference page (Swagger UI) over it, public like the health
// probes. Swagger UI's files come from the copy @fastify/swagger-ui ships (swagger-ui-dist itself
// pulls in a telemetry package); they are served by these routes rather than that plugin's static
// handler, which would answer Range and If-None-Match with 206 and 304, statuses the API never gives.
// Everything is served from here: no CDN, so the page works behind a firewall.

export const API_DOCS_PATH = '/-/api-docs';

const UI_DIR = path.join(path.dirname(createRequire(import.meta.url).resolve('@fastify/swagger-ui/package.json')), 'static');

/** Only the page's own scripts, styles and the API it reads; Swagger UI's CSS inlines its icons as data: URLs. */
const PAGE_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

// Relative links: the page keeps working when a proxy serves relinks under a path prefix.
const PAGE = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>relinks API reference</title>
<link rel="stylesheet" href="api-docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="api-docs/swagger-ui-bundle.js"></script>
<script src="api-docs/init.js"></script>
</body>
</html>
`;

// In a file of its own: the page's policy allows no inline script.
const INIT = `window.ui = SwaggerUIBundle({
  url: new URL('${path.posix.basename(OPENAPI_PATH)}', document.baseURI).href,
  dom_id: '#swagger-ui',
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
  // The default asks validator.swagger.io for a badge: no third-party requests.
  validatorUrl: null,
});
`;

const text = (type: string) => ({ 200: { description: 'OK', content: { [type]: { schema: { type: 'string' } } } } });
const meta = (summary: string, type: string) => ({
  schema: { summary, tags: ['Documentation'], ...RELINKS_OWN, response: text(type) },
  config: facts.public,
});

export function registerApiDocs(app: FastifyInstance): void {
  app.get(
    OPENAPI_PATH,
    {
      schema: {
        summary: 'This OpenAPI 3.1 document',
        tags: ['Documentation'],
        ...RELINKS_OWN,
        response: { 200: { description: 'OpenAPI 3.1 document', type: 'object', additionalProperties: true } },
      },
      config: facts.public,
    },
    async () => app.swagger(),
  );

  app.get(API_DOCS_PATH, meta('Interactive API reference (Swagger UI)', 'text/html'), async (_request, reply) =>
    reply.header('content-security-policy', PAGE_POLICY).type('text/html; charset=utf-8').send(PAGE),
  );
  app.get(`${API_DOCS_PATH}/init.js`, meta("The reference page's start-up script", 'text/javascript'), async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').send(INIT),
  );
  for (const [file, type] of [['swagger-ui.css', 'text/css'], ['swagger-ui-bundle.js', 'text/javascript']] as const) {
    app.get(`${API_DOCS_PATH}/${file}`, meta(`Swagger UI: ${file}`, type), async (_request, reply) =>
      // Read per request: 1.7 MB that most processes never serve is not worth keeping in memory.
      reply.type(`${type}; charset=utf-8`).send(await readFile(path.join(UI_DIR, file))),
    );
  }
}
