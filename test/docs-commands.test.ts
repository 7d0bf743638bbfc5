import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { startChildServer, type ChildServer } from './helpers/child-server.js';
import { END_JOB_TOKEN, FETCH_JOB_TOKEN, repoRoot } from './helpers/ci.js';
import { requestTo, ROOT_TOKEN } from './helpers/server.js';
import { createTestStore, postgresBaseUrl, storeKind, type TestStore } from './helpers/store.js';

// Every shell command in README.md and docs/*.md is run here against a real server (the built one,
// `node bin/relinks.js serve`, on a fresh store of the current kind), or is one of the few commands
// listed below with the test that runs it or the reason no test can. A new fenced shell command
// that is in none of these fails the last test. Fenced blocks must name their language, so YAML,
// JSON, nginx and plain text are never taken for shell.

const SHELL = new Set(['sh', 'bash', 'shell', 'console']);

/** Commands other tests run, and which. */
const RUN_ELSEWHERE = new Map<string, string>();
for (const snippet of [FETCH_JOB_TOKEN, END_JOB_TOKEN]) {
  for (const c of commandsOf(snippet, 'sh')) {
    RUN_ELSEWHERE.set(c.key, 'test/ci-curl.test.ts and test/ci-semantic-release.test.ts run it verbatim (helpers/ci.ts); test/ci-readme.test.ts checks docs/ci.md carries it');
  }
}

/** Commands no test can run, and why. */
const CANNOT_RUN = new Map<string, string>([
  ['npm install && npm start', 'npm install fetches packages from the registry; `npm start` alone is run below'],
  ['npm install', 'fetches packages from the registry, and its build would rewrite dist under the other test files'],
  ['npm test', 'the whole suite, this file included'],
  ['npx openapi-typescript relinks-openapi.json -o relinks.d.ts', 'npx fetches openapi-typescript from the registry; test/openapi.test.ts validates the document it reads'],
  ['npx @openapitools/openapi-generator-cli generate -i relinks-openapi.json -g python -o relinks-client', 'needs Java and fetches the generator; the document is validated by test/openapi.test.ts'],
  ...['npm run bench', 'npm run bench -- --metrics-rounds 10', 'npm run bench -- --links 1000000', 'npm run bench -- --postgres', 'npm run bench -- --postgres --links 1000000', 'npm run bench -- --only "get one" --metrics-rounds 0 --files-mb 0 --instructions 3'].map(
    (c): [string, string] => [c, 'minutes of load per store on all CPUs; it reports and never fails'],
  ),
  ...['npm run fuzz', 'npm run fuzz -- --requests 500000 --stores postgres', 'npm run fuzz -- --seed 123456'].map(
    (c): [string, string] => [c, 'test/fuzz.test.ts at 100,000 requests or more per store, many minutes; npm test runs that test at 20,000'],
  ),
  ...['npm run webhook-load', 'npm run webhook-load -- --postgres', 'npm run webhook-load -- --phase kill --rounds 20'].map(
    (c): [string, string] => [c, 'minutes of load on all CPUs; test/webhooks-durable.test.ts checks the same properties (kill -9, SIGTERM, two instances) on a small scale'],
  ),
  ...['npm run crashtest', 'npm run crashtest -- --postgres', 'npm run crashtest -- --rounds 100 --concurrency 32'].map(
    (c): [string, string] => [c, '20 or more kill -9 rounds, minutes; test/crash.test.ts runs 3 rounds of the same crashTest() on each store'],
  ),
]);

// --- reading the documents ----------------------------------------------------------------------

interface Block {
  file: string;
  line: number;
  lang: string;
  text: string;
}

interface Command {
  /** As printed, continuation lines included. */
  text: string;
  /** One line, whitespace collapsed, without a trailing comment: what the lists above name. */
  key: string;
  /** `# → …` lines printed right after it: the answer it gives. */
  expect?: string;
  file: string;
  line: number;
}

const docFiles = () => [
  'README.md',
  ...fs.readdirSync(path.join(repoRoot, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`),
];

function blocksOf(file: string): Block[] {
  const lines = fs.readFileSync(path.join(repoRoot, file), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(.*)$/.exec(lines[i]);
    if (!open) continue;
    const start = i;
    let end = i + 1;
    while (end < lines.length && lines[end] !== '```') end++;
    assert.ok(end < lines.length, `${file}:${start + 1}: fenced block never closed`);
    blocks.push({ file, line: start + 1, lang: open[1].trim().split(/\s/)[0], text: lines.slice(start + 1, end).join('\n') });
    i = end;
  }
  return blocks;
}

/** Drops a trailing `# comment` that is outside quotes. */
function withoutComment(line: string): string {
  let quote = '';
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quote) {
      if (ch === quote) quote = '';
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '#' && (i === 0 || /\s/.test(line[i - 1]))) return line.slice(0, i);
  }
  return line;
}

function keyOf(text: string): string {
  return withoutComment(text.replace(/\\\n/g, ' ')).replace(/\s+/g, ' ').trim();
}

function commandsOf(text: string, lang: string, file = '', firstLine = 0): Command[] {
  const commands: Command[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i];
    if (lang === 'console') {
      // Only prompted lines are commands; the rest is what they print.
      if (!line.startsWith('$ ')) continue;
      line = line.slice(2);
    }
    const trimmed = line.trim();
    if (!trimmed) continue;
    if (trimmed.startsWith('#')) {
      const last = commands[commands.length - 1];
      if (last && (trimmed.startsWith('# →') || (last.expect !== undefined && /^#\s{2,}/.test(trimmed)))) {
        last.expect = `${last.expect ?? ''}${trimmed.replace(/^#\s*(→\s*)?/, '')}`;
      }
      continue;
    }
    const start = i;
    let full = line;
    while (/\\$/.test(full) && i + 1 < lines.length) full += `\n${lines[++i]}`;
    commands.push({ text: full, key: keyOf(full), file, line: firstLine + start + 1 });
  }
  return commands;
}

/** `curl … <url>` code spans outside fenced blocks (the API tables' examples): commands too. */
function inlineCurls(file: string): Command[] {
  const commands: Command[] = [];
  let fenced = false;
  fs.readFileSync(path.join(repoRoot, file), 'utf8').split('\n').forEach((line, i) => {
    if (line.startsWith('```')) fenced = !fenced;
    if (fenced) return;
    for (const m of line.matchAll(/`(curl [^`]*(?:\$API|https?:\/\/)[^`]*)`/g)) commands.push({ text: m[1], key: keyOf(m[1]), file, line: i + 1 });
  });
  return commands;
}

const allBlocks = () => docFiles().flatMap(blocksOf);
const shellCommands = () => [
  ...allBlocks()
    .filter((b) => SHELL.has(b.lang))
    .flatMap((b) => commandsOf(b.text, b.lang, b.file, b.line)),
  ...docFiles().flatMap(inlineCurls),
];

/** Commands this file ran and saw succeed, by key. */
const ran = new Map<string, string>();
/** Commands of the other store's pass of this file. */
const otherPass = new Map<string, string>();

// --- running them ---------------------------------------------------------------------------------

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function sh(script: string, options: { cwd: string; env?: Record<string, string> }): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      '/bin/sh',
      ['-c', script],
      { cwd: options.cwd, env: { ...process.env, NO_PROXY: '*', no_proxy: '*', ...options.env }, maxBuffer: 16 * 1024 * 1024, timeout: 120_000 },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The host the documents print; requests go to the test server instead. */
const DOC_ORIGIN = 'http://localhost:8080';

const isServerStart = (c: Command) => /^([A-Z_][A-Z0-9_]*=\S+\s+)*npm start$/.test(c.key);
const isSessionCommand = (c: Command) => /^curl\s/.test(c.key) || /^(export\s+)?[A-Za-z_][A-Za-z0-9_]*=\S*$/.test(c.key);

/** `NAME=value` assignments of a command (exports, or the prefix of `npm start`). */
function assignments(key: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of key.replace(/^export\s+/, '').matchAll(/([A-Z_][A-Z0-9_]*)=(\S+)/g)) env[m[1]] = m[2].replace(/^["']|["']$/g, '');
  return env;
}

/**
 * Runs a document's session commands (assignments, exports and curl) in one shell, in the
 * document's order, against `server`: the documents' http://localhost:8080 becomes the server's
 * address. curl is wrapped to print the status after each answer. Each curl must answer 2xx, and
 * the status and every piece of a `# →` line (split at `…`) must appear in its answer.
 */
async function runSession(commands: Command[], server: ChildServer, env: Record<string, string> = {}): Promise<Map<Command, { status: number; body: string }>> {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'relinks-docs-'));
  const script = [
    'set -e',
    `curl() { command curl --silent --show-error --write-out '\\n@@status %{http_code}\\n' "$@"; }`,
    ...commands.map((c, i) => `echo "@@command ${i}"\n${c.text.replaceAll(DOC_ORIGIN, server.url)}`),
    'echo "@@end"',
  ].join('\n');
  const result = await sh(script, { cwd, env });
  fs.rmSync(cwd, { recursive: true, force: true });
  assert.equal(result.code, 0, `${result.stderr}\n${result.stdout}`);
  assert.ok(result.stdout.endsWith('@@end\n'), result.stdout);
  const answers = new Map<Command, { status: number; body: string }>();
  const parts = result.stdout.split(/^@@command (\d+)\n/m);
  for (let p = 1; p < parts.length; p += 2) {
    const command = commands[Number(parts[p])];
    const out = parts[p + 1].replace(/@@end\n$/, '');
    if (!/^curl\s/.test(command.key)) {
      ran.set(command.key, `${command.file}:${command.line}`);
      continue;
    }
    const status = /@@status (\d+)\n$/.exec(out);
    assert.ok(status, `${command.file}:${command.line}: no answer\n${out}`);
    const body = out.slice(0, status.index).replace(/\n$/, '');
    const code = Number(status[1]);
    const where = `${command.file}:${command.line}: ${command.key}\n→ ${code} ${body}`;
    assert.ok(code >= 200 && code < 300, where);
    if (command.expect) {
      // The server answers with the documented origin (EXTERNAL_URL), so the printed answer holds as is.
      let expect = command.expect;
      const printedStatus = /^(\d{3})\s+/.exec(expect);
      if (printedStatus) {
        assert.equal(code, Number(printedStatus[1]), where);
        expect = expect.slice(printedStatus[0].length);
      }
      for (const piece of expect.split('…').map((s) => s.trim()).filter(Boolean)) {
        assert.ok(body.includes(piece), `${where}\nmissing: ${piece}`);
      }
    }
    answers.set(command, { status: code, body });
    ran.set(command.key, `${command.file}:${command.line}`);
  }
  assert.equal(answers.size + commands.filter((c) => !/^curl\s/.test(c.key)).length, commands.length, 'every command ran');
  return answers;
}

interface DocServer {
  server: ChildServer;
  store: TestStore;
  close(): Promise<void>;
}

/**
 * `npm start` is `tsc` then `node bin/relinks.js serve`; the build is done (npm test builds first,
 * and rebuilding here would rewrite dist under the other test files), so the server is started
 * directly with the command's environment. It listens on a free port on 127.0.0.1, on a fresh
 * store of the current kind in place of DATABASE_URL, with EXTERNAL_URL as on port 8080.
 */
async function startDocServer(env: Record<string, string>): Promise<DocServer> {
  const store = await createTestStore();
  const { DATABASE_URL: _db, PORT: _port, HOST: _host, ...rest } = env;
  const server = await startChildServer(store.databaseUrl, { EXTERNAL_URL: DOC_ORIGIN, ...rest });
  return {
    server,
    store,
    async close() {
      await server.kill();
      await store.drop();
    },
  };
}

const api = (server: ChildServer, method: string, urlPath: string, options: Parameters<typeof requestTo>[3] = {}) =>
  requestTo(server.url, method, urlPath, { token: ROOT_TOKEN, ...options });

function docCommands(file: string): Command[] {
  return blocksOf(file)
    .filter((b) => SHELL.has(b.lang))
    .flatMap((b) => commandsOf(b.text, b.lang, b.file, b.line));
}

// --- the documents' sessions ----------------------------------------------------------------------

describe('README quick start, as printed', () => {
  let doc: DocServer | undefined;
  after(async () => doc?.close());

  test('npm start with the exported root token, then the five steps against it', async () => {
    const commands = docCommands('README.md');
    const startAt = commands.findIndex((c) => c.key === 'npm start');
    assert.ok(startAt > 0, 'the quick start starts the server');
    const env = Object.assign({}, ...commands.slice(0, startAt).filter((c) => c.key.startsWith('export ')).map((c) => assignments(c.key)));
    assert.ok(env.RELINKS_INITIAL_ROOT_TOKEN, 'the quick start exports a root token');
    doc = await startDocServer(env);
    ran.set('npm start', `README.md:${commands[startAt].line}`);
    for (const c of commands.slice(0, startAt)) if (c.key.startsWith('export ')) ran.set(c.key, `README.md:${c.line}`);

    const session = commands.slice(startAt + 1).filter(isSessionCommand);
    assert.ok(session.length >= 6, 'project, release, link create, list, update, delete');
    await runSession(session, doc.server);

    // After step 5 the link is gone and the release is still there.
    const links = await api(doc.server, 'GET', '/api/v4/projects/root%2Fhello/releases/v1.7.0/assets/links', { token: env.RELINKS_INITIAL_ROOT_TOKEN });
    assert.equal(links.status, 200);
    assert.deepEqual(links.body, []);
  });
});

describe('docs/deployment.md: a node started as printed', () => {
  let doc: DocServer | undefined;
  after(async () => doc?.close());

  test('its environment is taken: EXTERNAL_URL makes the URLs it answers', async () => {
    const starts = docCommands('docs/deployment.md').filter(isServerStart);
    assert.ok(starts.length >= 1);
    for (const start of starts) {
      const env = assignments(start.key.replace(/\s*npm start$/, ''));
      assert.ok(env.DATABASE_URL?.startsWith('postgres://'), 'the nodes share PostgreSQL');
      doc = await startDocServer({ ...env, RELINKS_INITIAL_ROOT_TOKEN: ROOT_TOKEN });
      const project = await api(doc.server, 'POST', '/api/v4/projects', { form: { name: 'rocket' } });
      assert.equal(project.status, 201, project.text);
      assert.equal(project.body.web_url, `${env.EXTERNAL_URL}/root/rocket`);
      await doc.close();
      doc = undefined;
      ran.set(start.key, `docs/deployment.md:${start.line}`);
    }
  });
});

describe('docs/security.md: idempotent create and audit events', () => {
  let doc: DocServer | undefined;
  after(async () => doc?.close());

  test('the retried create makes one link; the audit events list it', async () => {
    const session = docCommands('docs/security.md').filter(isSessionCommand);
    assert.equal(session.length, 2, 'the idempotent create and the audit events');
    doc = await startDocServer({ RELINKS_INITIAL_ROOT_TOKEN: ROOT_TOKEN });
    // What the examples assume: project 1 with release v1.0, $TOKEN, a CI pipeline id.
    assert.equal((await api(doc.server, 'POST', '/api/v4/projects', { form: { name: 'app' } })).body.id, 1);
    assert.equal((await api(doc.server, 'POST', '/api/v4/projects/1/releases', { form: { tag_name: 'v1.0', ref: 'main' } })).status, 201);
    const env = { TOKEN: ROOT_TOKEN, CI_PIPELINE_ID: '4242' };

    const [create, audit] = session;
    const first = await runSession([create], doc.server, env);
    const again = await runSession([create], doc.server, env);
    const link = JSON.parse([...first.values()][0].body);
    assert.equal([...first.values()][0].status, 201);
    assert.deepEqual(JSON.parse([...again.values()][0].body), link, 'the retry gets the first answer');
    const links = await api(doc.server, 'GET', '/api/v4/projects/1/releases/v1.0/assets/links');
    assert.deepEqual(links.body.map((l: { id: number }) => l.id), [link.id], 'one link');

    const events = JSON.parse([...(await runSession([audit], doc.server, env)).values()][0].body);
    assert.deepEqual(events.map((e: { details: { event_name: string } }) => e.details.event_name), ['release_link_created', 'release_created']);
  });
});

describe('docs/api.md: the example of every route, in the order printed', () => {
  let doc: DocServer | undefined;
  after(async () => doc?.close());

  test('each answers 2xx', async () => {
    const examples = inlineCurls('docs/api.md');
    assert.ok(examples.length >= 29, `${examples.length} examples`);
    doc = await startDocServer({ RELINKS_INITIAL_ROOT_TOKEN: ROOT_TOKEN });
    // What the examples assume: project 24 with release v0.1, which holds link 1.
    for (let id = 1; id <= 24; id++) {
      const project = await api(doc.server, 'POST', '/api/v4/projects', { form: { name: `project-${id}` } });
      assert.equal(project.body.id, id, project.text);
    }
    const release = await api(doc.server, 'POST', '/api/v4/projects/24/releases', {
      json: { tag_name: 'v0.1', ref: 'main', assets: { links: [{ name: 'awesome-v0.1.dmg', url: 'https://example.com/awesome-v0.1.dmg' }] } },
    });
    assert.equal(release.status, 201, release.text);
    assert.equal(release.body.assets.links[0].id, 1);
    await runSession(examples, doc.server, { H: `PRIVATE-TOKEN: ${ROOT_TOKEN}`, API: `${doc.server.url}/api/v4` });
  });
});

describe('docs/configuration.md: the CLI, as printed', () => {
  let store: TestStore | undefined;
  let server: ChildServer | undefined;
  after(async () => {
    await server?.kill();
    await store?.drop();
  });

  test('migrate, create a user, create a token that works', async () => {
    const commands = docCommands('docs/configuration.md').filter((c) => c.key.startsWith('npx relinks '));
    assert.ok(commands.length >= 3);
    store = await createTestStore();
    const outputs: string[] = [];
    for (const c of commands) {
      const result = await sh(c.text, { cwd: repoRoot, env: { DATABASE_URL: store.databaseUrl, LOG_LEVEL: 'warn' } });
      assert.equal(result.code, 0, `${c.file}:${c.line}: ${c.key}\n${result.stderr}`);
      outputs.push(result.stdout.trim());
      ran.set(c.key, `${c.file}:${c.line}`);
    }
    assert.ok(outputs.includes('migrations: up to date'));
    const user = outputs.map((o) => (o.startsWith('{') ? JSON.parse(o) : undefined)).find((o) => o?.username);
    assert.deepEqual(user, { id: 1, username: 'alice', is_admin: true }, 'the first user: without RELINKS_INITIAL_ROOT_TOKEN there is no root');
    const token = outputs[outputs.length - 1];
    assert.match(token, /^\S{20,}$/);
    server = await startChildServer(store.databaseUrl, { RELINKS_INITIAL_ROOT_TOKEN: '' });
    const me = await requestTo(server.url, 'GET', '/api/v4/user', { token });
    assert.equal(me.status, 200, me.text);
    assert.equal(me.body.username, 'alice');
  });
});

describe('docs/metrics.md and docs/openapi.md: the curl commands, as printed', () => {
  let store: TestStore | undefined;
  let server: ChildServer | undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relinks-doc-curl-'));
  after(async () => {
    await server?.kill();
    await store?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('each answers from a running server', async () => {
    const files = ['docs/metrics.md', 'docs/openapi.md'];
    const commands = [...files.flatMap(docCommands), ...files.flatMap(inlineCurls)].filter((c) => c.key.startsWith('curl '));
    assert.ok(commands.length >= 3);
    store = await createTestStore();
    server = await startChildServer(store.databaseUrl);
    for (const c of commands) {
      const text = c.text.replace(/http:\/\/(localhost|127\.0\.0\.1):8080/g, server.url);
      const result = await sh(text, { cwd: dir });
      assert.equal(result.code, 0, `${c.file}:${c.line}: ${c.key}\n${result.stderr}`);
      ran.set(c.key, `${c.file}:${c.line}`);
    }
    assert.match(fs.readFileSync(path.join(dir, 'relinks-openapi.json'), 'utf8'), /"openapi":"3\.1\.0"/);
  });
});

describe('docs/files.md: publishing, downloading and counting, as printed', () => {
  let store: TestStore | undefined;
  let server: ChildServer | undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relinks-doc-files-'));
  after(async () => {
    await server?.kill();
    await store?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('each answers 2xx, in the order printed', async () => {
    const commands = docCommands('docs/files.md').filter((c) => c.key.startsWith('curl '));
    assert.ok(commands.length >= 5);
    store = await createTestStore();
    server = await startChildServer(store.databaseUrl);
    // What the examples assume: project acme/rocket with release v1.4.0, a CI job token, dist/app.tar.gz.
    const group = await requestTo(server.url, 'POST', '/api/v4/groups', { token: ROOT_TOKEN, json: { name: 'acme', path: 'acme' } });
    await requestTo(server.url, 'POST', '/api/v4/projects', { token: ROOT_TOKEN, json: { name: 'rocket', namespace_id: group.body.id } });
    await requestTo(server.url, 'POST', '/api/v4/projects/acme%2Frocket/releases', { token: ROOT_TOKEN, json: { tag_name: 'v1.4.0', ref: 'main' } });
    const job = await requestTo(server.url, 'POST', '/api/v4/projects/acme%2Frocket/ci/job_tokens', { token: ROOT_TOKEN, json: {} });
    fs.mkdirSync(path.join(dir, 'dist'));
    fs.writeFileSync(path.join(dir, 'dist', 'app.tar.gz'), randomBytes(5000));
    const env = { TOKEN: ROOT_TOKEN, RELINKS: server.url, CI_JOB_TOKEN: job.body.token };
    for (const c of commands) {
      const result = await sh(`curl() { command curl --silent --show-error --write-out '\\n@@status %{http_code}\\n' "$@"; }\n${c.text}`, { cwd: dir, env });
      const status = /@@status (\d+)\n$/.exec(result.stdout);
      assert.ok(result.code === 0 && status && Number(status[1]) < 300, `${c.file}:${c.line}: ${c.key}\n${result.stdout}${result.stderr}`);
      ran.set(c.key, `${c.file}:${c.line}`);
    }
    assert.ok(fs.readFileSync(path.join(dir, 'app.tar.gz')).equals(fs.readFileSync(path.join(dir, 'dist', 'app.tar.gz'))), 'the download is the upload');
  });
});

// --- backups and upgrades (docs/operations.md) ----------------------------------------------------

const operations = () => docCommands('docs/operations.md');
const sqliteBackup = (c: Command) => /^(sqlite3 data\/|node -e "require\('better-sqlite3'\)|rm -f data\/|cp data\/)/.test(c.key);
const postgresBackup = (c: Command) => /^(pg_dump|pg_restore) /.test(c.key);

/** A project with a release and one link named `name`. */
async function seedLink(server: ChildServer, name: string) {
  const projects = await api(server, 'GET', '/api/v4/projects/root%2Fapp');
  if (projects.status === 404) {
    assert.equal((await api(server, 'POST', '/api/v4/projects', { form: { name: 'app' } })).status, 201);
    assert.equal((await api(server, 'POST', '/api/v4/projects/root%2Fapp/releases', { form: { tag_name: 'v1.0', ref: 'main' } })).status, 201);
  }
  const link = await api(server, 'POST', '/api/v4/projects/root%2Fapp/releases/v1.0/assets/links', { form: { name, url: `https://example.com/${name}` } });
  assert.equal(link.status, 201, link.text);
}

async function linkNames(server: ChildServer): Promise<string[]> {
  const res = await api(server, 'GET', '/api/v4/projects/root%2Fapp/releases/v1.0/assets/links');
  assert.equal(res.status, 200, res.text);
  return res.body.map((l: { name: string }) => l.name).sort();
}

describe('docs/operations.md: backups and upgrades, as printed', () => {
  const dirs: string[] = [];
  const servers: ChildServer[] = [];
  after(async () => {
    for (const s of servers) await s.kill();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  // Each store's backup runs in that store's pass of this file (no skipped test in the other).
  if (storeKind() === 'sqlite') test('SQLite: each online backup of a running server restores to what it held', async () => {
    const commands = operations().filter(sqliteBackup);
    const backups = commands.filter((c) => !/^(rm|cp) /.test(c.key));
    const restore = commands.filter((c) => /^(rm|cp) /.test(c.key));
    assert.equal(backups.length, 2, 'the sqlite3 shell and better-sqlite3');
    assert.equal(restore.length, 2);
    for (const backup of backups) {
      // Where `npm start` keeps its data when run in this directory: ./data/relinks.db.
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relinks-backup-'));
      dirs.push(dir);
      const databaseUrl = `sqlite:${path.join(dir, 'data', 'relinks.db')}`;
      const env = { NODE_PATH: path.join(repoRoot, 'node_modules') };
      const before = await startChildServer(databaseUrl);
      servers.push(before);
      await seedLink(before, 'kept');
      const made = await sh(backup.text, { cwd: dir, env });
      assert.equal(made.code, 0, `${backup.key}\n${made.stderr}`);
      await seedLink(before, 'after-the-backup');
      // A crash, so the write-ahead log is left behind for the restore to deal with.
      await before.kill();
      assert.ok(fs.existsSync(path.join(dir, 'data', 'relinks.db-wal')), 'the crash left a WAL');
      for (const c of restore) {
        const r = await sh(c.text, { cwd: dir });
        assert.equal(r.code, 0, `${c.key}\n${r.stderr}`);
      }
      const restored = await startChildServer(databaseUrl);
      servers.push(restored);
      assert.deepEqual(await linkNames(restored), ['kept']);
      await restored.kill();
      ran.set(backup.key, `docs/operations.md:${backup.line}`);
      for (const c of restore) ran.set(c.key, `docs/operations.md:${c.line}`);
    }
  });
  if (storeKind() !== 'sqlite') for (const c of operations().filter(sqliteBackup)) otherPass.set(c.key, 'runs in the sqlite pass of this file');

  if (storeKind() === 'postgres') test('PostgreSQL: pg_dump of a running server, pg_restore into an empty database', async () => {
    const commands = operations().filter(postgresBackup);
    assert.deepEqual(commands.map((c) => c.key.split(' ')[0]), ['pg_dump', 'pg_restore']);
    const printed = /postgres:\/\/\S+/.exec(commands[0].key)![0];
    assert.ok(commands[1].key.includes(printed), 'both name the same database');
    // A database of its own (the tools take no ?schema=), dropped afterwards.
    const name = `relinks_docs_${process.pid}_${randomBytes(3).toString('hex')}`;
    const admin = async (statement: string) => {
      const client = new pg.Client({ connectionString: postgresBaseUrl() });
      await client.connect();
      try {
        await client.query(statement);
      } finally {
        await client.end();
      }
    };
    const url = new URL(postgresBaseUrl());
    url.pathname = `/${name}`;
    const databaseUrl = url.toString();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relinks-pgdump-'));
    dirs.push(dir);
    await admin(`create database ${name}`);
    try {
      const before = await startChildServer(databaseUrl);
      servers.push(before);
      await seedLink(before, 'kept');
      const dump = await sh(commands[0].text.replaceAll(printed, databaseUrl), { cwd: dir });
      assert.equal(dump.code, 0, dump.stderr);
      await seedLink(before, 'after-the-backup');
      await before.kill();
      await admin(`drop database ${name} with (force)`);
      await admin(`create database ${name}`);
      const restore = await sh(commands[1].text.replaceAll(printed, databaseUrl), { cwd: dir });
      assert.equal(restore.code, 0, restore.stderr);
      const restored = await startChildServer(databaseUrl);
      servers.push(restored);
      assert.deepEqual(await linkNames(restored), ['kept']);
      await restored.kill();
      for (const c of commands) ran.set(c.key, `docs/operations.md:${c.line}`);
    } finally {
      await admin(`drop database if exists ${name} with (force)`);
    }
  });
  if (storeKind() !== 'postgres') for (const c of operations().filter(postgresBackup)) otherPass.set(c.key, 'runs in the postgres pass of this file');

  test('upgrade: relinks migrate on a database that is up to date, then npm start', async () => {
    const upgrade = operations().filter((c) => c.key === 'npx relinks migrate');
    assert.equal(upgrade.length, 1);
    const store = await createTestStore();
    try {
      for (const round of [1, 2]) {
        const result = await sh(upgrade[0].text, { cwd: repoRoot, env: { DATABASE_URL: store.databaseUrl, LOG_LEVEL: 'warn' } });
        assert.equal(result.code, 0, `round ${round}: ${result.stderr}`);
        assert.equal(result.stdout.trim(), 'migrations: up to date');
      }
      const server = await startChildServer(store.databaseUrl);
      servers.push(server);
      assert.equal((await fetch(`${server.url}/-/readiness`)).status, 200);
      await server.kill();
      ran.set(upgrade[0].key, `docs/operations.md:${upgrade[0].line}`);
    } finally {
      await store.drop();
    }
  });
});

// --- nothing left out -----------------------------------------------------------------------------

test('every fenced block names its language', () => {
  const bare = allBlocks().filter((b) => !b.lang);
  assert.deepEqual(bare.map((b) => `${b.file}:${b.line}`), []);
});

test('the lists name only commands the documents print', () => {
  const printed = new Set(shellCommands().map((c) => c.key));
  const stale = [...RUN_ELSEWHERE.keys(), ...CANNOT_RUN.keys()].filter((k) => !printed.has(k));
  assert.deepEqual(stale, []);
});

test('every shell command in README.md and docs/ was run here, is run by another test, or cannot run in a test', () => {
  const commands = shellCommands();
  assert.ok(commands.length > 20, `${commands.length} commands found`);
  const unaccounted = commands
    .filter((c) => !ran.has(c.key) && !otherPass.has(c.key) && !RUN_ELSEWHERE.has(c.key) && !CANNOT_RUN.has(c.key))
    .map((c) => `${c.file}:${c.line}: ${c.key}`);
  assert.deepEqual(unaccounted, [], 'add a run for these to test/docs-commands.test.ts (or, if no test can run one, say why in CANNOT_RUN)');
});
