// What `npm test` needs besides node_modules: PostgreSQL, Redis, nginx and Chromium. As root on a
// Debian-like machine it starts what is installed and installs what is missing; otherwise it
// names each missing part with the command that fixes it, and the run stops before any test.
// RELINKS_PREFLIGHT=check only checks, even as root.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import pg from 'pg';
import { sleep } from './lib.mjs';

const postgresUrl = () => process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;
const hasApt = () => fs.existsSync('/usr/bin/apt-get');

function run(command, args) {
  const r = spawnSync(command, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  return { ok: r.status === 0, output: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

/** A program on PATH or in the sbin folders a non-root PATH leaves out. */
function findProgram(name) {
  for (const dir of [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin', '/sbin', '/usr/local/sbin']) {
    const candidate = `${dir}/${name}`;
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

async function postgresUp() {
  const client = new pg.Client({ connectionString: postgresUrl(), connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

function tcpUp(host, port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 1000 });
    socket.once('connect', () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

async function waitFor(check, ms) {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await sleep(250)) if (await check()) return true;
  return check();
}

const postgresClusters = () => (fs.existsSync('/etc/postgresql') ? fs.readdirSync('/etc/postgresql') : []);

/** Each part: how to tell it is there, and how root brings it (packages to install, then a start). */
const parts = [
  {
    name: 'PostgreSQL',
    where: () => postgresUrl(),
    ready: postgresUp,
    packages: () => (postgresClusters().length ? [] : ['postgresql']),
    start: async () => {
      const [version] = postgresClusters();
      if (!version) return;
      run('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start']);
      await waitFor(postgresUp, 15_000);
      // A fresh cluster has neither the trust login on loopback nor the test database.
      if (!(await postgresUp())) {
        run('su', ['postgres', '-c', `psql -qc "alter user postgres password null"`]);
        run('su', ['postgres', '-c', 'createdb test']);
      }
    },
    fix: () => {
      const [version = '$(ls /etc/postgresql)'] = postgresClusters();
      return postgresClusters().length
        ? `sudo pg_ctlcluster --skip-systemctl-redirect ${version} main start`
        : 'sudo apt-get install -y postgresql, then create the database: sudo -u postgres createdb test';
    },
  },
  {
    name: 'Redis',
    where: () => '127.0.0.1:6379',
    ready: () => tcpUp('127.0.0.1', 6379),
    packages: () => (findProgram('redis-server') ? [] : ['redis-server']),
    start: async () => {
      run(findProgram('redis-server') ?? 'redis-server', ['--daemonize', 'yes', '--bind', '127.0.0.1', '--port', '6379', '--save', '', '--appendonly', 'no']);
      await waitFor(() => tcpUp('127.0.0.1', 6379), 10_000);
    },
    fix: () => (findProgram('redis-server') ? 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379' : 'sudo apt-get install -y redis-server'),
  },
  {
    name: 'nginx',
    where: () => 'the load balancer in the scale-out tests',
    ready: async () => findProgram('nginx') !== null,
    packages: () => ['nginx'],
    fix: () => 'sudo apt-get install -y nginx',
  },
  {
    name: 'Chromium',
    where: () => '/usr/bin/chromium, for the browser tests',
    ready: async () => fs.existsSync('/usr/bin/chromium'),
    packages: () => ['chromium'],
    fix: () => 'sudo apt-get install -y chromium',
  },
];

/** True when everything is there (after bringing what root can); otherwise prints what is missing. */
export async function preflight() {
  const missing = [];
  for (const part of parts) if (!(await part.ready())) missing.push(part);
  const mayInstall = isRoot() && hasApt() && process.env.RELINKS_PREFLIGHT !== 'check';
  if (missing.length && mayInstall) {
    const packages = missing.flatMap((p) => p.packages());
    if (packages.length) {
      console.log(`preflight: installing ${packages.join(', ')}`);
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
      // Services must not start on their own ports from a package script: start comes below.
      spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { stdio: 'inherit', env });
    }
    for (const part of missing) await part.start?.();
  }
  const still = [];
  for (const part of missing) if (!(await part.ready())) still.push(part);
  for (const part of still) console.error(`preflight: ${part.name} is missing (${part.where()}); fix: ${part.fix()}`);
  const nginx = findProgram('nginx');
  if (nginx) process.env.RELINKS_NGINX = nginx;
  return still.length === 0;
}
