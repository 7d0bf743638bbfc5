import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from './child-server.js';
import { rememberHeaderSecrets } from './secrets.js';
import { startTestServer, type TestServer } from './server.js';

// For the tests of release tools that upload files to relinks: a server whose EXTERNAL_URL is the
// address it listens on (as in a real deployment, the URL the tools are given is the one relinks
// answers with), files of random bytes, and a download that follows relinks' redirects.

/** A test server that names itself by its real address, so the URLs it hands out can be fetched. */
export async function startSelfNamedServer(env: Record<string, string> = {}): Promise<TestServer> {
  // The port is chosen before the server listens on it; another process may take it in between.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return await startTestServer({ PORT: String(port), EXTERNAL_URL: `http://127.0.0.1:${port}`, ...env });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt === 3) throw e;
    }
  }
}

export const sha256 = (bytes: Buffer | Uint8Array) => createHash('sha256').update(bytes).digest('hex');

export interface LocalFile {
  path: string;
  name: string;
  bytes: Buffer;
  sha256: string;
}

/** Random bytes (every byte value, so nothing survives a text or encoding mangling) written to `dir/name`. */
export function writeRandomFile(dir: string, name: string, size: number): LocalFile {
  fs.mkdirSync(dir, { recursive: true });
  const bytes = randomBytes(size);
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return { path: file, name, bytes, sha256: sha256(bytes) };
}

export interface Download {
  status: number;
  headers: Headers;
  bytes: Buffer;
  /** Every URL fetched, the first one included. */
  hops: string[];
}

/**
 * GET `url` the way a browser or `curl --location` would, with `headers` on every hop. Each hop
 * must stay on relinks: a redirect elsewhere means the file is not hosted here.
 */
export async function download(server: TestServer, url: string, headers: Record<string, string> = {}): Promise<Download> {
  rememberHeaderSecrets(headers);
  const hops: string[] = [];
  let next = url;
  for (let i = 0; i < 5; i++) {
    assert.ok(next.startsWith(`${server.url}/`), `${next} is not on relinks (${server.url})`);
    hops.push(next);
    const res = await fetch(next, { headers, redirect: 'manual' });
    const bytes = Buffer.from(await res.arrayBuffer());
    if (res.status >= 300 && res.status < 400 && res.headers.get('location')) {
      next = new URL(res.headers.get('location')!, next).toString();
      continue;
    }
    return { status: res.status, headers: res.headers, bytes, hops };
  }
  assert.fail(`too many redirects: ${hops.join(' -> ')}`);
}

/** Downloads `url` and checks it gives exactly `file`'s bytes, as an attachment. */
export async function assertServes(server: TestServer, url: string, file: LocalFile, headers: Record<string, string> = {}): Promise<Download> {
  const got = await download(server, url, headers);
  assert.equal(got.status, 200, `${got.hops.join(' -> ')}: ${got.status} ${got.bytes.toString('utf8', 0, 200)}`);
  assert.equal(sha256(got.bytes), file.sha256, `${got.hops.join(' -> ')} gave other bytes than ${file.name}`);
  assert.equal(got.headers.get('content-length'), String(file.bytes.length));
  assert.match(got.headers.get('content-disposition') ?? '', /^attachment/);
  assert.equal(got.headers.get('x-content-type-options'), 'nosniff');
  return got;
}
