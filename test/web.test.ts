import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes, scryptSync } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import { buildApp } from '../src/app.js';
import type { DB } from '../src/store/schema.js';
import { ROOT_TOKEN, startTestServer, type TestServer } from './helpers/server.js';
import { addMember, createGroup, createProject, createRelease, createUser, enc } from './helpers/fixtures.js';
import { repoRoot } from './helpers/ci.js';
import { browser, signIn, userWithPassword, type Browser } from './helpers/web.js';

// The web pages over HTTP, as a browser meets them: pages at GitLab's URLs, sign-in and sessions,
// forms with their authenticity tokens, and a private project that is a 404 to whoever may not
// see it, exactly as the API decides. test/web-browser.test.ts drives the same pages in Chromium.

let server: TestServer;
let publicProject: { id: number; path_with_namespace: string };
let privateProject: { id: number; path_with_namespace: string };
let developer: { id: number; username: string; password: string };
let guest: { id: number; username: string; password: string };
let outsider: { id: number; username: string; password: string };

const html = { accept: 'text/html,application/xhtml+xml' };
const page = (p: string, headers: Record<string, string> = html) => fetch(server.url + p, { headers, redirect: 'manual' }).then(async (r) => ({ status: r.status, headers: r.headers, text: await r.text() }));

before(async () => {
  server = await startTestServer();
  const group = await createGroup(server, 'webgroup', { visibility: 'public' });
  publicProject = await createProject(server, 'shop', { namespaceId: group.id, visibility: 'public' });
  privateProject = await createProject(server, 'vault', { namespaceId: group.id, visibility: 'private' });
  developer = await userWithPassword(server, 'dev');
  guest = await userWithPassword(server, 'guesty');
  outsider = await userWithPassword(server, 'stranger');
  await addMember(server, privateProject.id, developer.id, 30);
  await addMember(server, privateProject.id, guest.id, 10);
  await addMember(server, publicProject.id, developer.id, 30);
  await createRelease(server, publicProject.id, 'v1.0', [
    { name: 'linux.tar.gz', url: 'https://cdn.example.com/linux.tar.gz', filepath: '/bin/linux', link_type: 'package' },
    { name: 'screenshot', url: 'https://cdn.example.com/shot.png', link_type: 'image' },
    { name: 'runbook', url: 'https://wiki.example.com/run', link_type: 'runbook' },
    { name: 'notes', url: 'https://example.com/notes' },
  ]);
  await createRelease(server, privateProject.id, 'secret-1', [{ name: 'payload', url: 'https://cdn.example.com/payload', filepath: '/payload', link_type: 'package' }]);
});
after(async () => server.close());

describe('pages at GitLab\'s URLs', () => {
  test("every release's _links.self, edit_url and tag_path answer 200 to someone allowed to see them", async () => {
    const dev = await signIn(server, developer.username, developer.password);
    for (const project of [publicProject, privateProject]) {
      const releases = await server.request('GET', `/api/v4/projects/${project.id}/releases`, { token: ROOT_TOKEN });
      assert.ok(releases.body.length > 0);
      for (const release of releases.body) {
        const local = (url: string) => url.replace(server.config.externalUrl, '');
        for (const p of [local(release._links.self), local(release._links.edit_url), release.tag_path]) {
          const res = await dev.get(p);
          assert.equal(res.status, 200, `${p}: ${res.text.slice(0, 300)}`);
          assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
          assert.match(res.text, /^<!DOCTYPE html>\n<html lang="en">/);
          assert.ok(res.text.includes(release.tag_name), p);
        }
      }
    }
  });

  test('/ lists public projects with a search box; signed in, the private ones one belongs to too', async () => {
    const anonymous = await page('/');
    assert.equal(anonymous.status, 200);
    assert.match(anonymous.text, /<form class="search" role="search" method="get"/);
    assert.ok(anonymous.text.includes('webgroup/shop'));
    assert.ok(!anonymous.text.includes('webgroup/vault'), 'a private project is not listed to anonymous visitors');
    const searched = await page('/?search=nothing-like-this');
    assert.ok(!searched.text.includes('webgroup/shop'));
    assert.match(searched.text, /No project matches/);
    const dev = await signIn(server, developer.username, developer.password);
    const mine = await dev.get('/?mine=yes');
    assert.ok(mine.text.includes('webgroup/vault') && mine.text.includes('webgroup/shop'));
    const stranger = await signIn(server, outsider.username, outsider.password);
    assert.ok(!(await stranger.get('/')).text.includes('webgroup/vault'));
  });

  test("a project's releases: newest first, each with name, tag, date, excerpt and assets; paginated", async () => {
    const project = await createProject(server, `many${process.pid}`, { visibility: 'public' });
    for (let i = 1; i <= 12; i++) {
      const res = await server.request('POST', `/api/v4/projects/${project.id}/releases`, {
        token: ROOT_TOKEN,
        json: { tag_name: `r${i}`, ref: 'main', name: `Release ${i}`, description: `## Notes ${i}\n\nThe **${i}th** one.`, released_at: `2024-01-${String(i).padStart(2, '0')}T00:00:00Z` },
      });
      assert.equal(res.status, 201, res.text);
    }
    for (const p of [`/${project.path_with_namespace}`, `/${project.path_with_namespace}/-/releases`]) {
      const first = await page(p);
      assert.equal(first.status, 200);
      const names = [...first.text.matchAll(/<h2 id="release-\d+"><a href="[^"]+">([^<]+)<\/a>/g)].map((m) => m[1]);
      assert.deepEqual(names, ['Release 12', 'Release 11', 'Release 10', 'Release 9', 'Release 8', 'Release 7', 'Release 6', 'Release 5', 'Release 4', 'Release 3']);
      assert.ok(first.text.includes('Notes 12 The 12th one.'), 'an excerpt of the description, as text');
      assert.match(first.text, /<time datetime="2024-01-12T00:00:00.000Z">Jan 12, 2024<\/time>/);
      assert.match(first.text, /rel="next"/);
    }
    const second = await page(`/${project.path_with_namespace}/-/releases?page=2`);
    assert.deepEqual([...second.text.matchAll(/<h2 id="release-\d+"><a href="[^"]+">([^<]+)<\/a>/g)].map((m) => m[1]), ['Release 2', 'Release 1']);
  });

  test("the releases list shows each release's assets: every link by name, to its direct asset URL, with its type; none for a release without links", async () => {
    const project = await createProject(server, `assets${process.pid}`, { visibility: 'public' });
    await createRelease(server, project.id, 'bare');
    await createRelease(server, project.id, 'full', [
      { name: 'app-linux', url: 'https://cdn.example.com/app-linux', filepath: '/bin/app-linux', link_type: 'package' },
      { name: 'docs & notes', url: 'https://example.com/docs' },
      { name: 'diagram', url: 'https://cdn.example.com/diagram.png', link_type: 'image' },
    ]);
    const res = await page(`/${project.path_with_namespace}/-/releases`);
    assert.equal(res.status, 200);
    const articles = Object.fromEntries([...res.text.matchAll(/<article aria-labelledby="release-\d+">([\s\S]*?)<\/article>/g)].map((m) => [/<a href="[^"]+\/-\/releases\/([^"]+)">/.exec(m[1])![1], m[1]]));
    assert.deepEqual(Object.keys(articles).sort(), ['bare', 'full']);
    assert.doesNotMatch(articles.bare, /Assets|asset-list/, 'no assets section for a release without links');
    const json = (await server.request('GET', `/api/v4/projects/${project.id}/releases/full`)).body;
    assert.match(articles.full, new RegExp(`<h3>Assets <span class="badge">${json.assets.count}</span></h3>`));
    const shown = [...articles.full.matchAll(/<li><a href="([^"]+)">([^<]+)<\/a> <span class="muted">\((\w+)\)<\/span><\/li>/g)].map((m) => [m[2], m[1], m[3]]);
    const expected = json.assets.links.map((l: { name: string; direct_asset_url: string; link_type: string }) => [l.name.replace('&', '&amp;'), l.direct_asset_url, l.link_type]);
    assert.equal(shown.length, 3);
    assert.deepEqual(shown, expected, 'each link, in the API\'s order, to its direct asset URL');
    assert.ok(shown.some(([, href]) => href.endsWith(`/${project.path_with_namespace}/-/releases/full/downloads/bin/app-linux`)), 'a link with a filepath is shown at its direct asset URL');
  });

  test('one release: Markdown rendered by the same renderer as description_html, sanitized; links grouped by type with their direct URL and a copy button', async () => {
    const description = '# Changes\n\n* fixed <script>alert(1)</script>\n* [bad](javascript:alert(1)) and <img src=x onerror=alert(1)>\n\n```js\nlet a = 1;\n```';
    await server.request('PUT', `/api/v4/projects/${publicProject.id}/releases/v1.0`, { token: ROOT_TOKEN, json: { description } });
    const json = await server.request('GET', `/api/v4/projects/${publicProject.id}/releases/v1.0?include_html_description=true`);
    const res = await page(`/${publicProject.path_with_namespace}/-/releases/v1.0`);
    assert.equal(res.status, 200);
    const rendered = /<div class="md">([\s\S]*?)<\/div><\/section>/.exec(res.text)![1];
    assert.equal(rendered, json.body.description_html, 'the page shows exactly the API\'s description_html');
    assert.doesNotMatch(rendered, /<script|<img|<[^>]*\son\w+=|href="javascript:/i, 'no script, no event handler, no javascript: URL');
    // GitLab's sections, in its order: images, packages, runbooks, other.
    const sections = [...res.text.matchAll(/<h3>([A-Za-z]+)<\/h3>/g)].map((m) => m[1]);
    assert.deepEqual(sections, ['Images', 'Packages', 'Runbooks', 'Other']);
    const linux = json.body.assets.links.find((l: { name: string }) => l.name === 'linux.tar.gz');
    assert.ok(res.text.includes(`<a href="${linux.direct_asset_url}">linux.tar.gz</a>`));
    assert.ok(res.text.includes(`readonly value="${linux.direct_asset_url}"`));
    assert.match(res.text, /<button type="button" data-copy="asset-url-\d" aria-label="Copy the URL of linux.tar.gz" hidden>Copy<\/button>/);
  });

  test("one release: each link's download count, as the download counts API gives it, read in one query whatever the number of links", async (t) => {
    const project = await createProject(server, `counted${process.pid}`, { visibility: 'public' });
    await createRelease(server, project.id, 'v0', [{ name: 'old', url: 'https://cdn.example.com/old', filepath: '/old' }]);
    await createRelease(server, project.id, 'v1', [
      { name: 'app', url: 'https://cdn.example.com/app', filepath: '/bin/app', link_type: 'package' },
      { name: 'docs', url: 'https://cdn.example.com/docs', filepath: '/docs' },
      { name: 'site', url: 'https://example.com/site', link_type: 'runbook' },
    ]);
    const base = `/${project.path_with_namespace}/-/releases`;
    const countsOn = (text: string) =>
      Object.fromEntries([...text.matchAll(/<li class="asset"><a href="[^"]+">([^<]+)<\/a><span class="facts"><span>(?:External|Internal)<\/span><span class="downloads"><data value="(\d+)">([\d,]+)<\/data> (downloads?)<\/span><\/span>/g)]
        .map((m) => [m[1], `${m[2]} ${m[3]} ${m[4]}`]));
    const apiCounts = async () => {
      const res = await server.request('GET', `/api/v4/projects/${project.id}/releases/v1/assets/download_counts`);
      assert.equal(res.status, 200);
      return Object.fromEntries(res.body.map((c: { name: string; downloads: number }) => [c.name, c.downloads]));
    };

    // A second instance on the same store, whose counts stay in memory until it stops, and whose
    // queries are recorded.
    const sent: string[] = [];
    const store = server.running.store;
    const recording = new Kysely<DB>({
      dialect: store.dialect === 'sqlite' ? new SqliteDialect({ database: store.sqlite! }) : new PostgresDialect({ pool: store.pool! }),
      log: (event) => {
        if (event.level === 'query') sent.push(event.query.sql);
      },
    });
    const counting = await buildApp({ config: { ...server.config, downloadCountFlushMs: 3_600_000 }, store: { ...store, db: recording }, logger: false });
    try {
      const get = (url: string) => counting.inject({ method: 'GET', url, headers: html });
      for (let i = 0; i < 3; i++) assert.equal((await get(`${base}/v1/downloads/bin/app`)).statusCode, 302);
      const latest = await get(`${base}/permalink/latest/downloads/bin/app`);
      assert.equal(latest.statusCode, 302);
      const direct = latest.headers.location!.replace(server.config.externalUrl, '');
      assert.equal(direct, `${base}/v1/downloads/bin/app`);
      assert.equal((await get(direct)).headers.location, 'https://cdn.example.com/app');
      assert.equal((await get(`${base}/v1/downloads/docs`)).statusCode, 302);

      // Counted but not written yet: the page shows what the API shows, and neither has them.
      assert.deepEqual(countsOn((await page(`${base}/v1`)).text), { app: '0 0 downloads', docs: '0 0 downloads', site: '0 0 downloads' });
      assert.deepEqual(await apiCounts(), { app: 0, docs: 0, site: 0 });

      const queriesOf = async (tag: string) => {
        sent.length = 0;
        assert.equal((await get(`${base}/${tag}`)).statusCode, 200);
        return { all: sent.length, counts: sent.filter((q) => /download_counts/.test(q)).length };
      };
      const three = await queriesOf('v1');
      const one = await queriesOf('v0');
      assert.equal(three.counts, 1, 'one query reads the counts of all the links');
      assert.equal(three.all, one.all, 'three links cost no more queries than one');
      t.diagnostic(`release page: ${three.all} queries with 3 links, ${one.all} with 1, of which ${three.counts} reads the download counts`);
    } finally {
      await counting.close();
    }

    // Stopped, it has written them: the page and the API agree.
    const shown = await page(`${base}/v1`);
    assert.deepEqual(countsOn(shown.text), { app: '4 4 downloads', docs: '1 1 download', site: '0 0 downloads' });
    assert.deepEqual(await apiCounts(), { app: 4, docs: 1, site: 0 });
    assert.deepEqual(countsOn((await page(`${base}/v0`)).text), { old: '0 0 downloads' });
  });

  test('an upcoming release is marked as GitLab marks it, on the list and on its page', async () => {
    const created = await server.request('POST', `/api/v4/projects/${publicProject.id}/releases`, { token: ROOT_TOKEN, json: { tag_name: 'v9.0', ref: 'main', released_at: '2099-01-01T00:00:00Z' } });
    assert.equal(created.body.upcoming_release, true);
    const one = await page(`/${publicProject.path_with_namespace}/-/releases/v9.0`);
    assert.match(one.text, /<span class="badge upcoming">Upcoming Release<\/span>/);
    assert.match(one.text, /Will be released <time datetime="2099-01-01T00:00:00.000Z">/);
    const list = await page(`/${publicProject.path_with_namespace}/-/releases`);
    assert.equal([...list.text.matchAll(/Upcoming Release/g)].length, 1);
  });

  test('the tag page shows the tag and its release', async () => {
    const res = await page(`/${publicProject.path_with_namespace}/-/tags/v1.0`);
    assert.equal(res.status, 200);
    assert.match(res.text, /<h1>v1.0<\/h1>/);
    assert.ok(res.text.includes(`href="/${publicProject.path_with_namespace}/-/releases/v1.0"`));
  });

  test('pages keep a strict policy: no inline script or style, only their own files, not framed, not cached', async () => {
    const res = await page(`/${publicProject.path_with_namespace}/-/releases/v1.0`);
    const policy = res.headers.get('content-security-policy')!;
    assert.match(policy, /default-src 'none'/);
    assert.match(policy, /script-src 'self'(;|$)/);
    assert.match(policy, /style-src 'self'(;|$)/);
    assert.match(policy, /form-action 'self'/);
    assert.match(policy, /frame-ancestors 'none'/);
    assert.doesNotMatch(policy, /unsafe-inline|unsafe-eval/);
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('referrer-policy'), 'same-origin');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.doesNotMatch(res.text, /<script>|<style|\son\w+="/, 'no inline script, style or handler');
    const files = [...res.text.matchAll(/(?:src|href)="(\/-\/web\/[^"]+)"/g)].map((m) => m[1]);
    assert.equal(files.length, 2);
    for (const file of files) {
      const asset = await page(file.replace(/&amp;/g, '&'));
      assert.equal(asset.status, 200);
      assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      assert.match(asset.headers.get('content-type')!, file.includes('.css') ? /^text\/css/ : /^text\/javascript/);
    }
  });

  test('misses are one 404: a page for a browser, the JSON error for anyone else; the API keeps its own', async () => {
    const missing = await page('/webgroup/no-such-project/-/releases');
    assert.equal(missing.status, 404);
    assert.match(missing.headers.get('content-type')!, /^text\/html/);
    assert.match(missing.text, /<h1>Page not found<\/h1>/);
    const json = await page('/webgroup/no-such-project/-/releases', {});
    assert.equal(json.status, 404);
    assert.equal(json.text, '{"error":"404 Not Found"}');
    const api = await page('/api/v4/no-such-route');
    assert.equal(api.headers.get('content-type'), 'application/json');
  });
});

describe('private projects', () => {
  const releasePath = () => `/${privateProject.path_with_namespace}/-/releases/secret-1`;
  const pagesOf = (p: { path_with_namespace: string }, tag: string) => [
    `/${p.path_with_namespace}`,
    `/${p.path_with_namespace}/-/releases`,
    `/${p.path_with_namespace}/-/releases/${tag}`,
    `/${p.path_with_namespace}/-/releases/${tag}/edit`,
    `/${p.path_with_namespace}/-/releases/new`,
    `/${p.path_with_namespace}/-/tags/${tag}`,
  ];

  test('are 404 to anonymous visitors and outsiders, byte for byte like a project that does not exist', async () => {
    const stranger = await signIn(server, outsider.username, outsider.password);
    const fake = { path_with_namespace: 'webgroup/no-such-vault' };
    const real = pagesOf(privateProject, 'secret-1');
    const none = pagesOf(fake, 'secret-1');
    for (let i = 0; i < real.length; i++) {
      for (const who of [browser(server), stranger]) {
        const a = await who.get(real[i]);
        const b = await who.get(none[i]);
        assert.equal(a.status, 404, real[i]);
        const strip = (text: string, p: string) => text.replaceAll(encodeURIComponent(p), '').replaceAll(p, '');
        assert.equal(strip(a.text, real[i]), strip(b.text, none[i]), real[i]);
      }
    }
  });

  test('their forms are 404 to outsiders like those of a project that does not exist', async () => {
    const stranger = await signIn(server, outsider.username, outsider.password);
    const token = (await stranger.get('/')).token!;
    for (const [real, fake] of [[`/-/project/${privateProject.id}/releases`, '/-/project/987654321/releases'], [`/-/project/${privateProject.id}/releases/secret-1`, '/-/project/987654321/releases/secret-1'], [`/-/project/${enc(privateProject.path_with_namespace)}/releases`, `/-/project/${enc('webgroup/no-such')}/releases`]]) {
      const a = await stranger.post(real, { authenticity_token: token, tag_name: 'x', ref: 'main', name: 'x' });
      const b = await stranger.post(fake, { authenticity_token: token, tag_name: 'x', ref: 'main', name: 'x' });
      assert.equal(a.status, 404, real);
      assert.equal(a.text, b.text, real);
    }
  });

  test('members see them as the API lets them: a guest reads releases but not the tag (code); only Developers edit', async () => {
    const g = await signIn(server, guest.username, guest.password);
    assert.equal((await g.get(releasePath())).status, 200);
    assert.equal((await g.get(`/${privateProject.path_with_namespace}/-/tags/secret-1`)).status, 404);
    assert.equal((await g.get(`${releasePath()}/edit`)).status, 404);
    assert.equal((await g.get(`/${privateProject.path_with_namespace}/-/releases/new`)).status, 404);
    assert.doesNotMatch((await g.get(releasePath())).text, /Edit release/);
    const d = await signIn(server, developer.username, developer.password);
    assert.match((await d.get(releasePath())).text, /Edit release/);
    assert.match((await d.get(`/${privateProject.path_with_namespace}/-/releases`)).text, /New release/);
  });

  test("a signed-in member downloads a private asset with the session cookie; after sign-out it is a 404", async () => {
    const asset = `${releasePath()}/downloads/payload`;
    const d = await signIn(server, developer.username, developer.password);
    const ok = await d.get(asset);
    assert.equal(ok.status, 302);
    assert.equal(ok.headers.get('location'), 'https://cdn.example.com/payload');
    const latest = await d.get(`/${privateProject.path_with_namespace}/-/releases/permalink/latest/downloads/payload`);
    assert.equal(latest.status, 302);
    const stranger = await signIn(server, outsider.username, outsider.password);
    assert.equal((await stranger.get(asset)).status, 404);
    const home = await d.get('/');
    const out = await d.post('/users/sign_out', { authenticity_token: home.token! });
    assert.equal(out.status, 302);
    assert.equal((await d.get(asset)).status, 404);
    assert.equal((await d.get(releasePath())).status, 404);
  });

  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  /** A file as a browser fetches it: its cookies, any Accept, redirects not followed. */
  const bytesOf = async (p: string, who?: Browser, method = 'GET') => {
    const res = await fetch(server.url + p, { method, headers: { accept: '*/*', ...(who ? { cookie: who.cookieHeader() } : {}) }, redirect: 'manual' });
    return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
  };
  const local = (url: string) => url.replace(server.config.externalUrl, '');
  const signOut = async (who: Browser) => assert.equal((await who.post('/users/sign_out', { authenticity_token: (await who.get('/')).token! })).status, 302);

  test('a hosted package file linked from a release: the direct asset URL leads to it, and the session cookie downloads it; signed out it is a 404', async () => {
    const bytes = randomBytes(150_000);
    const file = `/api/v4/projects/${privateProject.id}/packages/generic/vault-cli/2.0.0/vault-cli-linux.tar.gz`;
    const put = await fetch(server.url + file, { method: 'PUT', headers: { 'private-token': ROOT_TOKEN }, body: bytes });
    assert.equal(put.status, 201, await put.text());
    await createRelease(server, privateProject.id, 'hosted-2.0', [{ name: 'vault-cli (linux)', url: server.config.externalUrl + file, filepath: '/bin/vault-cli-linux.tar.gz', link_type: 'package' }]);
    const direct = `/${privateProject.path_with_namespace}/-/releases/hosted-2.0/downloads/bin/vault-cli-linux.tar.gz`;

    const d = await signIn(server, developer.username, developer.password);
    // The release page links the direct asset URL; relinks sends the browser on to the hosted file.
    assert.ok((await d.get(`/${privateProject.path_with_namespace}/-/releases/hosted-2.0`)).text.includes(`href="${server.config.externalUrl}${direct}"`));
    const hop = await bytesOf(direct, d);
    assert.equal(hop.status, 302);
    assert.equal(local(hop.headers.get('location')!), file);
    const got = await bytesOf(local(hop.headers.get('location')!), d);
    assert.equal(got.status, 200);
    assert.equal(sha(got.bytes), sha(bytes), 'the same bytes, by SHA-256');
    assert.equal(got.headers.get('x-checksum-sha256'), sha(bytes));
    assert.equal(got.headers.get('content-disposition'), 'attachment; filename="vault-cli-linux.tar.gz"');
    const head = await bytesOf(file, d, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(bytes.length));

    // Nobody else's cookie, no cookie, and the API's other routes (a write, the package list) read no cookie.
    const stranger = await signIn(server, outsider.username, outsider.password);
    for (const who of [undefined, stranger]) {
      assert.equal((await bytesOf(file, who)).status, 404);
      assert.equal((await bytesOf(file, who, 'HEAD')).status, 404);
    }
    const write = await fetch(server.url + file.replace('vault-cli-linux', 'by-cookie'), { method: 'PUT', headers: { cookie: d.cookieHeader() }, body: 'x' });
    assert.notEqual(write.status, 201, 'a package write never takes the cookie');
    await write.arrayBuffer();
    assert.equal((await bytesOf(`/api/v4/projects/${privateProject.id}/packages`, d)).status, 404, 'nor does the package list');
    const listed = await server.request('GET', `/api/v4/projects/${privateProject.id}/packages/generic/vault-cli/2.0.0/by-cookie.tar.gz`, { token: ROOT_TOKEN });
    assert.equal(listed.status, 404, 'nothing was stored');

    await signOut(d);
    assert.equal((await bytesOf(direct, d)).status, 404);
    assert.equal((await bytesOf(file, d)).status, 404);
  });

  test("a private project's upload: both its web addresses serve it with the session cookie; without one, or signed out, 404", async () => {
    const bytes = randomBytes(60_000);
    const form = new FormData();
    form.append('file', new Blob([bytes]), 'vault-notes.pdf');
    const up = await fetch(`${server.url}/api/v4/projects/${privateProject.id}/uploads`, { method: 'POST', headers: { 'private-token': ROOT_TOKEN }, body: form });
    assert.equal(up.status, 201);
    const uploaded = (await up.json()) as { url: string; full_path: string };
    const addresses = [uploaded.full_path, `/${privateProject.path_with_namespace}${uploaded.url}`];
    assert.match(addresses[0], /^\/-\/project\/\d+\/uploads\/[0-9a-f]{32}\/vault-notes\.pdf$/);
    const d = await signIn(server, developer.username, developer.password);
    const stranger = await signIn(server, outsider.username, outsider.password);
    for (const p of addresses) {
      const got = await bytesOf(p, d);
      assert.equal(got.status, 200, p);
      assert.equal(sha(got.bytes), sha(bytes), p);
      assert.equal(got.headers.get('content-disposition'), 'attachment; filename="vault-notes.pdf"', p);
      assert.equal((await bytesOf(p)).status, 404, `${p} without a cookie`);
      assert.equal((await bytesOf(p, stranger)).status, 404, `${p} to an outsider`);
    }
    await signOut(d);
    for (const p of addresses) assert.equal((await bytesOf(p, d)).status, 404, `${p} after sign-out`);
  });
});

describe('sign-in and sessions', () => {
  test('by username or email in any case, with the password or a personal access token; cookies HttpOnly and SameSite=Lax', async () => {
    for (const login of [developer.username, `${developer.username}@example.com`, developer.username.toUpperCase()]) {
      const b = browser(server);
      const form = await b.get('/users/sign_in');
      assert.match(form.headers.get('set-cookie')!, /^_relinks_csrf=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/);
      const res = await b.post('/users/sign_in', { authenticity_token: form.token!, login, password: developer.password, redirect_to: `/${privateProject.path_with_namespace}/-/releases` });
      assert.equal(res.status, 302, res.text);
      assert.equal(res.headers.get('location'), `/${privateProject.path_with_namespace}/-/releases`);
      assert.match(res.headers.get('set-cookie')!, /^_relinks_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/);
      const home = await b.get('/');
      assert.match(home.text, /Signed in as <strong>DEV<\/strong>/);
    }
    const token = await createUser(server);
    const tokenUser = await server.request('GET', '/api/v4/user', { token: token.token });
    const withToken = await signIn(server, tokenUser.body.username, token.token);
    assert.match((await withToken.get('/')).text, /Signed in as/);
  });

  test('a wrong password, an unknown user, a token of someone else: "Invalid login or password.", and no session', async () => {
    const other = await createUser(server);
    for (const [login, password] of [[developer.username, 'wrong-password'], ['nobody-here', 'whatever-pass'], [developer.username, other.token], [developer.username, '']]) {
      const b = browser(server);
      const form = await b.get('/users/sign_in');
      const res = await b.post('/users/sign_in', { authenticity_token: form.token!, login, password });
      assert.equal(res.status, 422, login);
      assert.match(res.text, /<div class="alert" role="alert" id="sign-in-error"><p>Invalid login or password.<\/p><\/div>/);
      assert.ok(!b.cookies.has('_relinks_session'));
      assert.ok(res.text.includes(`value="${login}"`), 'the login is kept in the form');
    }
  });

  test('the cookie is Secure when EXTERNAL_URL is https, and scoped to its path', async () => {
    const secure = await startTestServer({ EXTERNAL_URL: 'https://relinks.example/tools/relinks' });
    try {
      const user = await userWithPassword(secure, 'secureuser');
      const b = browser(secure);
      const form = await b.get('/users/sign_in');
      assert.match(form.headers.get('set-cookie')!, /; Path=\/tools\/relinks; HttpOnly; Secure; SameSite=Lax$/);
      assert.match(form.text, /action="\/tools\/relinks\/users\/sign_in"/);
      const res = await b.post('/users/sign_in', { authenticity_token: form.token!, login: user.username, password: user.password, redirect_to: '/tools/relinks/' });
      assert.equal(res.status, 302);
      assert.match(res.headers.get('set-cookie')!, /^_relinks_session=[^;]+; Path=\/tools\/relinks; HttpOnly; Secure; SameSite=Lax$/);
      assert.equal(res.headers.get('location'), '/tools/relinks/');
    } finally {
      await secure.close();
    }
  });

  test('redirect_to only leads within the site', async () => {
    for (const target of ['https://evil.example/', '//evil.example/', '/\\evil.example', 'javascript:alert(1)']) {
      const b = browser(server);
      const form = await b.get('/users/sign_in');
      const res = await b.post('/users/sign_in', { authenticity_token: form.token!, login: developer.username, password: developer.password, redirect_to: target });
      assert.equal(res.headers.get('location'), '/', target);
    }
  });

  test('sessions live in the database: another instance on the same store knows them, and a sign-out ends them there too', async () => {
    const second = await buildApp({ config: server.config, store: server.running.store, logger: false });
    try {
      const d = await signIn(server, developer.username, developer.password);
      const ask = async () => (await second.inject({ method: 'GET', url: `/${privateProject.path_with_namespace}/-/releases/secret-1`, headers: { ...html, cookie: d.cookieHeader() } })).statusCode;
      assert.equal(await ask(), 200);
      const token = (await d.get('/')).token!;
      await d.post('/users/sign_out', { authenticity_token: token });
      // The browser dropped its cookie; one that kept a copy finds the session gone.
      d.cookies.set('_relinks_session', 'x');
      assert.equal(await ask(), 404);
    } finally {
      await second.close();
    }
  });

  test('an old cookie is worth nothing after sign-out; a session opened with a token ends with the token', async () => {
    const d = await signIn(server, developer.username, developer.password);
    const kept = d.cookies.get('_relinks_session')!;
    await d.post('/users/sign_out', { authenticity_token: (await d.get('/')).token! });
    const replay = await page(`/${privateProject.path_with_namespace}/-/releases`, { ...html, cookie: `_relinks_session=${kept}` });
    assert.equal(replay.status, 404);

    const t = await createUser(server);
    await addMember(server, privateProject.id, t.id, 30);
    const me = await server.request('GET', '/api/v4/user', { token: t.token });
    const b = await signIn(server, me.body.username, t.token);
    assert.equal((await b.get(`/${privateProject.path_with_namespace}/-/releases`)).status, 200);
    await server.running.store.db.updateTable('personal_access_tokens').set({ revoked: 1 }).where('user_id', '=', t.id).execute();
    assert.equal((await b.get(`/${privateProject.path_with_namespace}/-/releases`)).status, 404);
  });

  test('the session cookie is no credential for the API, nor a token for the forms', async () => {
    const d = await signIn(server, developer.username, developer.password);
    const api = await server.request('GET', '/api/v4/user', { headers: { cookie: d.cookieHeader() } });
    assert.equal(api.status, 401);
    const apiPost = await server.request('POST', `/api/v4/projects/${privateProject.id}/releases`, { headers: { cookie: d.cookieHeader() }, json: { tag_name: 'via-cookie', ref: 'main' } });
    assert.equal(apiPost.status, 404, 'anonymous to the API: the private project is not found');
    const token = (await server.request('POST', `/api/v4/users/${developer.id}/personal_access_tokens`, { token: ROOT_TOKEN, json: { name: 'x', scopes: ['api'] } })).body.token;
    const viaToken = await server.request('POST', `/-/project/${privateProject.id}/releases`, { token, form: { tag_name: 'via-token', ref: 'main' } });
    assert.equal(viaToken.status, 403, 'a form takes only the browser\'s session');
  });

  test('passwords: 8 to 128 characters, stored as a scrypt digest; an older digest is upgraded at sign-in', async () => {
    const short = await server.request('POST', '/api/v4/users', { token: ROOT_TOKEN, json: { username: 'shorty', email: 'shorty@example.com', name: 'S', password: 'short' } });
    assert.equal(short.status, 400);
    const long = await server.request('POST', '/api/v4/users', { token: ROOT_TOKEN, json: { username: 'longy', email: 'longy@example.com', name: 'L', password: 'x'.repeat(129) } });
    assert.equal(long.status, 400);
    assert.equal(long.text, '{"message":{"password":["is too long (maximum is 128 characters)"]}}');
    const db = server.running.store.db;
    const stored = await db.selectFrom('users').select('password_digest').where('id', '=', developer.id).executeTakeFirstOrThrow();
    assert.match(stored.password_digest!, /^scrypt\$v1\$N=32768,r=8,p=1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    assert.ok(!stored.password_digest!.includes(developer.password));

    const legacy = await userWithPassword(server, 'legacy');
    const salt = randomBytes(16);
    await db.updateTable('users').set({ password_digest: `scrypt$${salt.toString('base64')}$${scryptSync(legacy.password, salt, 32).toString('base64')}` }).where('id', '=', legacy.id).execute();
    await signIn(server, legacy.username, legacy.password);
    const upgraded = await db.selectFrom('users').select('password_digest').where('id', '=', legacy.id).executeTakeFirstOrThrow();
    assert.match(upgraded.password_digest!, /^scrypt\$v1\$N=32768/);
  });

  test('relinks users create --password makes a user who can sign in', async () => {
    const run = promisify(execFile);
    const env = { ...process.env, DATABASE_URL: server.store.databaseUrl, LOG_LEVEL: 'silent' };
    const { stdout } = await run(process.execPath, [path.join(repoRoot, 'bin/relinks.js'), 'users', 'create', '--username', 'clia', '--email', 'clia@example.com', '--password', 'cli-pass-word'], { env });
    assert.equal(JSON.parse(stdout).username, 'clia');
    await signIn(server, 'clia', 'cli-pass-word');
    const bad = await run(process.execPath, [path.join(repoRoot, 'bin/relinks.js'), 'users', 'create', '--username', 'clib', '--email', 'clib@example.com', '--password', 'short'], { env }).catch((e: { code: number; stderr: string }) => e);
    assert.equal((bad as { code: number }).code, 1);
    assert.match((bad as { stderr: string }).stderr, /relinks: \{"message":\{"password":\["is too short \(minimum is 8 characters\)"\]\}\}/);
  });
});

describe('failed sign-ins', () => {
  const attempt = async (login: string, password: string, headers: Record<string, string> = {}) => {
    const b = browser(server);
    const form = await b.get('/users/sign_in', headers);
    return b.post('/users/sign_in', { authenticity_token: form.token!, login, password }, headers);
  };

  test('10 failures lock the account for 10 minutes, even to the right password; a login that names no one locks alike', async () => {
    const victim = await userWithPassword(server, 'lockme');
    const spoof = { 'x-forwarded-for': '203.0.113.10' };
    for (let i = 0; i < 10; i++) assert.equal((await attempt(victim.username, `wrong-${i}-password`, spoof)).status, 422);
    const locked = await attempt(victim.username, victim.password, spoof);
    assert.equal(locked.status, 422);
    assert.match(locked.text, /Your account is locked\./);
    assert.ok(Number(locked.headers.get('retry-after')) > 500);
    // By email, it is the same account.
    assert.match((await attempt(`${victim.username}@example.com`, victim.password)).text, /Your account is locked\./);
    // Others are not touched.
    assert.equal((await attempt(developer.username, developer.password)).status, 302);
    for (let i = 0; i < 10; i++) await attempt('nobody-at-all', `wrong-${i}-password`);
    assert.match((await attempt('nobody-at-all', 'anything-at-all')).text, /Your account is locked\./);
    // Once the lock has passed, the right password works again and resets the count.
    await server.running.store.db.updateTable('sign_in_failures').set({ locked_until: '2000-01-01T00:00:00.000Z' }).where('key', '=', `user:${victim.id}`).execute();
    assert.equal((await attempt(victim.username, victim.password)).status, 302);
  });

  test('one address gets 50 failures in 10 minutes, whatever names it tries: then 429 with Retry-After', async () => {
    // The address as a trusted proxy (loopback) reports it.
    const from = { 'x-forwarded-for': '198.51.100.7' };
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => attempt(`spray-${i}`, 'wrong-password', from)));
    assert.ok(results.every((r) => r.status === 422));
    const over = await attempt(developer.username, developer.password, from);
    assert.equal(over.status, 429);
    assert.ok(Number(over.headers.get('retry-after')) > 0);
    assert.match(over.text, /Too many failed sign-ins/);
    // Another address is unaffected.
    assert.equal((await attempt(developer.username, developer.password, { 'x-forwarded-for': '198.51.100.8' })).status, 302);
  });
});

describe('forms', () => {
  let dev: Browser;
  const base = () => `/${privateProject.path_with_namespace}/-/releases`;

  before(async () => {
    dev = await signIn(server, developer.username, developer.password);
  });

  test('every form needs its authenticity token; a form from another site, a JSON body, a token header are refused', async () => {
    const form = await dev.get(`${base()}/new`);
    const send = (fields: Record<string, string>, headers: Record<string, string> = {}) => dev.post(`/-/project/${privateProject.id}/releases`, fields, headers);
    assert.equal((await send({ tag_name: 'csrf-1', ref: 'main' })).status, 422);
    assert.equal((await send({ authenticity_token: 'forged', tag_name: 'csrf-2', ref: 'main' })).status, 422);
    const anonymousToken = (await browser(server).get('/users/sign_in')).token!;
    assert.equal((await send({ authenticity_token: anonymousToken, tag_name: 'csrf-3', ref: 'main' })).status, 422, 'a token of another browser');
    assert.equal((await send({ authenticity_token: form.token!, tag_name: 'csrf-4', ref: 'main' }, { origin: 'https://evil.example' })).status, 422);
    const json = await fetch(`${server.url}/-/project/${privateProject.id}/releases`, { method: 'POST', headers: { cookie: dev.cookieHeader(), 'content-type': 'application/json' }, body: JSON.stringify({ authenticity_token: form.token, tag_name: 'csrf-5', ref: 'main' }) });
    assert.equal(json.status, 415);
    const rows = await server.running.store.db.selectFrom('releases').select('tag_name').where('tag_name', 'like', 'csrf-%').execute();
    assert.deepEqual(rows, []);
    // Signing out is a form too.
    assert.equal((await dev.post('/users/sign_out', {})).status, 422);
    assert.equal((await dev.get(base())).status, 200, 'still signed in');
  });

  test('new release: two links through the form; errors beside their fields, nothing saved; then created', async () => {
    const form = await dev.get(`${base()}/new`);
    assert.equal(form.status, 200);
    assert.equal([...form.text.matchAll(/<legend>Link \d \(new\)<\/legend>/g)].length, 2, 'two rows for links');
    const fields = {
      authenticity_token: form.token!,
      tag_name: 'web-2.0',
      ref: 'main',
      name: 'Web two',
      released_at: '2024-05-06T07:08',
      description: 'Made **in the browser**',
      'links[0][url]': 'https://example.com/app.zip',
      'links[0][name]': 'app',
      'links[0][direct_asset_path]': '/bin/app',
      'links[0][link_type]': 'package',
      'links[1][url]': 'torrent://example.com/x',
      'links[1][name]': 'app',
      'links[1][direct_asset_path]': 'no-slash',
      'links[1][link_type]': 'other',
    };
    const bad = await dev.post(`/-/project/${privateProject.id}/releases`, fields);
    assert.equal(bad.status, 422);
    assert.match(bad.text, /<input type="text" inputmode="url" name="links\[1\]\[url\]" value="torrent:\/\/example.com\/x" id="links-1-url" aria-invalid="true" aria-describedby="links-1-url-error"\/><p class="field-error" id="links-1-url-error">URL is blocked: Only allowed schemes are http, https, ftp<\/p>/);
    assert.match(bad.text, /id="links-1-name-error">Link title has already been taken</);
    assert.match(bad.text, /id="links-1-direct_asset_path-error">Direct asset path is in an invalid format</);
    assert.match(bad.text, /The release has 3 errors; nothing was saved/);
    assert.ok(bad.text.includes('value="https://example.com/app.zip"'), 'what was typed stays');
    assert.equal((await server.request('GET', `/api/v4/projects/${privateProject.id}/releases/web-2.0`, { token: ROOT_TOKEN })).status, 404);
    assert.equal((await server.request('GET', `/api/v4/projects/${privateProject.id}/repository/tags/web-2.0`, { token: ROOT_TOKEN })).status, 404);

    const more = await dev.post(`/-/project/${privateProject.id}/releases`, { ...fields, add_link: '1' });
    assert.equal(more.status, 200);
    assert.equal([...more.text.matchAll(/<legend>Link \d \(new\)<\/legend>/g)].length, 3, '"Add another link" adds a row');

    const good = await dev.post(`/-/project/${privateProject.id}/releases`, { ...fields, 'links[1][url]': 'https://example.com/notes', 'links[1][name]': 'notes', 'links[1][direct_asset_path]': '' });
    assert.equal(good.status, 302, good.text.slice(0, 400));
    assert.equal(good.headers.get('location'), `${base()}/web-2.0`);
    const made = await server.request('GET', `/api/v4/projects/${privateProject.id}/releases/web-2.0`, { token: ROOT_TOKEN });
    assert.equal(made.body.name, 'Web two');
    assert.equal(made.body.released_at, '2024-05-06T07:08:00.000Z');
    assert.equal(made.body.author.username, developer.username);
    assert.deepEqual(made.body.assets.links.map((l: { name: string; link_type: string }) => [l.name, l.link_type]).sort(), [['app', 'package'], ['notes', 'other']]);
    const audit = await server.request('GET', `/api/v4/projects/${privateProject.id}/audit_events`, { token: ROOT_TOKEN });
    const event = audit.body.find((e: { details: { target_details: string; event_name: string } }) => e.details.event_name === 'release_created' && e.details.target_details === 'web-2.0');
    assert.equal(event.details.token_kind, 'session');
  });

  test('a release that exists, a new tag without ref: GitLab\'s messages beside the tag fields', async () => {
    const form = await dev.get(`${base()}/new`);
    const exists = await dev.post(`/-/project/${privateProject.id}/releases`, { authenticity_token: form.token!, tag_name: 'secret-1' });
    assert.equal(exists.status, 422);
    assert.match(exists.text, /id="tag_name-error">Release already exists</);
    const noRef = await dev.post(`/-/project/${privateProject.id}/releases`, { authenticity_token: form.token!, tag_name: 'brand-new', ref: '' });
    assert.match(noRef.text, /id="ref-error">Ref is not specified</);
  });

  test('edit: name, notes, date, and add, change and remove links in one save; a bad row saves nothing', async () => {
    await createRelease(server, privateProject.id, 'edit-me', [
      { name: 'keep', url: 'https://example.com/keep' },
      { name: 'drop', url: 'https://example.com/drop' },
    ]);
    const form = await dev.get(`${base()}/edit-me/edit`);
    assert.equal(form.status, 200);
    const ids = [...form.text.matchAll(/name="links\[(\d)\]\[id\]" value="(\d+)"/g)].map((m) => [Number(m[1]), m[2]] as const);
    const before = await server.request('GET', `/api/v4/projects/${privateProject.id}/releases/edit-me`, { token: ROOT_TOKEN });
    const idOf = (name: string) => String(before.body.assets.links.find((l: { name: string }) => l.name === name).id);
    const rowOf = (name: string) => ids.find(([, id]) => id === idOf(name))![0];
    const keep = rowOf('keep');
    const drop = rowOf('drop');
    const fields: Array<[string, string]> = [
      ['authenticity_token', form.token!], ['name', 'Edited'], ['description', 'New notes'], ['released_at', '2030-01-01T00:00'],
      [`links[${keep}][id]`, idOf('keep')], [`links[${keep}][name]`, 'kept'], [`links[${keep}][url]`, 'https://example.com/keep'], [`links[${keep}][direct_asset_path]`, '/keep'], [`links[${keep}][link_type]`, 'runbook'],
      [`links[${drop}][id]`, idOf('drop')], [`links[${drop}][name]`, 'drop'], [`links[${drop}][url]`, 'https://example.com/drop'], [`links[${drop}][direct_asset_path]`, ''], [`links[${drop}][link_type]`, 'other'], [`links[${drop}][remove]`, '1'],
      ['links[2][name]', 'added'], ['links[2][url]', 'https://example.com/added'], ['links[2][direct_asset_path]', ''], ['links[2][link_type]', 'image'],
    ];
    const broken = fields.map(([k, v]): [string, string] => (k === 'links[2][url]' ? [k, ''] : [k, v]));
    const refused = await dev.post(`/-/project/${privateProject.id}/releases/edit-me`, broken);
    assert.equal(refused.status, 422);
    assert.match(refused.text, /id="links-2-url-error">URL can't be blank. URL must be a valid URL</);
    assert.deepEqual((await server.request('GET', `/api/v4/projects/${privateProject.id}/releases/edit-me`, { token: ROOT_TOKEN })).body, before.body, 'nothing changed');

    // Sent back as shown (to the minute), the date keeps its seconds.
    const asShown = fields.map(([k, v]): [string, string] => [k, k === 'released_at' ? before.body.released_at.slice(0, 16) : k === 'name' ? 'Renamed only' : v])
      .filter(([k]) => !k.startsWith('links['));
    assert.equal((await dev.post(`/-/project/${privateProject.id}/releases/edit-me`, asShown)).status, 302);
    const renamed = await server.request('GET', `/api/v4/projects/${privateProject.id}/releases/edit-me`, { token: ROOT_TOKEN });
    assert.equal(renamed.body.name, 'Renamed only');
    assert.equal(renamed.body.released_at, before.body.released_at);
    assert.equal(renamed.body.assets.count, 2, 'links left out of the form stay as they are');

    const saved = await dev.post(`/-/project/${privateProject.id}/releases/edit-me`, fields);
    assert.equal(saved.status, 302, saved.text.slice(0, 300));
    const after = await server.request('GET', `/api/v4/projects/${privateProject.id}/releases/edit-me`, { token: ROOT_TOKEN });
    assert.equal(after.body.name, 'Edited');
    assert.equal(after.body.description, 'New notes');
    assert.equal(after.body.released_at, '2030-01-01T00:00:00.000Z');
    assert.equal(after.body.upcoming_release, true);
    const links = after.body.assets.links.map((l: { name: string; link_type: string; direct_asset_url: string }) => [l.name, l.link_type, l.direct_asset_url.endsWith('/downloads/keep')]).sort();
    assert.deepEqual(links, [['added', 'image', false], ['kept', 'runbook', true]]);
    const audit = await server.request('GET', `/api/v4/projects/${privateProject.id}/audit_events`, { token: ROOT_TOKEN });
    const names = audit.body.filter((e: { created_at: string; details: { token_kind: string } }) => e.details.token_kind === 'session').map((e: { details: { event_name: string } }) => e.details.event_name);
    for (const name of ['release_updated', 'release_link_created', 'release_link_updated', 'release_link_deleted']) assert.ok(names.includes(name), name);
  });

  test('only those the API lets change a release get the forms: Reporters, and a protected tag above one\'s role, are 404', async () => {
    const reporter = await userWithPassword(server, 'reporter');
    await addMember(server, privateProject.id, reporter.id, 20);
    const r = await signIn(server, reporter.username, reporter.password);
    const token = (await r.get('/')).token!;
    assert.equal((await r.get(`${base()}/secret-1/edit`)).status, 404);
    assert.equal((await r.post(`/-/project/${privateProject.id}/releases/secret-1`, { authenticity_token: token, name: 'x' })).status, 404);
    assert.equal((await r.post(`/-/project/${privateProject.id}/releases`, { authenticity_token: token, tag_name: 'r-1', ref: 'main' })).status, 404);
    await server.request('POST', `/api/v4/projects/${privateProject.id}/protected_tags`, { token: ROOT_TOKEN, json: { name: 'locked-*', create_access_level: 40 } });
    await createRelease(server, privateProject.id, 'locked-1');
    assert.equal((await dev.get(`${base()}/locked-1/edit`)).status, 404);
    assert.doesNotMatch((await dev.get(`${base()}/locked-1`)).text, /Edit release/);
    const form = await dev.get(`${base()}/new`);
    const refused = await dev.post(`/-/project/${privateProject.id}/releases`, { authenticity_token: form.token!, tag_name: 'locked-2', ref: 'main' });
    assert.equal(refused.status, 422);
    assert.match(refused.text, /id="tag_name-error">Tag name is protected/);
  });
});
