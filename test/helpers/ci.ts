import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './root.js';
import { ROOT_TOKEN, type TestServer } from './server.js';

// Helpers for the CI integration tests: minting job tokens, and throw-away git repositories with a
// `file://` bare remote in which the real release tools run as child processes.

export interface JobToken {
  id: number;
  token: string;
  expires_at: string;
  project_id: number;
  user_id: number;
  ref: string | null;
}

export async function mintJobToken(server: TestServer, projectId: number | string, options: { token?: string; ref?: string; expires_in?: number } = {}): Promise<JobToken> {
  const res = await server.request('POST', `/api/v4/projects/${encodeURIComponent(String(projectId))}/ci/job_tokens`, {
    token: options.token ?? ROOT_TOKEN,
    json: { ref: options.ref, expires_in: options.expires_in },
  });
  assert.equal(res.status, 201, res.text);
  return res.body;
}

/** Where relinks answers, as the URLs it hands out name it (EXTERNAL_URL) → where the test server listens. */
export const local = (server: TestServer, url: string) => {
  assert.ok(url.startsWith(server.config.externalUrl), `${url} is not under ${server.config.externalUrl}`);
  return url.slice(server.config.externalUrl.length);
};

/** An environment for git and the tools that sees nothing of the machine's own git or npm settings. */
export function isolatedEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const keep = ['PATH', 'LANG', 'TMPDIR', 'SYSTEMROOT'];
  const env: NodeJS.ProcessEnv = {};
  for (const k of keep) if (process.env[k] !== undefined) env[k] = process.env[k];
  return {
    ...env,
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'CI Bot',
    GIT_AUTHOR_EMAIL: 'ci-bot@example.com',
    GIT_COMMITTER_NAME: 'CI Bot',
    GIT_COMMITTER_EMAIL: 'ci-bot@example.com',
    GIT_TERMINAL_PROMPT: '0',
    // No proxy may route 127.0.0.1 elsewhere; nothing may phone home.
    NO_PROXY: '*',
    no_proxy: '*',
    npm_config_update_notifier: 'false',
    NO_UPDATE_NOTIFIER: '1',
    ...extra,
  };
}

export interface GitRepo {
  root: string;
  work: string;
  remote: string;
  remoteUrl: string;
  env: NodeJS.ProcessEnv;
  git(...args: string[]): string;
  /** Commits `file` as it is in the work tree, or (without one) a new file holding the message. */
  commit(message: string, file?: string): string;
  cleanup(): void;
}

/** A work tree on branch `main` whose `origin` is a bare repository at `<root>/remote/<remotePath>.git`. */
export function createGitRepo(remotePath = 'group/project'): GitRepo {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'relinks-ci-'));
  const home = path.join(root, 'home');
  const work = path.join(root, 'work');
  const remote = path.join(root, 'remote', `${remotePath}.git`);
  fs.mkdirSync(home);
  fs.mkdirSync(work);
  fs.mkdirSync(remote, { recursive: true });
  const env = isolatedEnv(home);
  const run = (cwd: string, args: string[]) => execFileSync('git', args, { cwd, env, encoding: 'utf8' }).trim();
  run(remote, ['init', '--bare', '-q', '-b', 'main']);
  run(work, ['init', '-q', '-b', 'main']);
  const remoteUrl = `file://${remote}`;
  run(work, ['remote', 'add', 'origin', remoteUrl]);
  let n = 0;
  const repo: GitRepo = {
    root,
    work,
    remote,
    remoteUrl,
    env,
    git: (...args) => run(work, args),
    commit(message, file) {
      if (file === undefined) {
        file = `file${++n}.txt`;
        fs.writeFileSync(path.join(work, file), `${message}\n`);
      }
      run(work, ['add', file]);
      run(work, ['commit', '-q', '-m', message]);
      return run(work, ['rev-parse', 'HEAD']);
    },
    cleanup: () => fs.rmSync(root, { recursive: true, force: true }),
  };
  return repo;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a tool to completion (killing it after `timeoutMs`), collecting its output for assertion messages. */
export function runTool(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export { repoRoot };
export const bin = (name: string) => path.join(repoRoot, 'node_modules', '.bin', name);

/**
 * docs/ci.md's shell snippet (section "Publishing from CI") that fetches a job token from relinks
 * and exports it as CI_JOB_TOKEN; the tests run it verbatim. Its id goes to a file for the step
 * that ends the token.
 */
export const FETCH_JOB_TOKEN = `
JOB=$(curl --fail --silent --show-error --request POST \\
  --header "PRIVATE-TOKEN: $RELINKS_TOKEN" \\
  --data "ref=$CI_COMMIT_SHA" --data "expires_in=3600" \\
  "$RELINKS_URL/api/v4/projects/$RELINKS_PROJECT_ID/ci/job_tokens")
export CI_JOB_TOKEN=$(printf '%s' "$JOB" | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).token')
printf '%s' "$JOB" | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).id' > relinks-job-token-id
`;

/** docs/ci.md's snippet that ends the job token when the job is over. */
export const END_JOB_TOKEN = `
curl --fail --silent --show-error --request DELETE --header "PRIVATE-TOKEN: $RELINKS_TOKEN" \\
  "$RELINKS_URL/api/v4/projects/$RELINKS_PROJECT_ID/ci/job_tokens/$(cat relinks-job-token-id)"
`;
