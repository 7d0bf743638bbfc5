import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ROOT_TOKEN, startTestServer, type TestServer } from './helpers/server.js';
import { addMember, createProject, createRelease } from './helpers/fixtures.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { signIn, userWithPassword, type Browser } from './helpers/web.js';

// The web's release forms send the Release Hooks the API sends: the new release form a `create`,
// the edit form one `update` for the whole save (name, notes, date and links in one transaction),
// with the payload as the save left the release. A form that fails saves nothing and sends nothing.

let server: TestServer;
let receiver: Receiver;
let dev: Browser;
let project: { id: number; path_with_namespace: string };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const root = (method: string, path: string, json?: unknown) => server.request(method, path, { token: ROOT_TOKEN, json });

before(async () => {
  server = await startTestServer({ WEBHOOK_ALLOW_LOCAL_REQUESTS: 'true', WEBHOOK_POLL_INTERVAL_MS: '50' });
  receiver = await startReceiver();
  project = await createProject(server, `webhooks-web${process.pid}`);
  const developer = await userWithPassword(server, 'hookdev');
  await addMember(server, project.id, developer.id, 30);
  dev = await signIn(server, developer.username, developer.password);
});
after(async () => {
  await receiver?.close();
  await server?.close();
});

/** A hook on `path` of the receiver; the requests it has got so far. */
async function hookOn(path: string) {
  const res = await root('POST', `/api/v4/projects/${project.id}/hooks`, { url: `${receiver.url}${path}`, releases_events: true, token: 'web-form-hook-token' });
  assert.equal(res.status, 201, res.text);
  return () => receiver.requests.filter((r) => r.url === path);
}

async function waitFor(got: () => unknown[], count: number, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (got().length < count) {
    if (Date.now() > deadline) assert.fail(`${got().length} of ${count} deliveries within ${ms} ms`);
    await sleep(20);
  }
  // Nothing more comes after a moment.
  await sleep(300);
  assert.equal(got().length, count);
}

const releases = () => `/${project.path_with_namespace}/-/releases`;

describe('Release Hooks from the web forms', () => {
  test('the edit form sends one `update` with the new name, notes and links; a refused form sends nothing', async () => {
    await createRelease(server, project.id, 'edit-hooked', [
      { name: 'keep', url: 'https://example.com/keep' },
      { name: 'drop', url: 'https://example.com/drop' },
    ]);
    const got = await hookOn('/edit');
    const form = await dev.get(`${releases()}/edit-hooked/edit`);
    assert.equal(form.status, 200);
    const current = await root('GET', `/api/v4/projects/${project.id}/releases/edit-hooked`);
    const idOf = (name: string) => String(current.body.assets.links.find((l: { name: string }) => l.name === name).id);
    const rows = [...form.text.matchAll(/name="links\[(\d)\]\[id\]" value="(\d+)"/g)].map((m) => [Number(m[1]), m[2]] as const);
    const rowOf = (name: string) => rows.find(([, id]) => id === idOf(name))![0];
    const keep = rowOf('keep');
    const drop = rowOf('drop');
    const fields: Array<[string, string]> = [
      ['authenticity_token', form.token!], ['name', 'Edited in the browser'], ['description', 'New notes'], ['released_at', '2030-01-01T00:00'],
      [`links[${keep}][id]`, idOf('keep')], [`links[${keep}][name]`, 'kept'], [`links[${keep}][url]`, 'https://example.com/keep'], [`links[${keep}][direct_asset_path]`, ''], [`links[${keep}][link_type]`, 'runbook'],
      [`links[${drop}][id]`, idOf('drop')], [`links[${drop}][name]`, 'drop'], [`links[${drop}][url]`, 'https://example.com/drop'], [`links[${drop}][direct_asset_path]`, ''], [`links[${drop}][link_type]`, 'other'], [`links[${drop}][remove]`, '1'],
      ['links[2][name]', 'added'], ['links[2][url]', 'https://example.com/added'], ['links[2][direct_asset_path]', ''], ['links[2][link_type]', 'image'],
    ];

    // A form with an error saves nothing, so nothing is sent.
    const refused = await dev.post(`/-/project/${project.id}/releases/edit-hooked`, fields.map(([k, v]): [string, string] => [k, k === 'links[2][url]' ? '' : v]));
    assert.equal(refused.status, 422);

    const saved = await dev.post(`/-/project/${project.id}/releases/edit-hooked`, fields);
    assert.equal(saved.status, 302, saved.text.slice(0, 300));
    await waitFor(got, 1);
    const [delivery] = got();
    assert.equal(delivery.headers['x-gitlab-event'], 'Release Hook');
    assert.equal(delivery.headers['x-gitlab-token'], 'web-form-hook-token');
    assert.match(String(delivery.headers['x-request-id']), /./, 'the form\'s request id');
    const body = JSON.parse(delivery.body.toString());
    assert.equal(body.object_kind, 'release');
    assert.equal(body.action, 'update');
    assert.equal(body.tag, 'edit-hooked');
    assert.equal(body.name, 'Edited in the browser');
    assert.equal(body.description, 'New notes');
    assert.equal(body.released_at, '2030-01-01 00:00:00 UTC');
    // The links as the save left them: the one removed is gone, the changed one changed, the new one there.
    const after = await root('GET', `/api/v4/projects/${project.id}/releases/edit-hooked`);
    const idNamed = (name: string) => after.body.assets.links.find((l: { name: string }) => l.name === name).id;
    assert.equal(body.assets.count, 2);
    assert.deepEqual(
      [...body.assets.links].sort((a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name)),
      [
        { id: idNamed('added'), link_type: 'image', name: 'added', url: 'https://example.com/added' },
        { id: Number(idOf('keep')), link_type: 'runbook', name: 'kept', url: 'https://example.com/keep' },
      ],
    );
    assert.equal(idNamed('kept'), Number(idOf('keep')), 'the kept link is the same row');

    // The hook's log shows the one delivery, as it shows the API's.
    const hooks = await root('GET', `/api/v4/projects/${project.id}/hooks`);
    const hook = hooks.body.find((h: { url: string }) => h.url.endsWith('/edit'));
    const events = await root('GET', `/api/v4/projects/${project.id}/hooks/${hook.id}/events`);
    assert.equal(events.body.length, 1);
    assert.equal(events.body[0].response_status, '200');
    await root('DELETE', `/api/v4/projects/${project.id}/hooks/${hook.id}`);
  });

  test('the edit form sends `update` even when only the name changes (as the API\'s PUT does)', async () => {
    await createRelease(server, project.id, 'rename-only');
    const got = await hookOn('/rename');
    const form = await dev.get(`${releases()}/rename-only/edit`);
    const saved = await dev.post(`/-/project/${project.id}/releases/rename-only`, { authenticity_token: form.token!, name: 'Just renamed', description: '' });
    assert.equal(saved.status, 302, saved.text.slice(0, 300));
    await waitFor(got, 1);
    const body = JSON.parse(got()[0].body.toString());
    assert.deepEqual([body.action, body.name, body.assets.count], ['update', 'Just renamed', 0]);
    const hooks = await root('GET', `/api/v4/projects/${project.id}/hooks`);
    for (const h of hooks.body) await root('DELETE', `/api/v4/projects/${project.id}/hooks/${h.id}`);
  });

  test('the new release form sends one `create` with the links given', async () => {
    const got = await hookOn('/new');
    const form = await dev.get(`${releases()}/new`);
    assert.equal(form.status, 200);
    const created = await dev.post(`/-/project/${project.id}/releases`, {
      authenticity_token: form.token!, tag_name: 'web-made', ref: 'main', name: 'Made in the browser', description: '',
      'links[0][name]': 'app', 'links[0][url]': 'https://example.com/app.zip', 'links[0][direct_asset_path]': '/app', 'links[0][link_type]': 'package',
    });
    assert.equal(created.status, 302, created.text.slice(0, 300));
    await waitFor(got, 1);
    const body = JSON.parse(got()[0].body.toString());
    assert.deepEqual([body.action, body.tag, body.name], ['create', 'web-made', 'Made in the browser']);
    assert.deepEqual(body.assets.links.map((l: { name: string; link_type: string; url: string }) => [l.name, l.link_type, l.url]), [['app', 'package', 'https://example.com/app.zip']]);
  });
});
