import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { after, test } from 'node:test';
import { ROOT_TOKEN, requestTo } from './helpers/server.js';
import { startChildServer, type ChildServer } from './helpers/child-server.js';
import { createTestStore, storeKind, type TestStore } from './helpers/store.js';

// No file is ever held whole in memory: a 1 GiB upload and its download raise the server's peak
// RSS (VmHWM, read from /proc) by a bounded amount over what it held before, whatever the size.
// The absolute peak is reported; issue 12's target is 150 MB. With file storage it measured
// 145-152 MB once the server carried web pages and webhooks too; on PostgreSQL's database backend
// 180-204 MB (the pg driver's copies of each 256 KiB chunk wait for the garbage collector).
// docs/files.md states both.

const GIB = 1024 ** 3;
/** What streaming 1 GiB may add to the peak: garbage awaiting collection, never the file. */
const GROWTH_LIMIT_MB = storeKind() === 'postgres' ? 110 : 60;
let store: TestStore;
let server: ChildServer;
after(async () => {
  await server?.kill();
  await store?.drop();
});

const peakRssMb = (pid: number) => Number(/VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

test(`a 1 GiB upload and download add less than ${GROWTH_LIMIT_MB} MB to the server's peak RSS, and the bytes come back the same`, { timeout: 600_000 }, async (t) => {
  store = await createTestStore();
  // Run as `npm start` runs it (package.json): with its young-generation size.
  server = await startChildServer(store.databaseUrl, { LOG_LEVEL: 'info', NODE_OPTIONS: '--max-semi-space-size=8' });
  const project = await requestTo(server.url, 'POST', '/api/v4/projects', { token: ROOT_TOKEN, json: { name: 'big' } });
  const path = `/api/v4/projects/${project.body.id}/packages/generic/big/1.0.0/big.bin`;
  const before = peakRssMb(server.child.pid!);
  const block = randomBytes(1024 * 1024);
  const sent = createHash('sha256');

  const status = await new Promise<number>((resolve, reject) => {
    const req = http.request(`${server.url}${path}`, { method: 'PUT', headers: { 'private-token': ROOT_TOKEN, 'content-length': GIB } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    let i = 0;
    const write = () => {
      while (i < 1024) {
        i++;
        sent.update(block);
        if (!req.write(block)) return void req.once('drain', write);
      }
      req.end();
    };
    write();
  });
  assert.equal(status, 201);
  const afterUpload = peakRssMb(server.child.pid!);

  const received = createHash('sha256');
  let length = 0;
  await new Promise<void>((resolve, reject) => {
    http.get(`${server.url}${path}`, { headers: { 'private-token': ROOT_TOKEN } }, (res) => {
      assert.equal(res.statusCode, 200);
      res.on('data', (c: Buffer) => {
        length += c.length;
        received.update(c);
      });
      res.on('end', resolve);
      res.on('error', reject);
    });
  });
  const afterDownload = peakRssMb(server.child.pid!);
  t.diagnostic(`${store.kind}: peak RSS ${before.toFixed(0)} MB before, ${afterUpload.toFixed(0)} MB after the upload, ${afterDownload.toFixed(0)} MB after the download`);
  assert.equal(length, GIB);
  assert.equal(received.digest('hex'), sent.digest('hex'));
  assert.ok(afterDownload - before < GROWTH_LIMIT_MB, `peak RSS ${before.toFixed(0)} → ${afterDownload.toFixed(0)} MB`);
});
