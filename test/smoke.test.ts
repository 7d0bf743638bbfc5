import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestServer, ROOT_TOKEN, type TestServer } from './helpers/server.js';
import { createProject, createRelease } from './helpers/fixtures.js';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => server.close());

test('a link created on a release is listed back', async () => {
  const project = await createProject(server, 'smoke');
  await createRelease(server, project.id, 'v1.0');
  const created = await server.request('POST', `/api/v4/projects/${project.id}/releases/v1.0/assets/links`, {
    token: ROOT_TOKEN,
    form: { name: 'bin', url: 'https://example.com/bin' },
  });
  assert.equal(created.status, 201);
  assert.equal(created.headers.get('content-type'), 'application/json');
  const list = await server.request('GET', `/api/v4/projects/${project.id}/releases/v1.0/assets/links`, { token: ROOT_TOKEN });
  assert.deepEqual(list.body, [created.body]);
});
