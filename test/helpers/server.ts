import { loadConfig, type Config } from '../../src/config.js';
import { startServer, type Running } from '../../src/server.js';
import { rememberFieldSecrets, rememberHeaderSecrets, rememberSecret, rememberUrlSecrets, secretScanningLog } from './secrets.js';
import { createTestStore, type TestStore } from './store.js';

export const ROOT_TOKEN = 'root-test-token-0123456789';
// The root token is a secret like any other.
rememberSecret(ROOT_TOKEN);

export interface Response<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RequestOptions {
  token?: string;
  /** JSON body. */
  json?: unknown;
  /** Form body (application/x-www-form-urlencoded). */
  form?: Record<string, string>;
  headers?: Record<string, string>;
}

export interface TestServer {
  url: string;
  running: Running;
  store: TestStore;
  config: Config;
  /** Answers that did not match the OpenAPI document (see src/http/response-check.ts); close() fails on any. */
  responseProblems: string[];
  request<T = any>(method: string, path: string, options?: RequestOptions): Promise<Response<T>>;
  close(): Promise<void>;
}

/**
 * Starts the real server on a free port over a store of its own, with `root` bootstrapped.
 * `configure` may change what the environment cannot give (a webhook resolver) before it starts.
 */
export async function startTestServer(env: Record<string, string> = {}, options: { configure?: (config: Config) => void } = {}): Promise<TestServer> {
  const store = await createTestStore();
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: store.databaseUrl,
    EXTERNAL_URL: 'http://relinks.test',
    RELINKS_INITIAL_ROOT_TOKEN: ROOT_TOKEN,
    // Every line is written and checked for the credentials the tests send (helpers/secrets.ts).
    LOG_LEVEL: 'trace',
    ...env,
  });
  options.configure?.(config);
  const log = secretScanningLog();
  // Every test that starts a server also checks its answers against the OpenAPI document.
  const responseProblems: string[] = [];
  const running = await startServer(config, { logStream: log.stream, responseProblems });
  const url = running.url;
  return {
    url,
    running,
    store,
    config,
    responseProblems,
    request: (method, path, options = {}) => requestTo(url, method, path, options),
    async close() {
      await running.close();
      await store.drop();
      if (log.leaks.length) throw new Error(`credentials reached the log:\n${log.leaks.join('\n')}`);
      if (responseProblems.length) {
        const distinct = [...new Set(responseProblems)];
        throw new Error(`${responseProblems.length} answers did not match the OpenAPI document:\n${distinct.slice(0, 20).join('\n')}`);
      }
    },
  };
}

/** One HTTP request to `base`, parsed like the in-process test server's; never follows redirects. */
export async function requestTo<T = any>(base: string, method: string, urlPath: string, options: RequestOptions = {}): Promise<Response<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers['private-token'] = options.token;
  rememberHeaderSecrets(headers);
  rememberUrlSecrets(urlPath);
  rememberFieldSecrets(options.json);
  rememberFieldSecrets(options.form);
  let body: string | undefined;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(options.form).toString();
  }
  const res = await fetch(base + urlPath, { method, headers, body, redirect: 'manual' });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: leave the text
  }
  // Tokens the server hands out (personal and job tokens) are secrets from then on.
  if (parsed && typeof parsed === 'object') rememberSecret((parsed as { token?: unknown }).token);
  return { status: res.status, headers: res.headers, body: parsed as T, text };
}
