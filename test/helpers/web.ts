import assert from 'node:assert/strict';
import { rememberSecret } from './secrets.js';
import type { TestServer } from './server.js';

// A browser's side of the web pages over plain HTTP: cookies kept by name, forms' authenticity
// tokens read from the page, redirects not followed (the tests look at each answer).

export interface Browser {
  cookies: Map<string, string>;
  /** The Cookie header this browser sends. */
  cookieHeader(): string;
  get(path: string, headers?: Record<string, string>): Promise<Page>;
  /** Posts a form (urlencoded); `token` is added as authenticity_token unless given. */
  post(path: string, fields: Record<string, string> | Array<[string, string]>, headers?: Record<string, string>): Promise<Page>;
}

export interface Page {
  status: number;
  headers: Headers;
  text: string;
  /** The authenticity token of the page's first form, if it has one. */
  token?: string;
}

const tokenIn = (html: string) => /name="authenticity_token" value="([^"]+)"/.exec(html)?.[1];

export function browser(server: TestServer): Browser {
  const cookies = new Map<string, string>();
  const keep = (res: Response) => {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at);
      const value = pair.slice(at + 1);
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) cookies.delete(name);
      else {
        cookies.set(name, value);
        // Session keys and CSRF tokens are credentials: the log scan looks for them.
        rememberSecret(value);
      }
    }
  };
  const cookieHeader = () => [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  const send = async (method: string, path: string, headers: Record<string, string>, body?: string): Promise<Page> => {
    const res = await fetch(server.url + path, { method, headers: { accept: 'text/html', cookie: cookieHeader(), ...headers }, body, redirect: 'manual' });
    keep(res);
    const text = await res.text();
    const token = tokenIn(text);
    if (token) rememberSecret(token);
    return { status: res.status, headers: res.headers, text, token };
  };
  return {
    cookies,
    cookieHeader,
    get: (path, headers = {}) => send('GET', path, headers),
    post: (path, fields, headers = {}) => {
      const pairs = Array.isArray(fields) ? fields : Object.entries(fields);
      return send('POST', path, { 'content-type': 'application/x-www-form-urlencoded', ...headers }, new URLSearchParams(pairs).toString());
    },
  };
}

/** Signs in through the sign-in form, as a browser does; the browser then holds the session cookie. */
export async function signIn(server: TestServer, login: string, password: string, b: Browser = browser(server)): Promise<Browser> {
  const form = await b.get('/users/sign_in');
  assert.equal(form.status, 200, form.text);
  rememberSecret(password);
  const res = await b.post('/users/sign_in', { authenticity_token: form.token!, login, password });
  assert.equal(res.status, 302, res.text.slice(0, 500));
  assert.ok(b.cookies.has('_relinks_session'), 'a session cookie');
  return b;
}

/** A user with a password, made through the API as root. */
export async function userWithPassword(server: TestServer, username: string, password = `${username}-pass-word`, token = 'root-test-token-0123456789') {
  const res = await server.request('POST', '/api/v4/users', { token, json: { username, email: `${username}@example.com`, name: username.toUpperCase(), password } });
  assert.equal(res.status, 201, res.text);
  return { id: res.body.id as number, username, password };
}
