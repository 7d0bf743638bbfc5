import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import pg from 'pg';
import { ROOT_TOKEN, requestTo, startTestServer } from './helpers/server.js';
import { startChildServer, type ChildServer } from './helpers/child-server.js';
import { createTestStore, type TestStore } from './helpers/store.js';
import { cutMultipart, cutUpload } from './helpers/cut-uploads.js';

// Nothing acknowledged is lost and nothing unacknowledged is kept: uploads cut off mid-way leave
// no file and no bytes; an upload answered 201 survives kill -9; content nothing names any more is
// swept; counted downloads survive SIGTERM.

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const stores: TestStore[] = [];
const children: ChildServer[] = [];
after(async () => {
  for (const c of children) await c.kill();
  for (const s of stores) await s.drop();
});

/** Files on disk under the SQLite store's default `files/` folder; the PostgreSQL store keeps none. */
function diskObjects(store: TestStore): string[] {
  if (store.kind !== 'sqlite') return [];
  const root = path.join(path.dirname(store.databaseUrl.slice('sqlite:'.length)), 'files', 'objects');
  if (!fs.existsSync(root)) return [];
  return fs.readdirSync(root).flatMap((d) => fs.readdirSync(path.join(root, d)).map((f) => `${d}/${f}`));
}

async function rows(store: TestStore, sql: string): Promise<number> {
  if (store.kind === 'postgres') {
    const schema = new URL(store.databaseUrl).searchParams.get('schema');
    const client = new pg.Client({ connectionString: store.databaseUrl.replace(/[?&]schema=[^&]*/, ''), options: `-c search_path=${schema}` });
    await client.connect();
    try {
      return Number((await client.query(sql)).rows[0].n);
    } finally {
      await client.end();
    }
  }
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(store.databaseUrl.slice('sqlite:'.length), { readonly: true });
  try {
    return Number((db.prepare(sql).get() as { n: number }).n);
  } finally {
    db.close();
  }
}

/** Bytes of an upload are being written: a `.part` file on disk (SQLite), or a transaction holding blob_chunks (PostgreSQL). */
async function writing(store: TestStore): Promise<boolean> {
  if (store.kind === 'sqlite') return diskObjects(store).some((f) => f.endsWith('.part'));
  const schema = new URL(store.databaseUrl).searchParams.get('schema');
  const locks = await rows(
    store,
    `select count(*) as n from pg_locks l join pg_class c on c.oid = l.relation join pg_namespace s on s.oid = c.relnamespace
     where s.nspname = '${schema}' and c.relname = 'blob_chunks' and l.pid <> pg_backend_pid()`,
  );
  return locks > 0;
}

async function child(env: Record<string, string> = {}, store?: TestStore) {
  const s = store ?? (await createTestStore());
  if (!store) stores.push(s);
  const c = await startChildServer(s.databaseUrl, env);
  children.push(c);
  return { store: s, server: c };
}

/** Until `check` holds (or `ms` passed): the server rolls back once it sees the hang-up. */
async function eventually(check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
}

async function project(base: string) {
  const res = await requestTo(base, 'POST', '/api/v4/projects', { token: ROOT_TOKEN, json: { name: 'durable' } });
  assert.equal(res.status, 201, res.text);
  return res.body.id as number;
}

test('a client that hangs up mid-upload leaves no package, no file and no stored bytes', async () => {
  const server = await startTestServer();
  try {
    const id = await project(server.url);
    assert.ok(await cutUpload(Number(new URL(server.url).port), `/api/v4/projects/${id}/packages/generic/cut/1.0.0/half.bin`, 2_000_000, 600_000, () => writing(server.store)), 'the server was writing the upload');
    // The server notices the hang-up and rolls back.
    await eventually(async () => !(await writing(server.store)));
    assert.equal(await writing(server.store), false, 'the cut upload is still being written');
    const db = server.running.store.db;
    assert.equal((await db.selectFrom('packages').selectAll().execute()).length, 0);
    assert.equal((await db.selectFrom('package_files').selectAll().execute()).length, 0);
    assert.equal((await db.selectFrom('blobs').selectAll().execute()).length, 0);
    assert.equal((await db.selectFrom('blob_chunks').select('seq').execute()).length, 0);
    assert.deepEqual(diskObjects(server.store), []);
    // And the server still works.
    const ok = await fetch(`${server.url}/api/v4/projects/${id}/packages/generic/cut/1.0.0/whole.bin`, { method: 'PUT', headers: { 'private-token': ROOT_TOKEN }, body: 'whole' });
    assert.equal(ok.status, 201);
  } finally {
    await server.close();
  }
});

test('a client that hangs up mid POST /uploads (multipart) leaves no upload, no audit event and no stored bytes', async () => {
  const server = await startTestServer();
  try {
    const id = await project(server.url);
    const port = Number(new URL(server.url).port);
    // Half the file sent, the server writing it: then the hang-up.
    assert.ok(await cutMultipart(port, id, { size: 2_000_000, sent: 700_000 }, () => writing(server.store)), 'the server was writing the upload');
    await eventually(async () => !(await writing(server.store)));
    assert.equal(await writing(server.store), false, 'the cut upload is still being written');
    // Cut inside the file part's own headers, before a byte of the file.
    await cutMultipart(port, id, { size: 2_000_000, headBytes: 40 });
    await new Promise((r) => setTimeout(r, 300));
    const db = server.running.store.db;
    assert.equal((await db.selectFrom('uploads').selectAll().execute()).length, 0);
    assert.equal((await db.selectFrom('audit_events').selectAll().where('event_name', '=', 'upload_created').execute()).length, 0);
    assert.equal((await db.selectFrom('blobs').selectAll().execute()).length, 0);
    assert.equal((await db.selectFrom('blob_chunks').select('seq').execute()).length, 0);
    assert.deepEqual(diskObjects(server.store), []);
    // And the server still takes a whole one.
    const form = new FormData();
    form.append('file', new Blob([Buffer.from('whole')]), 'whole.txt');
    const ok = await fetch(`${server.url}/api/v4/projects/${id}/uploads`, { method: 'POST', headers: { 'private-token': ROOT_TOKEN }, body: form });
    assert.equal(ok.status, 201);
    assert.equal((await db.selectFrom('uploads').selectAll().execute()).length, 1);
  } finally {
    await server.close();
  }
});

test('uploads answered 201 (a package file, a project upload) survive kill -9 and restart with the same bytes; a crash mid-upload leaves only what the sweeper removes', { timeout: 120_000 }, async () => {
  const { store, server } = await child({ BLOB_SWEEP_INTERVAL_SECONDS: '3600' });
  const id = await project(server.url);
  const bytes = randomBytes(3_000_000);
  const put = await fetch(`${server.url}/api/v4/projects/${id}/packages/generic/kept/1.0.0/app.bin`, { method: 'PUT', headers: { 'private-token': ROOT_TOKEN }, body: bytes });
  assert.equal(put.status, 201);
  const uploaded = randomBytes(1_500_000);
  const form = new FormData();
  form.append('file', new Blob([uploaded]), 'notes.bin');
  const post = await fetch(`${server.url}/api/v4/projects/${id}/uploads`, { method: 'POST', headers: { 'private-token': ROOT_TOKEN }, body: form });
  assert.equal(post.status, 201);
  const upload = (await post.json()) as { full_path: string };
  // Killed while two other uploads, one of each kind, are half-way through: their clients stay
  // connected until the server is gone (however long a loaded machine takes to get there), so it
  // is the crash that cuts them.
  const dead = server.exited.then(() => true);
  const cut = cutUpload(server.port, `/api/v4/projects/${id}/packages/generic/cut/1.0.0/half.bin`, 5_000_000, 1_000_000, () => dead, 100_000);
  const cutPost = cutMultipart(server.port, id, { size: 5_000_000, sent: 1_000_000 }, () => dead, 100_000);
  await eventually(() => writing(store), 60_000);
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(await writing(store), 'the server is writing the unfinished uploads when it is killed');
  server.child.kill('SIGKILL');
  await server.exited;
  await Promise.all([cut, cutPost]);
  if (store.kind === 'sqlite') assert.ok(diskObjects(store).some((f) => f.endsWith('.part')), 'the crash left a partial file');

  const again = (await child({ BLOB_SWEEP_INTERVAL_SECONDS: '1', BLOB_SWEEP_GRACE_SECONDS: '0' }, store)).server;
  const res = await fetch(`${again.url}/api/v4/projects/${id}/packages/generic/kept/1.0.0/app.bin`, { headers: { 'private-token': ROOT_TOKEN } });
  assert.equal(res.status, 200);
  assert.equal(sha(Buffer.from(await res.arrayBuffer())), sha(bytes));
  const served = await fetch(again.url + upload.full_path, { headers: { 'private-token': ROOT_TOKEN } });
  assert.equal(served.status, 200);
  assert.equal(sha(Buffer.from(await served.arrayBuffer())), sha(uploaded));
  assert.equal(await rows(store, "select count(*) as n from package_files where file_name = 'half.bin'"), 0);
  assert.equal(await rows(store, 'select count(*) as n from uploads'), 1);
  // The half-written files on disk (`.part`) are swept; the kept ones stay.
  const deadline = Date.now() + 10_000;
  while (diskObjects(store).some((f) => f.endsWith('.part')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  assert.equal(diskObjects(store).length, store.kind === 'sqlite' ? 2 : 0);
  assert.equal(await rows(store, 'select count(*) as n from blobs'), 2);
});

test('content no file names any more is swept, and content still named is not', { timeout: 60_000 }, async () => {
  const { store, server } = await child({ BLOB_SWEEP_INTERVAL_SECONDS: '1', BLOB_SWEEP_GRACE_SECONDS: '0' });
  const id = await project(server.url);
  const put = (name: string, body: string) =>
    fetch(`${server.url}/api/v4/projects/${id}/packages/generic/sweep/1.0.0/${name}?select=package_file`, { method: 'PUT', headers: { 'private-token': ROOT_TOKEN }, body }).then((r) => r.json());
  const gone = await put('gone.txt', 'only here');
  await put('stays.txt', 'named twice');
  await put('stays-too.txt', 'named twice');
  const del = await requestTo(server.url, 'DELETE', `/api/v4/projects/${id}/packages/${gone.package_id}/package_files/${gone.id}`, { token: ROOT_TOKEN });
  assert.equal(del.status, 204);
  const deadline = Date.now() + 10_000;
  while ((await rows(store, 'select count(*) as n from blobs')) > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  assert.equal(await rows(store, 'select count(*) as n from blobs'), 1);
  assert.equal(await rows(store, `select count(*) as n from blobs where sha256 = '${sha(Buffer.from('named twice'))}'`), 1);
  if (store.kind === 'sqlite') assert.equal(diskObjects(store).length, 1);
  else assert.equal(await rows(store, 'select count(distinct location) as n from blob_chunks'), 1);
  const res = await fetch(`${server.url}/api/v4/projects/${id}/packages/generic/sweep/1.0.0/stays.txt`, { headers: { 'private-token': ROOT_TOKEN } });
  assert.equal(await res.text(), 'named twice');
});

test('downloads are counted per link (API and web direct asset URLs) and per package file, and the counts survive SIGTERM', { timeout: 60_000 }, async () => {
  // A long flush interval: only the flush at shutdown can have written them.
  const { store, server } = await child({ DOWNLOAD_COUNT_FLUSH_MS: '3600000' });
  const id = await project(server.url);
  const release = await requestTo(server.url, 'POST', `/api/v4/projects/${id}/releases`, {
    token: ROOT_TOKEN,
    json: { tag_name: 'v1', ref: 'main', assets: { links: [{ name: 'app', url: 'https://example.com/app', direct_asset_path: '/bin/app' }, { name: 'docs', url: 'https://example.com/docs' }] } },
  });
  assert.equal(release.status, 201, release.text);
  const full = release.body._links.self.replace('http://relinks.test/', '').split('/-/releases')[0];
  for (let i = 0; i < 3; i++) assert.equal((await fetch(`${server.url}/api/v4/projects/${id}/releases/v1/downloads/bin/app`, { headers: { 'private-token': ROOT_TOKEN }, redirect: 'manual' })).status, 302);
  assert.equal((await fetch(`${server.url}/${full}/-/releases/v1/downloads/bin/app`, { headers: { 'private-token': ROOT_TOKEN }, redirect: 'manual' })).status, 302);
  const up = await fetch(`${server.url}/api/v4/projects/${id}/packages/generic/counted/1.0.0/f.bin?select=package_file`, { method: 'PUT', headers: { 'private-token': ROOT_TOKEN }, body: 'bytes' }).then((r) => r.json());
  for (let i = 0; i < 2; i++) await fetch(`${server.url}/api/v4/projects/${id}/packages/generic/counted/1.0.0/f.bin`, { headers: { 'private-token': ROOT_TOKEN } }).then((r) => r.arrayBuffer());
  // A HEAD and a resumed range are not new downloads.
  await fetch(`${server.url}/api/v4/projects/${id}/packages/generic/counted/1.0.0/f.bin`, { method: 'HEAD', headers: { 'private-token': ROOT_TOKEN } });
  await fetch(`${server.url}/api/v4/projects/${id}/packages/generic/counted/1.0.0/f.bin`, { headers: { 'private-token': ROOT_TOKEN, range: 'bytes=2-' } }).then((r) => r.arrayBuffer());

  server.child.kill('SIGTERM');
  await server.exited;
  const again = (await child({}, store)).server;
  const links = await requestTo(again.url, 'GET', `/api/v4/projects/${id}/releases/v1/assets/download_counts`, { token: ROOT_TOKEN });
  assert.equal(links.status, 200);
  const byName = Object.fromEntries(links.body.map((c: { name: string; downloads: number }) => [c.name, c.downloads]));
  assert.deepEqual(byName, { app: 4, docs: 0 });
  assert.equal(links.body.find((c: { name: string }) => c.name === 'docs').last_downloaded_at, null);
  const files = await requestTo(again.url, 'GET', `/api/v4/projects/${id}/packages/${up.package_id}/download_counts`, { token: ROOT_TOKEN });
  assert.deepEqual(files.body.map((c: { name: string; downloads: number }) => [c.name, c.downloads]), [['f.bin', 2]]);
  const pkg = await requestTo(again.url, 'GET', `/api/v4/projects/${id}/packages/${up.package_id}`, { token: ROOT_TOKEN });
  assert.ok(pkg.body.last_downloaded_at, 'the package shows when it was last downloaded');
  // GitLab's link JSON is untouched.
  const link = await requestTo(again.url, 'GET', `/api/v4/projects/${id}/releases/v1/assets/links`, { token: ROOT_TOKEN });
  assert.ok(link.body.every((l: object) => !('downloads' in l)));
});
