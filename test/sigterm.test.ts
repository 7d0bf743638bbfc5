import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { ROOT_TOKEN } from './helpers/server.js';
import { createTestStore, type TestStore } from './helpers/store.js';
import { startChildServer, type ChildServer } from './helpers/child-server.js';

// SIGTERM drains: the server stops accepting, finishes the requests it is working on, closes the
// store and exits 0. No request it had begun loses its answer to a reset.

let store: TestStore;
let server: ChildServer | undefined;

before(async () => {
  store = await createTestStore();
});
after(async () => {
  await server?.kill();
  await store.drop();
});

async function setup(s: ChildServer, links = 0) {
  const headers = { 'private-token': ROOT_TOKEN, 'content-type': 'application/json' };
  const project = await (await fetch(`${s.url}/api/v4/projects`, { method: 'POST', headers, body: JSON.stringify({ name: `drain${Date.now()}` }) })).json();
  const assets = { links: Array.from({ length: links }, (_, i) => ({ name: `pre${i}`, url: `https://example.com/pre/${i}` })) };
  const release = await fetch(`${s.url}/api/v4/projects/${project.id}/releases`, { method: 'POST', headers, body: JSON.stringify({ tag_name: 'v1', ref: 'main', assets }) });
  assert.equal(release.status, 201);
  return { projectId: project.id as number, linksPath: `/api/v4/projects/${project.id}/releases/v1/assets/links` };
}

async function linkNames(projectId: number): Promise<Set<string>> {
  const { openStore } = await import('../src/store/db.js');
  const s = openStore({ databaseUrl: store.databaseUrl, poolMax: 1 });
  try {
    const rows = await s.db
      .selectFrom('release_links as l')
      .innerJoin('releases as r', 'r.id', 'l.release_id')
      .select('l.name')
      .where('r.project_id', '=', projectId)
      .execute();
    return new Set(rows.map((r) => r.name));
  } finally {
    await s.close();
  }
}

test('requests whose bodies are still arriving when SIGTERM comes are answered in full', { timeout: 60_000 }, async () => {
  server = await startChildServer(store.databaseUrl);
  const { projectId, linksPath } = await setup(server);
  const port = server.port;

  // Each request sends its headers and half its body, so the server has begun it for certain.
  const requests = Array.from({ length: 8 }, (_, i) => {
    const body = JSON.stringify({ name: `slow${i}`, url: `https://example.com/slow/${i}` });
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    const done = new Promise<{ data: string; error?: string }>((resolve) => {
      socket.on('data', (d) => (data += d));
      socket.on('close', () => resolve({ data }));
      socket.on('error', (e) => resolve({ data, error: e.message }));
    });
    socket.write(
      `POST ${linksPath} HTTP/1.1\r\nHost: x\r\nprivate-token: ${ROOT_TOKEN}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n` +
        body.slice(0, 10),
    );
    return { socket, rest: body.slice(10), done };
  });
  await new Promise((r) => setTimeout(r, 500));
  server.child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300));
  // The listener is closed by now: new connections are refused.
  await assert.rejects(fetch(`${server.url}/-/liveness`));
  for (const r of requests) r.socket.write(r.rest);

  const results = await Promise.all(requests.map((r) => r.done));
  for (const [i, r] of results.entries()) {
    assert.equal(r.error, undefined, `request ${i}: ${r.error}`);
    assert.match(r.data, /^HTTP\/1\.1 201 Created\r\n/, `request ${i}: ${r.data.slice(0, 200)}`);
    const body = r.data.slice(r.data.indexOf('\r\n\r\n') + 4);
    assert.equal(JSON.parse(body).name, `slow${i}`);
  }
  assert.equal(await server.exited, 0, server.output());
  assert.deepEqual([...(await linkNames(projectId))].filter((n) => n.startsWith('slow')).sort(), results.map((_, i) => `slow${i}`).sort());
  server = undefined;
});

test('under load: every request the server took is answered whole; exit 0', { timeout: 60_000 }, async () => {
  server = await startChildServer(store.databaseUrl);
  const { projectId, linksPath } = await setup(server, 300);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const outcomes: Array<{ kind: 'create' | 'list'; name?: string; status?: number; error?: string; complete: boolean }> = [];
  let acked = 0;
  const send = (method: string, path: string, body?: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: server!.port, method, path, agent, headers: { 'private-token': ROOT_TOKEN, ...(body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}) } },
        (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode!, text }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  let stop = false;
  const worker = async (w: number) => {
    for (let i = 0; !stop; i++) {
      const list = i % 4 === 3;
      const name = `load-${w}-${i}`;
      try {
        const res = list
          ? await send('GET', `${linksPath}?per_page=100`)
          : await send('POST', linksPath, JSON.stringify({ name, url: `https://example.com/load/${w}/${i}` }));
        let complete = true;
        try {
          JSON.parse(res.text);
        } catch {
          complete = false;
        }
        outcomes.push({ kind: list ? 'list' : 'create', name, status: res.status, complete });
        if (res.status === 201) acked++;
        if (res.status === 503) return; // the server said it is going away
      } catch (error) {
        outcomes.push({ kind: list ? 'list' : 'create', name, error: (error as Error).message, complete: false });
        return;
      }
    }
  };
  const workers = Array.from({ length: 16 }, (_, w) => worker(w));
  while (acked < 60) await new Promise((r) => setTimeout(r, 5));
  server.child.kill('SIGTERM');
  const code = await server.exited;
  stop = true;
  await Promise.all(workers);
  agent.destroy();

  assert.equal(code, 0, server.output());
  const stored = await linkNames(projectId);
  const answered = outcomes.filter((o) => o.status !== undefined);
  // Every answer that came is a whole JSON body: 200/201 for work done, 503 for work refused.
  for (const o of answered) {
    assert.ok(o.complete, `truncated answer: ${JSON.stringify(o)}`);
    assert.ok([200, 201, 503].includes(o.status!), JSON.stringify(o));
  }
  // A create the server committed always got its 201; one that failed at the network level was
  // never taken up (it is not in the store), so no request the server worked on was reset.
  for (const o of outcomes.filter((x) => x.kind === 'create')) {
    if (o.status === 201) assert.ok(stored.has(o.name!), `acknowledged but missing: ${o.name}`);
    else assert.ok(!stored.has(o.name!), `stored without its 201 (${o.status ?? o.error}): ${o.name}`);
  }
  for (const name of stored) {
    if (name.startsWith('load-')) assert.ok(outcomes.some((o) => o.name === name && o.status === 201), `stored, never acknowledged: ${name}`);
  }
  assert.ok(outcomes.filter((o) => o.status === 201).length >= 60);
  server = undefined;
});
