import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './cluster.js';

// Debian's nginx as the load balancer in front of several relinks instances, run unprivileged in
// the foreground with every path (pid, logs, temp files) inside a temp dir of its own.

/** The configuration docs/deployment.md documents; the test adds only the X-Upstream header to see who answered. */
export function nginxConfig(options: { dir: string; listen: number; upstreams: number[]; showUpstream?: boolean }): string {
  const { dir } = options;
  return `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }

http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;

  upstream relinks {
    # Round-robin over identical, stateless instances; keep connections to them open.
${options.upstreams.map((port) => `    server 127.0.0.1:${port};`).join('\n')}
    keepalive 32;
  }

  server {
    listen 127.0.0.1:${options.listen};
    # relinks itself answers bodies over 1 MiB with a JSON 413.
    client_max_body_size 2m;

    location / {
      proxy_pass http://relinks;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      # A node that is down, or answers 503 because it lost the database, is skipped. nginx never
      # resends a POST that already reached a node, so a create is not applied twice.
      proxy_next_upstream error timeout http_502 http_503;
${options.showUpstream ? '      add_header X-Upstream $upstream_addr always;\n' : ''}    }
  }
}
`;
}

export interface Nginx {
  url: string;
  dir: string;
  stop(): Promise<void>;
}

/** Starts nginx in front of `upstreams` (ports) on a free port; resolves once it answers. */
export async function startNginx(upstreams: number[], options: { port?: number } = {}): Promise<Nginx> {
  // npm test's preflight names the nginx it found (non-root PATHs leave out /usr/sbin).
  const found = process.env.RELINKS_NGINX ?? spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).stdout.trim();
  if (!found) throw new Error('nginx is not installed (apt-get install -y nginx; npm test installs it when run as root)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relinks-nginx-'));
  // Workers may run as another user when started by root: let them into the temp paths.
  fs.chmodSync(dir, 0o755);
  const listen = options.port ?? (await freePort());
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(conf, nginxConfig({ dir, listen, upstreams, showUpstream: true }));
  const child: ChildProcess = spawn(found, ['-p', dir, '-c', conf, '-e', path.join(dir, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${listen}`;
  const stop = async () => {
    // TERM: the master stops its workers and exits (KILL would leave the workers behind).
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) {
      const log = fs.existsSync(path.join(dir, 'error.log')) ? fs.readFileSync(path.join(dir, 'error.log'), 'utf8') : '';
      fs.rmSync(dir, { recursive: true, force: true });
      throw new Error(`nginx exited (${child.exitCode}):\n${stderr}\n${log}`);
    }
    try {
      const res = await fetch(`${url}/-/liveness`);
      await res.arrayBuffer();
      if (res.ok) return { url, dir, stop };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`nginx did not answer within 10 s:\n${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
