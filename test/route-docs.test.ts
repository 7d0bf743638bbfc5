import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { openapiPath } from '../src/http/openapi.js';
import { repoRoot as ROOT } from './helpers/root.js';
import { startTestServer, type TestServer } from './helpers/server.js';

// docs/api.md and the README's API section list every route the server registers, and nothing it
// does not serve; relinks' own routes (x-relinks in the OpenAPI document) are marked in both.

const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
const METHOD = /^(GET|POST|PUT|DELETE)$/;

let server: TestServer;
let doc: { paths: Record<string, Record<string, { 'x-relinks'?: boolean }>> };

before(async () => {
  server = await startTestServer();
  doc = (await server.request('GET', '/-/openapi.json')).body;
});
after(async () => server.close());

/**
 * One spelling for a path in the code and in the documents: without /api/v4, parameters as `:`,
 * wildcards (`*`, `*name`, `<name>`) as `*`; a documented `[...]` part gives both paths.
 */
function keysOf(method: string, raw: string): string[] {
  const normal = (p: string) => p.replace(/^\/api\/v4(?=\/)/, '').replace(/:\w+/g, ':').replace(/<[^>]+>|\*\w*/g, '*');
  const optional = /\[([^\]]+)\]/.exec(raw);
  const paths = optional ? [raw.replace(optional[0], ''), raw.replace(optional[0], optional[1])] : [raw];
  return paths.map((p) => `${method} ${normal(p)}`);
}

/** `GET /*`, the catch-all under a project's web path, is documented as the URLs it answers. */
const routeKey = (method: string, url: string) => (url === '/*' ? `${method} /*/-/releases/*` : keysOf(method, url)[0]);
const covers = (documented: Set<string>, key: string) =>
  documented.has(key) || (key.endsWith('/*/-/releases/*') && [...documented].some((d) => d.startsWith(key.slice(0, -1))));

const routes = () => server.running.app.routeList.filter((r) => r.method !== 'HEAD');
const ownRoutes = () => routes().filter((r) => doc.paths[openapiPath(r.url)]?.[r.method.toLowerCase()]?.['x-relinks'] === true);

/** `METHOD /path` code spans of docs/api.md (or of one part of it). */
function spansOf(markdown: string): Set<string> {
  const keys = new Set<string>();
  for (const [, method, raw] of markdown.matchAll(/`(GET|POST|PUT|DELETE) (\/(?:<[^>]*>|[^`\s])*)`/g)) for (const k of keysOf(method, raw)) keys.add(k);
  return keys;
}

/** The README's API block: each line's methods and path, and whether it is marked relinks'. */
function readmeLines(): Array<{ keys: string[]; own: boolean; line: string }> {
  const readme = read('README.md');
  const section = readme.slice(readme.indexOf('## API'));
  const block = /```text\n([\s\S]*?)```/.exec(section);
  assert.ok(block, 'README.md: no text block under ## API');
  return block[1].split('\n').filter(Boolean).map((line) => {
    const words = line.trim().split(/\s+/);
    const methods = words.filter((w, i) => METHOD.test(w) && words.slice(0, i).every((x) => METHOD.test(x)));
    const raw = words[methods.length];
    return { keys: methods.flatMap((m) => keysOf(m, raw)), own: /\brelinks\b/.test(line.slice(line.indexOf(raw) + raw.length)), line };
  });
}

test('docs/api.md names every route, and no route the server does not have', () => {
  const documented = spansOf(read('docs/api.md'));
  const missing = routes().map((r) => routeKey(r.method, r.url)).filter((k) => !covers(documented, k));
  assert.deepEqual(missing, [], 'routes docs/api.md does not name');
  const served = new Set(routes().map((r) => routeKey(r.method, r.url)));
  const stale = [...documented].filter((k) => !served.has(k) && !(k.startsWith('GET /*/-/releases/') && served.has('GET /*/-/releases/*')));
  assert.deepEqual(stale, [], 'docs/api.md names routes the server does not have');
});

test("docs/api.md lists relinks' own routes under relinks' own additions", () => {
  const api = read('docs/api.md');
  const start = api.indexOf("## relinks' own additions");
  assert.ok(start > 0);
  const section = spansOf(api.slice(start, api.indexOf('\n## ', start + 1)));
  assert.ok(ownRoutes().length >= 7, `own routes: ${ownRoutes().length}`);
  assert.deepEqual(ownRoutes().map((r) => routeKey(r.method, r.url)).filter((k) => !section.has(k)), []);
});

test("the README's API section lists every route, marks relinks' own, and names none the server lacks", () => {
  const lines = readmeLines();
  const documented = new Set(lines.flatMap((l) => l.keys));
  assert.deepEqual(routes().map((r) => routeKey(r.method, r.url)).filter((k) => !covers(documented, k)), [], 'routes the README does not list');
  const served = new Set(routes().map((r) => routeKey(r.method, r.url)));
  const stale = [...documented].filter((k) => !served.has(k) && !(k.startsWith('GET /*/-/releases/') && served.has('GET /*/-/releases/*')));
  assert.deepEqual(stale, [], 'README lists routes the server does not have');
  for (const r of ownRoutes()) {
    const key = routeKey(r.method, r.url);
    const line = lines.find((l) => l.keys.includes(key));
    assert.ok(line?.own, `README does not mark ${key} as relinks': ${line?.line}`);
  }
  // And the other way round: a line marked relinks' is an own route, or a GitLab route with own parameters.
  for (const l of lines.filter((x) => x.own && !/relinks:/.test(x.line))) {
    assert.ok(l.keys.every((k) => ownRoutes().some((r) => routeKey(r.method, r.url) === k)), `marked relinks' but GitLab has it: ${l.line}`);
  }
});
