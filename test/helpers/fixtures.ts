import assert from 'node:assert/strict';
import { ROOT_TOKEN, type TestServer } from './server.js';

// Builds users, groups, projects and releases through the public API, as a user would.

let counter = 0;
const unique = (prefix: string) => `${prefix}${process.pid}x${++counter}`;

export interface TestUser {
  id: number;
  username: string;
  token: string;
}

export async function createUser(server: TestServer, options: { admin?: boolean; scopes?: string[]; username?: string } = {}): Promise<TestUser> {
  const username = options.username ?? unique('user');
  const user = await server.request('POST', '/api/v4/users', {
    token: ROOT_TOKEN,
    json: { username, email: `${username}@example.com`, name: username, password: 'secret-password', admin: options.admin ?? false },
  });
  assert.equal(user.status, 201, user.text);
  const token = await server.request('POST', `/api/v4/users/${user.body.id}/personal_access_tokens`, {
    token: ROOT_TOKEN,
    json: { name: 'test', scopes: options.scopes ?? ['api'] },
  });
  assert.equal(token.status, 201, token.text);
  return { id: user.body.id, username, token: token.body.token };
}

export async function createGroup(server: TestServer, path: string, options: { parentId?: number; visibility?: string; token?: string } = {}) {
  const res = await server.request('POST', '/api/v4/groups', {
    token: options.token ?? ROOT_TOKEN,
    json: { name: path, path, parent_id: options.parentId, visibility: options.visibility ?? 'private' },
  });
  assert.equal(res.status, 201, res.text);
  return res.body as { id: number; full_path: string };
}

export async function createProject(server: TestServer, path: string, options: { namespaceId?: number; visibility?: string; token?: string } = {}) {
  const res = await server.request('POST', '/api/v4/projects', {
    token: options.token ?? ROOT_TOKEN,
    json: { name: path, path, namespace_id: options.namespaceId, visibility: options.visibility ?? 'private' },
  });
  assert.equal(res.status, 201, res.text);
  return res.body as { id: number; path_with_namespace: string; web_url: string };
}

export async function addMember(server: TestServer, projectId: number, userId: number, accessLevel: number) {
  const res = await server.request('POST', `/api/v4/projects/${projectId}/members`, {
    token: ROOT_TOKEN,
    json: { user_id: userId, access_level: accessLevel },
  });
  assert.equal(res.status, 201, res.text);
}

export async function createRelease(server: TestServer, projectId: number | string, tag: string, links: object[] = [], token = ROOT_TOKEN) {
  const res = await server.request('POST', `/api/v4/projects/${encodeURIComponent(String(projectId))}/releases`, {
    token,
    json: { tag_name: tag, ref: 'main', assets: { links } },
  });
  assert.equal(res.status, 201, res.text);
  return res.body;
}

export const enc = encodeURIComponent;
