// The file cases of `npm run bench`: MB/s of a generic package upload and download through relinks,
// against a bare node:http server streaming the same bytes to and from a file on the same disk,
// in the same run; and relinks' peak RSS (VmHWM) over the cases. Each case runs `rounds` times,
// alternating bare and relinks, and reports the range.
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './lib.mjs';

const MB = 1024 * 1024;

function put(url, headers, sizeMb, block) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = http.request(url, { method: 'PUT', headers: { ...headers, 'content-length': sizeMb * MB } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode >= 300 ? reject(new Error(`PUT ${url}: ${res.statusCode}`)) : resolve(Number(process.hrtime.bigint() - started) / 1e9)));
    });
    req.on('error', reject);
    let sent = 0;
    const write = () => {
      while (sent < sizeMb) {
        sent++;
        if (!req.write(block)) return void req.once('drain', write);
      }
      req.end();
    };
    write();
  });
}

function get(url, headers) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    http.get(url, { headers }, (res) => {
      let bytes = 0;
      res.on('data', (c) => (bytes += c.length));
      res.on('end', () => (res.statusCode !== 200 ? reject(new Error(`GET ${url}: ${res.statusCode}`)) : resolve({ seconds: Number(process.hrtime.bigint() - started) / 1e9, bytes })));
      res.on('error', reject);
    });
  });
}

const peakRssMb = (pid) => Number(/VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

async function startBareFiles() {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relinks-bench-files-'));
  const child = fork(new URL(import.meta.url).pathname, ['--bare-files', String(port), dir], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`bare file server exited with ${code}`)));
  });
  return { child, dir, base: `http://127.0.0.1:${port}` };
}

export async function measureFiles({ base, pid, token, projectId, sizeMb = 256, rounds = 3 }) {
  const bare = await startBareFiles();
  const block = randomBytes(MB);
  const results = { up: { bare: [], relinks: [] }, down: { bare: [], relinks: [] } };
  const auth = { 'private-token': token };
  try {
    for (let round = 1; round <= rounds; round++) {
      const file = `bench/${round}.0.0/file.bin`;
      results.up.bare.push(sizeMb / (await put(`${bare.base}/${round}`, {}, sizeMb, block)));
      results.up.relinks.push(sizeMb / (await put(`${base}/api/v4/projects/${projectId}/packages/generic/${file}`, auth, sizeMb, block)));
      results.down.bare.push(sizeMb / (await get(`${bare.base}/${round}`, {})).seconds);
      const down = await get(`${base}/api/v4/projects/${projectId}/packages/generic/${file}`, auth);
      if (down.bytes !== sizeMb * MB) throw new Error(`download: ${down.bytes} bytes`);
      results.down.relinks.push(sizeMb / down.seconds);
    }
  } finally {
    bare.child.kill('SIGKILL');
    fs.rmSync(bare.dir, { recursive: true, force: true });
  }
  return { sizeMb, rounds, results, peakRssMb: peakRssMb(pid) };
}

const range = (xs) => `${Math.round(Math.min(...xs))}-${Math.round(Math.max(...xs))}`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export function printFiles({ sizeMb, rounds, results, peakRssMb }) {
  console.log(`\n## files: ${sizeMb} MiB generic package upload and download, ${rounds} rounds (MB/s, min-max; ratio of medians)`);
  console.log('case        bare node:http   relinks   ratio');
  for (const [name, r] of [['upload', results.up], ['download', results.down]]) {
    console.log(`${name.padEnd(10)} ${range(r.bare).padStart(15)} ${range(r.relinks).padStart(9)}   ${(median(r.relinks) / median(r.bare)).toFixed(2)}`);
  }
  console.log(`relinks peak RSS (VmHWM) by the end of the file cases: ${Math.round(peakRssMb)} MB`);
}

// ---------------------------------------------------------------- the bare file server (child mode)
if (process.argv[2] === '--bare-files') {
  const [port, dir] = process.argv.slice(3);
  const server = http.createServer((req, res) => {
    const file = path.join(dir, path.basename(req.url));
    if (req.method === 'PUT') {
      const out = fs.createWriteStream(file);
      req.pipe(out);
      out.on('finish', () => fs.fsync(out.fd ?? 0, () => res.writeHead(201).end()));
      out.on('close', () => {});
    } else {
      const size = fs.statSync(file).size;
      res.writeHead(200, { 'content-length': size, 'content-type': 'application/octet-stream' });
      fs.createReadStream(file).pipe(res);
    }
  });
  server.listen(Number(port), '127.0.0.1', () => process.send({ listening: true }));
}
