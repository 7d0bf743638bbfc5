import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, ROOT_TOKEN, type Response, type TestServer } from './helpers/server.js';
import { createProject, createRelease } from './helpers/fixtures.js';

// shared/gitlab-behavior.md §7 on every list: links, releases, tags (and protected tags).

const EXTERNAL = 'http://relinks.test';
let server: TestServer;
let projectId: number;

interface PageHeaders {
  page: string;
  perPage: string;
  next: string;
  prev: string;
  total: string;
  totalPages: string;
}

function headersOf(res: Response): PageHeaders {
  const h = (name: string) => {
    const value = res.headers.get(name);
    assert.notEqual(value, null, `header ${name} missing`);
    return value!;
  };
  return { page: h('x-page'), perPage: h('x-per-page'), next: h('x-next-page'), prev: h('x-prev-page'), total: h('x-total'), totalPages: h('x-total-pages') };
}

/** The Link header as rel → URL, checking its exact syntax on the way. */
function linksOf(res: Response): Map<string, URL> {
  const header = res.headers.get('link');
  assert.ok(header, 'Link header missing');
  const map = new Map<string, URL>();
  for (const part of header.split(', ')) {
    const m = /^<([^>]+)>; rel="(prev|next|first|last)"$/.exec(part);
    assert.ok(m, `bad Link entry ${part}`);
    assert.ok(!map.has(m[2]), `duplicate rel ${m[2]}`);
    map.set(m[2], new URL(m[1]));
  }
  return map;
}

/** Turns a Link URL (built on EXTERNAL_URL) into a path on the test server. */
function follow(url: URL): string {
  assert.equal(url.origin, EXTERNAL);
  return url.pathname + url.search;
}

async function get(path: string) {
  const res = await server.request('GET', path, { token: ROOT_TOKEN });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.headers.get('content-type'), 'application/json');
  return res;
}

/** The rels present, in header order: prev, next, first, last. */
const rels = (res: Response) => [...linksOf(res).keys()];

async function makeRelease(tag: string, linkCount: number) {
  await createRelease(server, projectId, tag);
  const base = `/api/v4/projects/${projectId}/releases/${tag}/assets/links`;
  for (let i = 0; i < linkCount; i++) {
    const res = await server.request('POST', base, { token: ROOT_TOKEN, json: { name: `l${i}`, url: `https://example.com/${tag}/${i}` } });
    assert.equal(res.status, 201, res.text);
  }
  return base;
}

let links7: string;

before(async () => {
  server = await startTestServer({ EXTERNAL_URL: EXTERNAL });
  projectId = (await createProject(server, 'pages')).id;
  links7 = await makeRelease('seven', 7);
});
after(async () => server.close());

describe('headers', () => {
  test('defaults: page 1, per_page 20, every header present, next/prev empty when there is none', async () => {
    const res = await get(links7);
    assert.equal(res.body.length, 7);
    assert.deepEqual(headersOf(res), { page: '1', perPage: '20', next: '', prev: '', total: '7', totalPages: '1' });
    assert.deepEqual(rels(res), ['first', 'last']);
  });

  test('a middle page has both neighbours, in the order prev, next, first, last', async () => {
    const res = await get(`${links7}?per_page=2&page=2`);
    assert.equal(res.body.length, 2);
    assert.deepEqual(headersOf(res), { page: '2', perPage: '2', next: '3', prev: '1', total: '7', totalPages: '4' });
    assert.deepEqual(rels(res), ['prev', 'next', 'first', 'last']);
    const l = linksOf(res);
    for (const [rel, page] of [['prev', '1'], ['next', '3'], ['first', '1'], ['last', '4']] as const) {
      const url = l.get(rel)!;
      assert.equal(url.origin + url.pathname, `${EXTERNAL}${links7}`, rel);
      assert.equal(url.searchParams.get('page'), page, rel);
      assert.equal(url.searchParams.get('per_page'), '2', rel);
    }
  });

  test('the first page has no prev, the last no next', async () => {
    const first = await get(`${links7}?per_page=3`);
    assert.deepEqual(headersOf(first), { page: '1', perPage: '3', next: '2', prev: '', total: '7', totalPages: '3' });
    assert.deepEqual(rels(first), ['next', 'first', 'last']);
    const last = await get(`${links7}?per_page=3&page=3`);
    assert.equal(last.body.length, 1);
    assert.deepEqual(headersOf(last), { page: '3', perPage: '3', next: '', prev: '2', total: '7', totalPages: '3' });
    assert.deepEqual(rels(last), ['prev', 'first', 'last']);
  });

  test('the exact Link header text', async () => {
    const res = await get(`${links7}?page=2&per_page=3`);
    const base = `${EXTERNAL}${links7}`;
    assert.equal(
      res.headers.get('link'),
      `<${base}?page=1&per_page=3>; rel="prev", <${base}?page=3&per_page=3>; rel="next", <${base}?page=1&per_page=3>; rel="first", <${base}?page=3&per_page=3>; rel="last"`,
    );
  });

  test('an empty list: total 0, total pages 1, Link to page 1', async () => {
    const base = await makeRelease('empty', 0);
    const res = await get(base);
    assert.deepEqual(res.body, []);
    assert.deepEqual(headersOf(res), { page: '1', perPage: '20', next: '', prev: '', total: '0', totalPages: '1' });
    const l = linksOf(res);
    assert.deepEqual([...l.keys()], ['first', 'last']);
    assert.equal(l.get('last')!.searchParams.get('page'), '1');
  });

  test('a page past the end is [] with the headers', async () => {
    const res = await get(`${links7}?per_page=3&page=9`);
    assert.deepEqual(res.body, []);
    assert.deepEqual(headersOf(res), { page: '9', perPage: '3', next: '', prev: '', total: '7', totalPages: '3' });
    const l = linksOf(res);
    assert.deepEqual([...l.keys()], ['first', 'last']);
    assert.equal(l.get('last')!.searchParams.get('page'), '3');
  });

  test('page ≤ 0 counts as 1', async () => {
    const one = await get(`${links7}?per_page=2`);
    for (const page of ['0', '-1', '-100']) {
      const res = await get(`${links7}?per_page=2&page=${page}`);
      assert.deepEqual(res.body, one.body, page);
      assert.deepEqual(headersOf(res), { page: '1', perPage: '2', next: '2', prev: '', total: '7', totalPages: '4' }, page);
      assert.equal(linksOf(res).get('next')!.searchParams.get('page'), '2');
    }
  });

  test('a blank page or per_page is no parameter at all (Grape reads "" as nil for an Integer)', async () => {
    const defaults = await get(links7);
    for (const query of ['?page=', '?per_page=', '?page=&per_page=', '?private_token=&page=']) {
      const res = await get(`${links7}${query}`);
      assert.deepEqual(res.body, defaults.body, query);
      assert.deepEqual(headersOf(res), { page: '1', perPage: '20', next: '', prev: '', total: '7', totalPages: '1' }, query);
    }
    const mixed = await get(`${links7}?per_page=3&page=`);
    assert.deepEqual(headersOf(mixed), { page: '1', perPage: '3', next: '2', prev: '', total: '7', totalPages: '3' });
    const other = await get(`${links7}?page=2&per_page=`);
    assert.deepEqual(headersOf(other), { page: '2', perPage: '20', next: '', prev: '', total: '7', totalPages: '1' });
    // Every list takes them the same way.
    for (const list of [`/api/v4/projects/${projectId}/releases`, `/api/v4/projects/${projectId}/repository/tags`, `/api/v4/projects/${projectId}/protected_tags`]) {
      const res = await get(`${list}?page=&per_page=`);
      assert.equal(res.headers.get('x-page'), '1', list);
      assert.equal(res.headers.get('x-per-page'), '20', list);
    }
  });

  test('a whitespace-only page or per_page is invalid, not 0 (Ruby\'s Integer(" ") fails)', async () => {
    for (const [query, name] of [['page=%20', 'page'], ['per_page=%20%20', 'per_page'], ['page=%09', 'page'], ['per_page=%C2%A0', 'per_page']]) {
      const res = await server.request('GET', `${links7}?${query}`, { token: ROOT_TOKEN });
      assert.equal(res.status, 400, `${query}: ${res.text}`);
      assert.deepEqual(res.body, { error: `${name} is invalid` }, query);
    }
  });

  test('per_page is capped at 100', async () => {
    const base = await makeRelease('many', 0);
    // 105 links in one request, through the release's inline links, then 1 more by the API.
    const many = `/api/v4/projects/${projectId}/releases`;
    const inline = Array.from({ length: 105 }, (_, i) => ({ name: `m${i}`, url: `https://example.com/m/${i}` }));
    const created = await server.request('POST', many, { token: ROOT_TOKEN, json: { tag_name: 'many-inline', ref: 'main', assets: { links: inline } } });
    assert.equal(created.status, 201, created.text);
    const links = `/api/v4/projects/${projectId}/releases/many-inline/assets/links`;
    for (const perPage of ['101', '500', '100']) {
      const res = await get(`${links}?per_page=${perPage}`);
      assert.equal(res.body.length, 100, perPage);
      assert.deepEqual(headersOf(res), { page: '1', perPage: '100', next: '2', prev: '', total: '105', totalPages: '2' }, perPage);
      assert.equal(linksOf(res).get('next')!.searchParams.get('per_page'), '100');
    }
    const second = await get(`${links}?per_page=500&page=2`);
    assert.equal(second.body.length, 5);
    assert.deepEqual((await get(base)).body, []);
  });

  test('Link keeps the request\'s other query parameters, replaces page and per_page, and never repeats a token', async () => {
    const res = await server.request('GET', `${links7}?foo=bar&per_page=2&page=2&sort=desc&private_token=${ROOT_TOKEN}`);
    assert.equal(res.status, 200, res.text);
    for (const [rel, url] of linksOf(res)) {
      assert.equal(url.searchParams.get('foo'), 'bar', rel);
      assert.equal(url.searchParams.get('sort'), 'desc', rel);
      assert.deepEqual(url.searchParams.getAll('page').length, 1, rel);
      assert.deepEqual(url.searchParams.getAll('per_page'), ['2'], rel);
      // Ours: a token sent as a parameter is not copied into URLs that clients log and share.
      assert.equal(url.searchParams.get('private_token'), null, rel);
    }
  });

  test('Link is built on EXTERNAL_URL, whatever Host the request came with', async () => {
    const res = await server.request('GET', `${links7}?per_page=2`, { token: ROOT_TOKEN, headers: { host: 'evil.example:1234', 'x-forwarded-host': 'evil.example' } });
    assert.equal(res.status, 200, res.text);
    for (const url of linksOf(res).values()) assert.equal(url.origin, EXTERNAL);
  });

  test('EXTERNAL_URL with a path prefix stays in the Link URLs', async () => {
    const prefixed = await startTestServer({ EXTERNAL_URL: 'https://example.org/gitlab/' });
    try {
      const p = (await createProject(prefixed, 'pre')).id;
      await createRelease(prefixed, p, 'v1');
      const res = await prefixed.request('GET', `/api/v4/projects/${p}/releases/v1/assets/links`, { token: ROOT_TOKEN });
      const first = linksOf(res).get('first')!;
      assert.equal(first.href, `https://example.org/gitlab/api/v4/projects/${p}/releases/v1/assets/links?page=1&per_page=20`);
    } finally {
      await prefixed.close();
    }
  });
});

describe('order and walking', () => {
  test('links: newest first, ties in creation time broken by id (links created within one millisecond)', async () => {
    // A release's inline links are written in one transaction with one timestamp.
    const inline = Array.from({ length: 12 }, (_, i) => ({ name: `same-${i}`, url: `https://example.com/same/${i}` }));
    const res = await server.request('POST', `/api/v4/projects/${projectId}/releases`, { token: ROOT_TOKEN, json: { tag_name: 'same-ms', ref: 'main', assets: { links: inline } } });
    assert.equal(res.status, 201, res.text);
    const rows = await server.running.store.db.selectFrom('release_links as l').innerJoin('releases as r', 'r.id', 'l.release_id').select(['l.id', 'l.created_at']).where('r.tag_name', '=', 'same-ms').execute();
    assert.equal(new Set(rows.map((r) => r.created_at)).size, 1, 'all links share one created_at');
    const base = `/api/v4/projects/${projectId}/releases/same-ms/assets/links`;
    const one = await get(`${base}?per_page=100`);
    const ids = one.body.map((l: { id: number }) => l.id);
    assert.deepEqual(ids, [...ids].sort((a: number, b: number) => b - a));
    // Later ones (more recent by time) come before: add one now.
    await new Promise((r) => setTimeout(r, 5));
    const newer = await server.request('POST', base, { token: ROOT_TOKEN, json: { name: 'newest', url: 'https://example.com/newest' } });
    const again = await get(`${base}?per_page=100`);
    assert.equal(again.body[0].id, newer.body.id);
  });

  test('links: walking the Link next pages visits every item exactly once, for every page size', async () => {
    const base = await makeRelease('walk', 0);
    // Concurrent creates: several may land in the same millisecond.
    const created = await Promise.all(
      Array.from({ length: 23 }, (_, i) => server.request('POST', base, { token: ROOT_TOKEN, json: { name: `w${i}`, url: `https://example.com/w/${i}` } })),
    );
    for (const c of created) assert.equal(c.status, 201, c.text);
    const all = (await get(`${base}?per_page=100`)).body.map((l: { id: number }) => l.id);
    assert.equal(all.length, 23);
    for (const perPage of [1, 2, 3, 5, 7, 22, 23, 24]) {
      const seen: number[] = [];
      let path: string | undefined = `${base}?per_page=${perPage}`;
      let pages = 0;
      while (path) {
        const res = await get(path);
        pages++;
        const h = headersOf(res);
        assert.equal(h.total, '23');
        assert.equal(h.totalPages, String(Math.ceil(23 / perPage)));
        seen.push(...res.body.map((l: { id: number }) => l.id));
        const next = linksOf(res).get('next');
        assert.equal(h.next === '', next === undefined);
        path = next ? follow(next) : undefined;
      }
      assert.equal(pages, Math.ceil(23 / perPage), `per_page ${perPage}`);
      assert.deepEqual(seen, all, `per_page ${perPage}`);
    }
  });

  test('releases: newest released_at first, ties by id; headers and Link walk', async () => {
    const p = (await createProject(server, 'rel-order')).id;
    const at = '2024-01-01T00:00:00.000Z';
    const tags: string[] = [];
    for (let i = 0; i < 5; i++) {
      const tag = `same-${i}`;
      tags.push(tag);
      const res = await server.request('POST', `/api/v4/projects/${p}/releases`, { token: ROOT_TOKEN, json: { tag_name: tag, ref: 'main', released_at: at } });
      assert.equal(res.status, 201, res.text);
    }
    for (const [tag, when] of [['older', '2023-01-01T00:00:00Z'], ['newer', '2025-06-01T12:00:00Z']]) {
      const res = await server.request('POST', `/api/v4/projects/${p}/releases`, { token: ROOT_TOKEN, json: { tag_name: tag, ref: 'main', released_at: when } });
      assert.equal(res.status, 201, res.text);
    }
    const expected = ['newer', ...[...tags].reverse(), 'older'];
    const full = await get(`/api/v4/projects/${p}/releases`);
    assert.deepEqual(full.body.map((r: { tag_name: string }) => r.tag_name), expected);
    assert.deepEqual(headersOf(full), { page: '1', perPage: '20', next: '', prev: '', total: '7', totalPages: '1' });
    const seen: string[] = [];
    let path: string | undefined = `/api/v4/projects/${p}/releases?per_page=2`;
    while (path) {
      const res = await get(path);
      seen.push(...res.body.map((r: { tag_name: string }) => r.tag_name));
      const next = linksOf(res).get('next');
      path = next ? follow(next) : undefined;
    }
    assert.deepEqual(seen, expected);
    const mid = await get(`/api/v4/projects/${p}/releases?per_page=3&page=2`);
    assert.deepEqual(headersOf(mid), { page: '2', perPage: '3', next: '3', prev: '1', total: '7', totalPages: '3' });
    const past = await get(`/api/v4/projects/${p}/releases?per_page=3&page=4`);
    assert.deepEqual(past.body, []);
    assert.deepEqual(headersOf(past), { page: '4', perPage: '3', next: '', prev: '', total: '7', totalPages: '3' });
  });

  test('tags: newest first with a total order; headers and Link walk', async () => {
    const p = (await createProject(server, 'tag-order')).id;
    const names: string[] = [];
    await Promise.all(
      Array.from({ length: 9 }, async (_, i) => {
        const res = await server.request('POST', `/api/v4/projects/${p}/repository/tags`, { token: ROOT_TOKEN, json: { tag_name: `t${i}`, ref: 'main' } });
        assert.equal(res.status, 201, res.text);
        names.push(`t${i}`);
      }),
    );
    const full = await get(`/api/v4/projects/${p}/repository/tags?per_page=100`);
    assert.equal(full.body.length, 9);
    const order = full.body.map((t: { name: string }) => t.name);
    assert.deepEqual([...order].sort(), [...names].sort());
    const times = full.body.map((t: { created_at: string }) => t.created_at);
    assert.deepEqual(times, [...times].sort().reverse(), 'newest first');
    const seen: string[] = [];
    let path: string | undefined = `/api/v4/projects/${p}/repository/tags?per_page=4`;
    while (path) {
      const res = await get(path);
      seen.push(...res.body.map((t: { name: string }) => t.name));
      const next = linksOf(res).get('next');
      path = next ? follow(next) : undefined;
    }
    assert.deepEqual(seen, order);
    const h = headersOf(await get(`/api/v4/projects/${p}/repository/tags?per_page=4&page=3`));
    assert.deepEqual(h, { page: '3', perPage: '4', next: '', prev: '2', total: '9', totalPages: '3' });
    // Repeating the request gives the same order: the order is total.
    assert.deepEqual((await get(`/api/v4/projects/${p}/repository/tags?per_page=100`)).body.map((t: { name: string }) => t.name), order);
  });

  test('protected tags are paginated the same way', async () => {
    const p = (await createProject(server, 'prot-pages')).id;
    for (let i = 0; i < 3; i++) {
      const res = await server.request('POST', `/api/v4/projects/${p}/protected_tags`, { token: ROOT_TOKEN, json: { name: `p${i}-*` } });
      assert.equal(res.status, 201, res.text);
    }
    const res = await get(`/api/v4/projects/${p}/protected_tags?per_page=2`);
    assert.equal(res.body.length, 2);
    assert.deepEqual(headersOf(res), { page: '1', perPage: '2', next: '2', prev: '', total: '3', totalPages: '2' });
    assert.deepEqual(rels(res), ['next', 'first', 'last']);
  });

  test('the same links appear in the release\'s assets.links, in the same order as the links API', async () => {
    const release = await get(`/api/v4/projects/${projectId}/releases/seven`);
    const links = await get(`${links7}?per_page=100`);
    assert.deepEqual(release.body.assets.links, links.body);
  });
});
