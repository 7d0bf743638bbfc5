import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { CreateMultipartUploadCommand, PutObjectCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { ConfigError } from '../src/config.js';
import { backendFor, openContent, openFiles, storeContent } from '../src/services/files.js';
import type { ByteRange } from '../src/store/blobs/backend.js';
import { PART_SIZE, S3StorageError, s3Backend, s3Settings } from '../src/store/blobs/s3.js';
import { startS3ForRelinks, startS3Server, type S3TestServer } from './helpers/s3-server.js';
import { ROOT_TOKEN, startTestServer } from './helpers/server.js';

// The S3 backend against the S3-protocol server in helpers/s3-server.ts: what these tests prove is
// that the backend speaks the protocol as that server implements it (see docs/storage-s3.md).

const MiB = 1024 * 1024;
// The SDK warns once per process that its releases from 2027 on need Node 22 (docs/storage-s3.md).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
let s3: S3TestServer;
before(async () => {
  // Pages of 2 make every listing the backend does (objects, uploads, parts) span several pages.
  s3 = await startS3Server({ buckets: ['relinks'], pageSize: 2 });
});
after(async () => s3.close());

const urlFor = (prefix: string, extra = '') => `s3://relinks/${prefix}?endpoint=${encodeURIComponent(s3.endpoint)}&region=us-east-1&force_path_style=true${extra}`;
const backendAt = (prefix: string, env: NodeJS.ProcessEnv = s3.credentials()) => s3Backend(urlFor(prefix), env);

/** The byte at `position` of a test content: varies with position, so a shifted range shows. */
const byteAt = (position: number, seed: number) => (position * 31 + Math.floor(position / 4093) + seed) & 0xff;

/** `size` bytes of test content, in pieces of uneven sizes as a request body arrives. */
async function* content(size: number, seed = 0): AsyncGenerator<Buffer> {
  const sizes = [1, 1000, 65_536, 300_001, 7];
  for (let at = 0, i = 0; at < size; i++) {
    const piece = Buffer.allocUnsafe(Math.min(sizes[i % sizes.length], size - at));
    for (let j = 0; j < piece.length; j++) piece[j] = byteAt(at + j, seed);
    at += piece.length;
    yield piece;
  }
}

async function sha256Of(source: AsyncIterable<Buffer>): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of source) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest('hex'), size };
}

async function readBytes(backend: ReturnType<typeof s3Backend>, location: string, range?: ByteRange): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of backend.read(location, range)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

const expected = (start: number, end: number, seed: number) => Buffer.from(Array.from({ length: end - start + 1 }, (_, i) => byteAt(start + i, seed)));
const callsSince = (mark: number) => s3.calls.slice(mark);
const keysUnder = async (prefix: string) => (await s3.keys('relinks')).filter((k) => k.startsWith(prefix));
const uploadsUnder = async (prefix: string) => (await s3.pendingUploads('relinks')).filter((u) => u.key.startsWith(prefix));

describe('writing and reading', () => {
  let backend: ReturnType<typeof s3Backend>;
  before(() => {
    backend = backendAt('rw');
  });
  after(async () => backend.close?.());

  test('content smaller than a part goes up in one PutObject and reads back whole, by its first byte and by its last', async () => {
    const size = 3 * MiB + 5;
    const mark = s3.calls.length;
    const location = await backend.write(content(size, 1));
    assert.match(location, /^[0-9a-f]{2}\/[0-9a-f-]{36}$/);
    assert.equal(location.slice(0, 2), location.slice(3, 5));
    assert.deepEqual(callsSince(mark).map((c) => c.operation), ['PutObject']);
    assert.deepEqual(await keysUnder('rw/'), [`rw/objects/${location}`]);

    assert.deepEqual(await sha256Of(backend.read(location)), await sha256Of(content(size, 1)));
    assert.deepEqual(await readBytes(backend, location, { start: 0, end: 0 }), expected(0, 0, 1));
    assert.deepEqual(await readBytes(backend, location, { start: size - 1, end: size - 1 }), expected(size - 1, size - 1, 1));
    assert.deepEqual(await readBytes(backend, location, { start: 1000, end: 70_000 }), expected(1000, 70_000, 1));
    const ranges = callsSince(mark).filter((c) => c.operation === 'GetObject').map((c) => c.range);
    assert.deepEqual(ranges, [undefined, 'bytes=0-0', `bytes=${size - 1}-${size - 1}`, 'bytes=1000-70000']);
  });

  test('20 MiB goes up as a multipart upload of 5 MiB parts and reads back across the part boundaries', async () => {
    const size = 20 * MiB + 12_345;
    const mark = s3.calls.length;
    const location = await backend.write(content(size, 2));
    const calls = callsSince(mark);
    assert.equal(PART_SIZE, 5 * MiB);
    assert.deepEqual(calls.map((c) => c.operation), ['CreateMultipartUpload', 'UploadPart', 'UploadPart', 'UploadPart', 'UploadPart', 'UploadPart', 'CompleteMultipartUpload']);
    assert.deepEqual(calls.filter((c) => c.operation === 'UploadPart').map((c) => [c.partNumber, c.size]), [[1, 5 * MiB], [2, 5 * MiB], [3, 5 * MiB], [4, 5 * MiB], [5, 12_345]]);
    assert.ok(calls.every((c) => c.status === 200));
    assert.deepEqual(await uploadsUnder('rw/'), []);

    assert.deepEqual(await sha256Of(backend.read(location)), await sha256Of(content(size, 2)));
    const boundary = PART_SIZE;
    for (const range of [
      { start: boundary - 2, end: boundary + 1 },
      { start: boundary - 1, end: 2 * boundary },
      { start: 0, end: 0 },
      { start: size - 1, end: size - 1 },
      { start: 4 * boundary, end: size - 1 },
    ]) {
      assert.deepEqual(await readBytes(backend, location, range), expected(range.start, range.end, 2), `bytes ${range.start}-${range.end}`);
    }
  });

  test('each body carries a CRC32 the server checks; AWS_REQUEST_CHECKSUM_CALCULATION=when_required leaves it off for stores that refuse it', async () => {
    let mark = s3.calls.length;
    await backend.write(content(6 * MiB, 12));
    await backend.write(content(10, 12));
    const sent = (calls: typeof s3.calls) => calls.filter((c) => c.operation === 'UploadPart' || c.operation === 'PutObject');
    assert.equal(sent(callsSince(mark)).length, 3);
    assert.ok(sent(callsSince(mark)).every((c) => c.crc32Checked));

    // The SDK reads its own settings from the environment when its client is made (at first use).
    process.env.AWS_REQUEST_CHECKSUM_CALCULATION = 'when_required';
    const plain = backendAt('rw');
    try {
      mark = s3.calls.length;
      const location = await plain.write(content(6 * MiB, 13));
      await plain.write(content(10, 13));
      assert.equal(sent(callsSince(mark)).length, 3);
      assert.ok(sent(callsSince(mark)).every((c) => !c.crc32Checked));
      assert.deepEqual(await sha256Of(plain.read(location)), await sha256Of(content(6 * MiB, 13)));
    } finally {
      delete process.env.AWS_REQUEST_CHECKSUM_CALCULATION;
      await plain.close?.();
    }
  });

  test('empty content is stored and reads back empty', async () => {
    const location = await backend.write(content(0));
    assert.equal((await readBytes(backend, location)).length, 0);
  });

  test('remove deletes the object; reading it afterwards fails with NoSuchKey', async () => {
    const location = await backend.write(content(10, 3));
    await backend.remove(location);
    assert.ok(!(await keysUnder('rw/')).includes(`rw/objects/${location}`));
    await assert.rejects(readBytes(backend, location), (error: unknown) => {
      assert.ok(error instanceof S3StorageError);
      assert.equal(error.code, 'NoSuchKey');
      assert.equal(error.status, 404);
      return true;
    });
    // Removing what is gone already is no error: a sweep may race a duplicate's removal.
    await backend.remove(location);
  });

  test('a reader that goes away early ends the S3 response', async () => {
    const location = await backend.write(content(12 * MiB, 4));
    const stream = backend.read(location);
    for await (const chunk of stream) {
      assert.ok(chunk.length > 0);
      break;
    }
    assert.ok(stream.destroyed);
    // The connection is free again: the next read is served.
    assert.deepEqual(await readBytes(backend, location, { start: 5, end: 9 }), expected(5, 9, 4));
  });

  test('a location that is not one the backend made is refused before any request', async () => {
    const mark = s3.calls.length;
    assert.throws(() => backend.read('../secret'), /not an S3 blob location/);
    await assert.rejects(backend.remove('aa/../../x'), /not an S3 blob location/);
    assert.equal(s3.calls.length, mark);
  });
});

describe('failures leave nothing behind', () => {
  let backend: ReturnType<typeof s3Backend>;
  before(() => {
    backend = backendAt('fail');
  });
  after(async () => backend.close?.());

  test('a source that breaks off mid-upload aborts the multipart upload and the caller gets its error', async () => {
    class ClientGone extends Error {}
    const gone = new ClientGone('the client went away');
    async function* breaksOff() {
      yield* content(12 * MiB, 5);
      throw gone;
    }
    const mark = s3.calls.length;
    await assert.rejects(backend.write(breaksOff()), (error) => error === gone);
    const operations = callsSince(mark).map((c) => c.operation);
    assert.equal(operations[0], 'CreateMultipartUpload');
    assert.ok(operations.includes('AbortMultipartUpload'), operations.join(', '));
    assert.deepEqual(await keysUnder('fail/'), []);
    assert.deepEqual(await uploadsUnder('fail/'), []);
  });

  test('a part the store refuses fails the write with S3 error, after the upload is aborted', async () => {
    s3.failingParts.add(2);
    try {
      const mark = s3.calls.length;
      await assert.rejects(backend.write(content(16 * MiB, 6)), (error: unknown) => {
        assert.ok(error instanceof S3StorageError);
        assert.equal(error.code, 'InternalError');
        assert.equal(error.status, 500);
        return true;
      });
      const calls = callsSince(mark);
      // The SDK retried the part before giving up.
      assert.ok(calls.filter((c) => c.operation === 'UploadPart' && c.partNumber === 2).length >= 2);
      assert.ok(calls.some((c) => c.operation === 'AbortMultipartUpload' && c.status === 204));
      assert.deepEqual(await keysUnder('fail/'), []);
      assert.deepEqual(await uploadsUnder('fail/'), []);
    } finally {
      s3.failingParts.clear();
    }
  });

  test('a body too large for one part, refused by the source, leaves nothing either (PutObject never sent)', async () => {
    class TooLarge extends Error {}
    const refused = new TooLarge('more than 1000 bytes');
    async function* limited() {
      yield* content(1000, 7);
      throw refused;
    }
    const mark = s3.calls.length;
    await assert.rejects(backend.write(limited()), (error) => error === refused);
    assert.ok(!callsSince(mark).some((c) => c.operation === 'PutObject'));
    assert.deepEqual(await keysUnder('fail/'), []);
  });
});

describe('listing for the sweeper', () => {
  // A second backend sees the bucket as another instance (or a restarted one) does.
  let writer: ReturnType<typeof s3Backend>;
  let other: ReturnType<typeof s3Backend>;
  let raw: S3Client;
  before(() => {
    writer = backendAt('list');
    other = backendAt('list');
    raw = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
  });
  after(async () => {
    await writer.close?.();
    await other.close?.();
    raw.destroy();
  });

  const listed = async (backend: ReturnType<typeof s3Backend>, before: number) => {
    const out: string[] = [];
    for await (const location of backend.list!(before)) out.push(location);
    return out.sort();
  };

  test('list yields the locations written before `before`, over several pages, and nothing else under the prefix', async () => {
    const older = [await writer.write(content(10, 8)), await writer.write(content(11, 8)), await writer.write(content(12, 8))];
    await sleep(25);
    const cut = Date.now();
    await sleep(25);
    const newer = [await writer.write(content(13, 8)), await writer.write(content(14, 8))];
    // Keys relinks did not make are not its to remove, under its prefix or beside it.
    await raw.send(new PutObjectCommand({ Bucket: 'relinks', Key: 'list/objects/not-a-location', Body: 'x' }));
    await raw.send(new PutObjectCommand({ Bucket: 'relinks', Key: 'list-other/objects/aa/aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', Body: 'x' }));

    const mark = s3.calls.length;
    assert.deepEqual(await listed(other, cut), [...older].sort());
    assert.ok(callsSince(mark).filter((c) => c.operation === 'ListObjectsV2').length >= 2, 'several pages');
    assert.deepEqual(await listed(other, Date.now() + 1000), [...older, ...newer].sort());
  });

  test('the instance that wrote a location keeps it out of its own list for a while (it may not be recorded yet)', async () => {
    const location = await writer.write(content(20, 9));
    assert.ok(!(await listed(writer, Date.now() + 1000)).includes(location));
    assert.ok((await listed(other, Date.now() + 1000)).includes(location));
  });

  test('list aborts multipart uploads left before `before`, but not one still receiving parts', async () => {
    const key = (id = randomUUID()) => `list/objects/${id.slice(0, 2)}/${id}`;
    const start = async (k: string) => (await raw.send(new CreateMultipartUploadCommand({ Bucket: 'relinks', Key: k }))).UploadId!;
    const abandoned = key();
    await start(abandoned);
    const slow = key();
    const slowId = await start(slow);
    await sleep(25);
    const cut = Date.now();
    await sleep(25);
    // Begun before the cut, but a part arrived after it: a slow client, still uploading.
    await raw.send(new UploadPartCommand({ Bucket: 'relinks', Key: slow, UploadId: slowId, PartNumber: 1, Body: Buffer.alloc(10) }));
    const fresh = key();
    await start(fresh);
    // Uploads of other prefixes are not relinks' here.
    const foreign = `list-other/objects/${randomUUID()}`;
    await start(foreign);

    await listed(other, cut);
    const pending = (await s3.pendingUploads('relinks')).map((u) => u.key);
    assert.ok(!pending.includes(abandoned), 'the abandoned upload is aborted');
    assert.ok(pending.includes(slow) && pending.includes(fresh) && pending.includes(foreign));
    assert.ok(s3.calls.some((c) => c.operation === 'AbortMultipartUpload' && c.key === abandoned && c.status === 204));

    await listed(other, Date.now() + 1000);
    const left = (await s3.pendingUploads('relinks')).map((u) => u.key);
    assert.deepEqual(left, [foreign]);
  });
});

describe('credentials and settings', () => {
  const secretsOf = (env: Record<string, string>) => [env.AWS_SECRET_ACCESS_KEY, env.AWS_ACCESS_KEY_ID];
  const refusedWith = (code: string, status: number, env: Record<string, string>) => (error: unknown) => {
    assert.ok(error instanceof S3StorageError, String(error));
    assert.equal(error.code, code);
    assert.equal(error.status, status);
    for (const secret of secretsOf(env)) assert.ok(!error.message.includes(secret) && !(error.stack ?? '').includes(secret), 'no credential in the error');
    return true;
  };

  test('a wrong secret is refused (SignatureDoesNotMatch), and the error holds no credential', async () => {
    const env = { ...s3.credentials(), AWS_SECRET_ACCESS_KEY: `wrong-${s3.secretAccessKey}` };
    const backend = backendAt('creds', env);
    await assert.rejects(backend.write(content(100)), refusedWith('SignatureDoesNotMatch', 403, env));
    await assert.rejects(readBytes(backend, 'aa/aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa'), refusedWith('SignatureDoesNotMatch', 403, env));
    await assert.rejects(backend.remove('aa/aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa'), refusedWith('SignatureDoesNotMatch', 403, env));
    await backend.close?.();
    assert.deepEqual(await keysUnder('creds/'), []);
  });

  test('an unknown access key id is refused (InvalidAccessKeyId), with no credential in the error', async () => {
    const env = { AWS_ACCESS_KEY_ID: 'AKIAWRONGWRONGWRONG1', AWS_SECRET_ACCESS_KEY: s3.secretAccessKey };
    const backend = backendAt('creds', env);
    await assert.rejects(backend.write(content(6 * MiB)), refusedWith('InvalidAccessKeyId', 403, env));
    await backend.close?.();
    assert.deepEqual(await uploadsUnder('creds/'), []);
  });

  test('the region is signed into every request: another region is refused', async () => {
    const backend = s3Backend(urlFor('creds', '').replace('region=us-east-1', 'region=eu-west-3'), s3.credentials());
    await assert.rejects(backend.write(content(10)), refusedWith('AuthorizationHeaderMalformed', 400, s3.credentials()));
    await backend.close?.();
  });

  test('a bucket that does not exist is NoSuchBucket', async () => {
    const backend = s3Backend(urlFor('x').replace('s3://relinks/', 's3://missing-bucket/'), s3.credentials());
    await assert.rejects(backend.write(content(10)), refusedWith('NoSuchBucket', 404, s3.credentials()));
    await backend.close?.();
  });

  test('STORAGE_URL: bucket, prefix, endpoint, region, path style; bad values stop the start with a ConfigError', () => {
    const env = { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEEXAMPLE12', AWS_SECRET_ACCESS_KEY: 'secret-secret-secret-secret' };
    assert.deepEqual(s3Settings('s3://my-bucket', {}), {
      bucket: 'my-bucket', prefix: '', endpoint: undefined, region: 'us-east-1', forcePathStyle: false, maxSockets: 200, credentials: undefined,
    });
    const full = s3Settings('s3://b.example/some/prefix?endpoint=http://127.0.0.1:9000&region=eu-central-1&force_path_style=true&max_sockets=50', env);
    assert.deepEqual(full, {
      bucket: 'b.example', prefix: 'some/prefix/', endpoint: 'http://127.0.0.1:9000', region: 'eu-central-1', forcePathStyle: true, maxSockets: 50,
      credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: undefined },
    });
    assert.equal(s3Settings('s3://bkt/p/', { AWS_REGION: 'ap-south-1' }).region, 'ap-south-1');
    assert.equal(s3Settings('s3://bkt/p/', { AWS_DEFAULT_REGION: 'ap-south-2' }).region, 'ap-south-2');
    assert.equal(s3Settings('s3://bkt/p/', { AWS_REGION: 'ap-south-1' }).prefix, 'p/');
    assert.equal(s3Settings('s3://bkt', { ...env, AWS_SESSION_TOKEN: 'token-token-token' }).credentials?.sessionToken, 'token-token-token');

    const refused = (url: string, env: NodeJS.ProcessEnv, pattern: RegExp) =>
      assert.throws(() => s3Settings(url, env), (error: unknown) => error instanceof ConfigError && pattern.test(error.message) && !error.message.includes('hunter2-hunter2'));
    refused('s3://bkt?endpont=http://x', {}, /unknown parameter "endpont"/);
    refused('s3://bkt?force_path_style=yes', {}, /force_path_style must be true or false/);
    refused('s3://bkt?endpoint=ftp://x', {}, /endpoint must be an http\(s\) URL/);
    refused('s3://bkt?endpoint=' + encodeURIComponent('http://key:hunter2-hunter2@127.0.0.1:9000'), {}, /endpoint must not hold credentials/);
    refused('s3://key:hunter2-hunter2@bucket/p', {}, /must not hold credentials/);
    refused('s3://bkt?max_sockets=0', {}, /max_sockets must be an integer/);
    refused('s3://a', {}, /is not a bucket name/);
    refused('s3://bkt', { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEEXAMPLE12' }, /must be set together/);
    refused('s3://bkt', { AWS_SECRET_ACCESS_KEY: 'hunter2-hunter2' }, /must be set together/);
  });

  test('every operation the backend uses passed the SigV4 check of the server with the configured key', () => {
    // The server records a call only once its signature checked out.
    const seen = new Set(s3.calls.map((c) => c.operation));
    for (const operation of ['PutObject', 'CreateMultipartUpload', 'UploadPart', 'CompleteMultipartUpload', 'AbortMultipartUpload', 'GetObject', 'DeleteObject', 'ListObjectsV2', 'ListMultipartUploads', 'ListParts']) {
      assert.ok(seen.has(operation), operation);
    }
  });
});

test('a 128 MiB write and read keep the memory they add bounded (a process of its own)', async (t) => {
  // S3_RSS_BYTES=1073741824 measures a 1 GiB file instead (docs/storage-s3.md).
  const bytes = Number(process.env.S3_RSS_BYTES || 128 * MiB);
  const run = (env: Record<string, string>) =>
    new Promise<Record<string, any>>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/s3-rss-child.ts'], {
        env: { ...process.env, ...s3.credentials(), STORAGE_URL: urlFor('rss'), ...env },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`the measuring process exited with ${code}`))));
    });
  const written = await run({ BYTES: String(bytes) });
  const read = await run({ LOCATION: written.location });
  assert.equal(read.size, bytes);
  assert.equal(read.sha256, written.sha256);
  // Holding the content whole would add 128 MiB or more; measured: about 55 MiB writing, 40 reading.
  for (const [phase, r] of [['write', written], ['read', read]] as const) {
    const added = (r.peakRss - r.rssBefore) / MiB;
    t.diagnostic(`${phase}: RSS ${(r.rssBefore / MiB).toFixed(1)} MiB before, ${(r.peakRss / MiB).toFixed(1)} MiB at most (+${added.toFixed(1)}) in ${r.seconds} s`);
    assert.ok(added < 90, `${phase} added ${added.toFixed(1)} MiB of RSS`);
  }
});

test('relinks starts with STORAGE_URL pointing at the S3 server, picks the S3 backend, and stores, serves and sweeps content there', async () => {
  const target = await startS3ForRelinks();
  const server = await startTestServer(target.env);
  const files = openFiles(server.config, server.running.store, { warn: () => {} });
  try {
    assert.equal(server.config.storageUrl, target.storageUrl);
    assert.equal((await server.request('GET', '/api/v4/user', { token: ROOT_TOKEN })).status, 200);
    const backend = backendFor(server.config, server.running.store);
    assert.equal(backend.name, 's3');
    assert.equal(backend.transactional, false);
    await backend.close?.();
    assert.equal(files.backend.name, 's3');

    // The service path: bytes stream to S3, then the row naming them is committed; a second
    // copy of the same bytes is recorded against the first and its own object removed.
    const store = server.running.store;
    const size = 6 * MiB + 3;
    const first = await storeContent(store.write, files, content(size, 10), Number.MAX_SAFE_INTEGER, async (_trx, c) => c);
    const again = await storeContent(store.write, files, content(size, 10), Number.MAX_SAFE_INTEGER, async (_trx, c) => c);
    assert.deepEqual(again, first);
    assert.deepEqual(first, await sha256Of(content(size, 10)));
    assert.equal((await target.s3.keys('relinks')).length, 1);
    const opened = await openContent(store.db, files, first.sha256);
    assert.ok(opened);
    assert.deepEqual(await sha256Of(opened.open()), first);
    const tail: Buffer[] = [];
    for await (const chunk of opened.open({ start: size - 3, end: size - 1 })) tail.push(chunk);
    assert.deepEqual(Buffer.concat(tail), expected(size - 3, size - 1, 10));

    // What a crash leaves: an object written but never recorded, and an upload never finished.
    const crashed = s3Backend(target.storageUrl, target.env);
    await crashed.write(content(100, 11));
    await crashed.close?.();
    const raw = new S3Client({ endpoint: target.s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: target.env.AWS_ACCESS_KEY_ID, secretAccessKey: target.env.AWS_SECRET_ACCESS_KEY } });
    const id = randomUUID();
    await raw.send(new CreateMultipartUploadCommand({ Bucket: 'relinks', Key: `blobs/objects/${id.slice(0, 2)}/${id}` }));
    raw.destroy();
    assert.equal((await target.s3.keys('relinks')).length, 2);

    // Nothing names the content (no package file or upload here), so the sweep takes it, the
    // unrecorded object and the unfinished upload: the bucket is empty afterwards.
    assert.equal(await files.sweep(0), 2);
    assert.deepEqual(await target.s3.keys('relinks'), []);
    assert.deepEqual(await target.s3.pendingUploads('relinks'), []);
    assert.equal(await openContent(store.db, files, first.sha256), undefined);
  } finally {
    await files.close();
    await server.close();
    await target.close();
  }
});
