import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { freePort } from './helpers/child-server.js';
import { repoRoot } from './helpers/ci.js';
import { addMember, createGroup, createProject, createRelease } from './helpers/fixtures.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { storeKind } from './helpers/store.js';
import { userWithPassword } from './helpers/web.js';
import { countFailure, lockUntil } from '../src/store/sign-in-failures.js';

// The web pages in a real browser: Debian's Chromium driven by playwright-core. One walk through
// them, as a person would: sign in, browse, create a release with two links through the form (and
// see its validation error first), download assets of a private project (one relinks hosts, with
// the session cookie), sign out and find the project gone. Every page is checked by axe-core (zero violations; the release list, a release and
// the edit form also dark and on a phone) and for anything the Content-Security-Policy refused.
// Each page it visits is saved as a screenshot in test-results/screenshots/<store>/ (not
// committed), with the release page's weight; docs/web.md lists them.

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SCREENSHOTS = path.join(repoRoot, 'test-results', 'screenshots', storeKind());
const AXE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let server: TestServer;
let context: BrowserContext;
let profile: string;
let project: { id: number; path_with_namespace: string };
let user: { username: string; password: string };
/** A file relinks holds (a generic package), linked from release v0.9.0. */
const hosted = { bytes: randomBytes(64 * 1024), path: '' };
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const refused: string[] = [];
const axeResults: Record<string, number> = {};
/** The screenshots this run saved, by file name. */
const saved = new Set<string>();

before(async () => {
  const port = await freePort();
  // The browser reaches the server where the pages' links point: EXTERNAL_URL is its real address.
  server = await startTestServer({ PORT: String(port), EXTERNAL_URL: `http://127.0.0.1:${port}` });
  const group = await createGroup(server, 'acme', { visibility: 'private' });
  project = await createProject(server, 'rocket', { namespaceId: group.id, visibility: 'private' });
  user = await userWithPassword(server, 'ada');
  await addMember(server, project.id, user.id, 30);
  await createRelease(server, project.id, 'v1.0.0', [
    { name: 'rocket-linux-amd64', url: 'https://downloads.example.test/rocket/v1.0.0/linux', filepath: '/bin/rocket-linux', link_type: 'package' },
    { name: 'Launch runbook', url: 'https://wiki.example.test/launch', link_type: 'runbook' },
  ]);
  await server.request('PUT', `/api/v4/projects/${project.id}/releases/v1.0.0`, {
    token: 'root-test-token-0123456789',
    json: { name: 'Rocket 1.0', description: '## Highlights\n\n* Faster **launches**\n* A [changelog](https://example.test/changelog)\n\n```sh\nrocket --launch\n```' },
  });
  hosted.path = `/api/v4/projects/${project.id}/packages/generic/rocket/0.9.0/rocket-src.tar.gz`;
  const put = await fetch(server.url + hosted.path, { method: 'PUT', headers: { 'private-token': 'root-test-token-0123456789' }, body: hosted.bytes });
  assert.equal(put.status, 201, await put.text());
  await createRelease(server, project.id, 'v0.9.0', [{ name: 'rocket-src.tar.gz', url: server.url + hosted.path, filepath: '/src.tar.gz', link_type: 'package' }]);
  await server.request('PUT', `/api/v4/projects/${project.id}/releases/v0.9.0`, { token: 'root-test-token-0123456789', json: { released_at: '2023-06-01T00:00:00Z' } });
  await createRelease(server, project.id, 'v2.0.0-rc1');
  await server.request('PUT', `/api/v4/projects/${project.id}/releases/v2.0.0-rc1`, { token: 'root-test-token-0123456789', json: { released_at: '2099-06-01T00:00:00Z', description: 'The next one.' } });

  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'relinks-chromium-'));
  context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
  // Assets live elsewhere: the browser's way there ends here, with a file.
  await context.route(/^https:\/\/downloads\.example\.test\//, (route) =>
    route.fulfill({ status: 200, body: 'rocket binary', headers: { 'content-type': 'application/octet-stream', 'content-disposition': 'attachment; filename="rocket-linux"' } }),
  );
});

after(async () => {
  await context?.close();
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
  await server?.close();
});

function watch(page: Page) {
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to|Trusted Type/i.test(message.text())) refused.push(message.text());
  });
  page.on('pageerror', (error) => refused.push(`page error: ${error.message}`));
}

/** axe-core on the page as it is: no violation of any rule it runs by default. */
async function checkAccessibility(page: Page, name: string) {
  await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Document): Promise<{ violations: Array<{ id: string; impact: string; nodes: Array<{ target: unknown }> }> }> } }).axe;
    const result = await axe.run(document);
    return result.violations.map((v) => `${v.id} (${v.impact}): ${JSON.stringify(v.nodes.map((n) => n.target)).slice(0, 300)}`);
  });
  axeResults[name] = violations.length;
  assert.deepEqual(violations, [], `axe on ${name}`);
}

async function shot(page: Page, file: string) {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${file}.png`), fullPage: true });
  saved.add(`${file}.png`);
}

/** A page as the walk meets it: axe-core finds nothing, and it is saved as `<file>.png`. */
async function visit(page: Page, name: string, file: string) {
  await checkAccessibility(page, name);
  await shot(page, file);
}

/** The same page dark, then on a phone: axe-core finds nothing, nothing scrolls sideways; both saved. */
async function darkAndPhone(page: Page, name: string, file: string) {
  await page.emulateMedia({ colorScheme: 'dark' });
  await visit(page, `${name}, dark`, `${file}-dark`);
  await page.setViewportSize({ width: 375, height: 740 });
  await page.emulateMedia({ colorScheme: 'light' });
  await checkAccessibility(page, `${name}, phone`);
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), `${name}: nothing scrolls sideways on a phone`);
  await shot(page, `${file}-phone`);
  await page.setViewportSize({ width: 1280, height: 900 });
}

test('sign in, browse, create a release with two links, download a private asset, sign out: every page accessible, nothing refused', { timeout: 240_000 }, async (t) => {
  const page = await context.newPage();
  watch(page);
  const base = `${server.url}/${project.path_with_namespace}`;

  // Signed out, the private project is not there at all.
  let res = await page.goto(`${base}/-/releases`);
  assert.equal(res!.status(), 404);
  await visit(page, 'not found', 'not-found');

  await page.goto(`${server.url}/`);
  await visit(page, 'projects', 'home');
  await page.getByRole('link', { name: 'Sign in' }).click();
  await visit(page, 'sign in', 'sign-in');
  await page.getByLabel('Username or primary email').fill(user.username);
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'Invalid login or password.' }).waitFor();
  await visit(page, 'sign in, failed', 'sign-in-failed');
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText(`@${user.username}`).waitFor();

  await page.goto(`${server.url}/?mine=yes`);
  await visit(page, 'your projects', 'projects');
  await page.getByRole('link', { name: project.path_with_namespace }).click();
  assert.equal(new URL(page.url()).pathname, `/${project.path_with_namespace}`);
  await page.getByRole('heading', { name: 'Rocket 1.0' }).waitFor();
  await page.getByText('Upcoming Release').waitFor();
  await visit(page, 'release list', 'release-list');
  await darkAndPhone(page, 'release list', 'release-list');

  // A release: notes rendered, links by type, copy buttons shown by the script.
  await page.getByRole('link', { name: 'Rocket 1.0' }).click();
  await page.getByRole('heading', { name: 'Packages' }).waitFor();
  await page.getByRole('heading', { name: 'Runbooks' }).waitFor();
  assert.equal(await page.locator('.md li strong').textContent(), 'launches');
  const copy = page.getByRole('button', { name: 'Copy the URL of rocket-linux-amd64' });
  await copy.click();
  await page.getByRole('status').filter({ hasText: 'Copied' }).waitFor();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(copied, `${base}/-/releases/v1.0.0/downloads/bin/rocket-linux`);
  await visit(page, 'release', 'release');

  // Its asset, downloaded with the session cookie (relinks sends the browser on to the file).
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'rocket-linux-amd64' }).click()]);
  assert.equal(download.url(), 'https://downloads.example.test/rocket/v1.0.0/linux');
  assert.equal(fs.readFileSync((await download.path())!, 'utf8'), 'rocket binary');

  // A hosted file (a generic package of this private project): the direct asset URL sends the
  // browser on to relinks' own package URL, which the session cookie downloads too.
  await page.goto(`${base}/-/releases/v0.9.0`);
  const [source] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'rocket-src.tar.gz' }).click()]);
  assert.equal(source.url(), server.url + hosted.path);
  assert.equal(source.suggestedFilename(), 'rocket-src.tar.gz');
  assert.equal(sha256(fs.readFileSync((await source.path())!)), sha256(hosted.bytes), 'the same bytes, by SHA-256');

  // (Chromium leaves a download's navigation on an error page: back to the release.)
  await page.goto(`${base}/-/releases/v1.0.0`);
  await page.getByRole('link', { name: 'v1.0.0' }).first().click();
  await page.getByRole('heading', { name: 'v1.0.0' }).waitFor();
  await visit(page, 'tag', 'tag');

  // The new release form: two links, one with a bad URL; the error beside its field; then fixed.
  await page.goto(`${base}/-/releases`);
  await page.getByRole('link', { name: 'New release' }).click();
  await visit(page, 'new release', 'new-release');
  await page.getByLabel('Tag name (required)').fill('v1.1.0');
  await page.getByLabel('Release title').fill('Rocket 1.1');
  await page.getByLabel('Release notes').fill('Two **new** assets.');
  const link = (n: number) => page.getByRole('group', { name: `Link ${n} (new)` });
  await link(1).getByLabel('URL').fill('https://downloads.example.test/rocket/v1.1.0/linux');
  await link(1).getByLabel('Link title').fill('rocket-linux');
  await link(1).getByLabel('Direct asset path').fill('/bin/rocket-linux');
  await link(1).getByLabel('Type').selectOption('package');
  await link(2).getByLabel('URL').fill('gopher://example.test/docs');
  await link(2).getByLabel('Link title').fill('Docs');
  await page.getByRole('button', { name: 'Create release' }).click();
  await page.getByRole('alert').filter({ hasText: 'nothing was saved' }).waitFor();
  const bad = link(2).getByLabel('URL');
  assert.equal(await bad.getAttribute('aria-invalid'), 'true');
  assert.equal(await page.locator(`#${await bad.getAttribute('aria-describedby')}`).textContent(), 'URL is blocked: Only allowed schemes are http, https, ftp');
  await visit(page, 'new release, with errors', 'release-form-errors');
  await bad.fill('https://docs.example.test/rocket');
  await page.getByRole('button', { name: 'Create release' }).click();
  await page.getByRole('heading', { level: 1, name: 'Rocket 1.1' }).waitFor();
  const made = await server.request('GET', `/api/v4/projects/${project.id}/releases/v1.1.0`, { token: 'root-test-token-0123456789' });
  assert.deepEqual(made.body.assets.links.map((l: { name: string }) => l.name).sort(), ['Docs', 'rocket-linux']);

  // The edit form; a bad URL first, its error beside the field and nothing saved; then the change.
  await page.getByRole('link', { name: 'Edit release' }).click();
  await page.getByRole('heading', { name: 'Edit release v1.1.0' }).waitFor();
  await visit(page, 'edit release', 'edit-form');
  await darkAndPhone(page, 'edit release', 'edit-form');
  const linux = page.getByRole('group', { name: /^Link \d: rocket-linux$/ }).getByLabel('URL');
  await linux.fill('torrent://downloads.example.test/rocket');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByRole('alert').filter({ hasText: 'nothing was saved' }).waitFor();
  assert.equal(await linux.getAttribute('aria-invalid'), 'true');
  assert.equal(await page.locator(`#${await linux.getAttribute('aria-describedby')}`).textContent(), 'URL is blocked: Only allowed schemes are http, https, ftp');
  await visit(page, 'edit release, with errors', 'edit-form-errors');
  await linux.fill('https://downloads.example.test/rocket/v1.1.0/linux');
  await page.getByLabel('Release title').fill('Rocket 1.1 final');
  await page.getByRole('group', { name: /^Link \d: Docs$/ }).getByLabel('Remove this link').check();
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByRole('heading', { level: 1, name: 'Rocket 1.1 final' }).waitFor();
  const edited = await server.request('GET', `/api/v4/projects/${project.id}/releases/v1.1.0`, { token: 'root-test-token-0123456789' });
  assert.deepEqual(edited.body.assets.links.map((l: { name: string }) => l.name), ['rocket-linux']);

  // The download above shows on the release page once its batch is written (DOWNLOAD_COUNT_FLUSH_MS).
  const downloadsOf = (name: string) => page.getByRole('listitem').filter({ has: page.getByRole('link', { name, exact: true }) }).locator('.downloads').textContent();
  for (let tries = 0; ; tries++) {
    await page.goto(`${base}/-/releases/v1.0.0`);
    if ((await downloadsOf('rocket-linux-amd64')) === '1 download') break;
    assert.ok(tries < 20, 'the download is counted on the page within a few seconds');
    await page.waitForTimeout(250);
  }
  assert.equal(await downloadsOf('Launch runbook'), '0 downloads');

  // Dark, and on a phone: still no violation, nothing wider than the screen.
  await darkAndPhone(page, 'release', 'release');

  // Sign out: the project is gone again, and so is its asset.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('link', { name: 'Sign in' }).waitFor();
  res = await page.goto(`${base}/-/releases/v1.0.0`);
  assert.equal(res!.status(), 404);
  const asset = await page.goto(`${base}/-/releases/v1.0.0/downloads/bin/rocket-linux`);
  assert.equal(asset!.status(), 404);
  assert.equal((await page.goto(server.url + hosted.path))!.status(), 404, 'and so is the hosted file');
  await page.goto(`${base}/-/releases/v1.0.0/downloads/bin/rocket-linux`);
  await visit(page, 'not found, signed out', 'not-found-signed-out');

  assert.deepEqual(refused, [], 'the Content-Security-Policy refused nothing and no script failed');
  t.diagnostic(`axe violations per page: ${JSON.stringify(axeResults)}`);
  await page.close();
});

test("the release page's weight: requests and bytes, and it works without JavaScript", { timeout: 120_000 }, async (t) => {
  const page = await context.newPage();
  watch(page);
  const sizes: Array<{ url: string; bytes: number }> = [];
  // Only responses that arrive while the release page loads count. A body is read after the event,
  // so the sign-in page's own files could otherwise land in the list after it was emptied.
  let counting = false;
  page.on('response', async (response) => {
    if (!counting) return;
    const body = await response.body().catch(() => Buffer.alloc(0));
    sizes.push({ url: response.url(), bytes: body.length });
  });
  await page.goto(`${server.url}/users/sign_in`);
  await page.getByLabel('Username or primary email').fill(user.username);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText(`@${user.username}`).waitFor();
  await page.waitForLoadState('networkidle');
  counting = true;
  await page.goto(`${server.url}/${project.path_with_namespace}/-/releases/v1.0.0`, { waitUntil: 'networkidle' });
  counting = false;
  const bytes = sizes.reduce((n, s) => n + s.bytes, 0);
  const weight = { requests: sizes.length, bytes, files: sizes.map((s) => `${new URL(s.url).pathname} ${s.bytes}`) };
  fs.writeFileSync(path.join(SCREENSHOTS, 'release-page-weight.json'), `${JSON.stringify(weight, null, 2)}\n`);
  t.diagnostic(`release page: ${weight.requests} requests, ${weight.bytes} bytes (${weight.files.join(', ')})`);
  assert.equal(weight.requests, 3, 'the page, its stylesheet and its script');
  assert.ok(bytes < 40_000, `${bytes} bytes`);
  await page.close();

  // Without the script (as with JavaScript off): the page is whole, the copy buttons stay hidden.
  const plain = await context.newPage();
  let blocked = 0;
  await plain.route(/\/-\/web\/relinks\.js/, (route) => {
    blocked++;
    return route.abort();
  });
  await plain.goto(`${server.url}/${project.path_with_namespace}/-/releases/v1.0.0`);
  assert.deepEqual(await plain.locator('button[data-copy]').evaluateAll((buttons) => buttons.map((b) => (b as HTMLButtonElement).hidden)), [true, true], 'no copy button without a script to run it');
  assert.equal(blocked, 1, 'the script was asked for, and not given');
  assert.equal(await plain.locator('input[readonly]').first().inputValue(), `${server.url}/${project.path_with_namespace}/-/releases/v1.0.0/downloads/bin/rocket-linux`);
  await plain.close();
});

test('sign-in refused: a locked account and a busy address get pages that are accessible too', { timeout: 120_000 }, async (t) => {
  // Signed out, whatever the walks before left.
  await context.clearCookies();
  // The locks as 10 failures of an account, or 50 from one address, leave them (test/web.test.ts
  // counts those one by one; each costs a password hash, so here the store sets them at once).
  const lock = async (key: string) => {
    const at = new Date().toISOString();
    await countFailure(server.running.store.db, key, at, at);
    await lockUntil(server.running.store.db, key, new Date(Date.now() + 10 * 60_000).toISOString());
  };
  const signInAs = async (page: Page, login: string, password: string) => {
    await page.goto(`${server.url}/users/sign_in`);
    await page.getByLabel('Username or primary email').fill(login);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
  };

  // A locked account: the right password meets "Your account is locked."
  const locked = await userWithPassword(server, 'grace');
  await lock(`user:${locked.id}`);
  const page = await context.newPage();
  watch(page);
  await signInAs(page, locked.username, locked.password);
  await page.getByRole('alert').filter({ hasText: 'Your account is locked.' }).waitFor();
  await visit(page, 'sign in, account locked', 'sign-in-locked');
  await page.close();

  // A busy address (as the loopback proxy reports it): its next sign-in waits (429), whoever it names.
  const busy = '198.51.100.21';
  await lock(`ip:${busy}`);
  const waiting = await context.newPage();
  watch(waiting);
  await waiting.setExtraHTTPHeaders({ 'x-forwarded-for': busy });
  const answered = waiting.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/users/sign_in');
  await signInAs(waiting, user.username, user.password);
  assert.equal((await answered).status(), 429);
  await waiting.getByRole('alert').filter({ hasText: 'Too many failed sign-ins' }).waitFor();
  await visit(waiting, 'sign in, too many failures', 'sign-in-throttled');
  await waiting.close();

  assert.deepEqual(refused, [], 'the Content-Security-Policy refused nothing and no script failed');
  t.diagnostic(`axe violations per page: ${JSON.stringify(axeResults)}`);
});

test("docs/web.md lists exactly the screenshots the tests save, and states the browser's path and flags", () => {
  const doc = fs.readFileSync(path.join(repoRoot, 'docs', 'web.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Browser tests and screenshots'), doc.indexOf('<!-- section: not-there -->'));
  const listed = new Set([...section.matchAll(/`([a-z0-9-]+\.png)`/g)].map((m) => m[1]));
  assert.deepEqual([...listed].sort(), [...saved].sort());
  const words = section.replace(/\s+/g, ' ');
  for (const stated of [CHROMIUM, ...ARGS, 'executablePath', 'npx playwright install']) assert.ok(words.includes(stated), stated);
  assert.ok(words.includes(`\`${ARGS.slice(0, 3).join(' ')}`), 'the three flags that matter, together');
});
