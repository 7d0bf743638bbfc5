import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ROOT_TOKEN, startTestServer, type TestServer } from './helpers/server.js';
import { createProject } from './helpers/fixtures.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { eventually } from './helpers/eventually.js';
import { selfSignedCertificate } from './helpers/tls.js';

// enable_ssl_verification against an HTTPS receiver whose certificate is self-signed (made at test
// time): with it on (GitLab's default) no request gets through, the attempt is logged with the TLS
// error and retried; with it off the same receiver gets the delivery.

let server: TestServer;
let receiver: Receiver;

before(async () => {
  receiver = await startReceiver({ tls: selfSignedCertificate() });
  // Retries far enough apart that the hook is still within GitLab's 3 free failures when the test turns verification off.
  server = await startTestServer({ WEBHOOK_ALLOW_LOCAL_REQUESTS: 'true', WEBHOOK_POLL_INTERVAL_MS: '50', WEBHOOK_RETRY_BASE_MS: '1000', WEBHOOK_RETRY_MAX_MS: '2000', WEBHOOK_TIMEOUT_MS: '3000' });
});
after(async () => {
  await receiver?.close();
  await server?.close();
});

const root = (method: string, path: string, json?: unknown) => server.request(method, path, { token: ROOT_TOKEN, json });
const requestsTo = (path: string) => receiver.requests.filter((r) => r.url === path);
const SELF_SIGNED = /self[- ]signed certificate/;

describe('enable_ssl_verification', () => {
  test('true: a self-signed receiver gets nothing, each attempt is logged with the TLS error and retried; false: delivered', async () => {
    const p = await createProject(server, `tls${process.pid}`);
    const P = `/api/v4/projects/${p.id}/hooks`;
    const strict = await root('POST', P, { url: `${receiver.url}/strict`, releases_events: true });
    assert.equal(strict.status, 201, strict.text);
    assert.equal(strict.body.enable_ssl_verification, true, 'GitLab\'s default');
    const lax = await root('POST', P, { url: `${receiver.url}/lax`, releases_events: true, enable_ssl_verification: false });
    assert.equal(lax.status, 201, lax.text);
    assert.equal(lax.body.enable_ssl_verification, false);

    assert.equal((await root('POST', `/api/v4/projects/${p.id}/releases`, { tag_name: 'v1', ref: 'main' })).status, 201);
    await eventually(async () => requestsTo('/lax').length === 1, 10_000, 'the unverified hook delivered');
    assert.equal(JSON.parse(requestsTo('/lax')[0].body.toString()).tag, 'v1');

    // The verified hook: two attempts failed in the handshake, so not one request reached the receiver.
    const events = async () => (await root('GET', `${P}/${strict.body.id}/events`)).body as Array<{ response_status: string; internal_error_message: string | null }>;
    await eventually(async () => (await events()).length >= 2, 10_000, 'two attempts logged');
    for (const event of await events()) {
      assert.equal(event.response_status, 'internal error');
      assert.match(String(event.internal_error_message), SELF_SIGNED);
    }
    assert.equal(requestsTo('/strict').length, 0);
    const db = server.running.store.db;
    const pending = await db.selectFrom('web_hook_deliveries').selectAll().where('hook_id', '=', strict.body.id).executeTakeFirstOrThrow();
    assert.equal(pending.state, 'pending', 'still to be retried');
    assert.ok(pending.attempts >= 2);
    assert.match(String(pending.last_error), SELF_SIGNED);
    const shown = await root('GET', `${P}/${strict.body.id}`);
    assert.equal(shown.body.alert_status, 'executable', 'within GitLab\'s free failures');

    // Verification off: the pending delivery goes through on its next attempt, with its Idempotency-Key.
    const off = await root('PUT', `${P}/${strict.body.id}`, { enable_ssl_verification: false });
    assert.equal(off.status, 200, off.text);
    assert.equal(off.body.enable_ssl_verification, false);
    await eventually(async () => (await db.selectFrom('web_hook_deliveries').select('state').where('hook_id', '=', strict.body.id).executeTakeFirstOrThrow()).state === 'delivered', 10_000, 'delivered once verification is off');
    const [got] = requestsTo('/strict');
    assert.equal(JSON.parse(got.body.toString()).tag, 'v1');
    assert.equal(got.headers['idempotency-key'], pending.idempotency_key);
    assert.equal((await events())[0].response_status, '200');
    assert.equal((await root('GET', `${P}/${strict.body.id}`)).body.alert_status, 'executable');

    // The test call goes the same way (on a hook of its own: a failed test counts as a failure too).
    const checked = await root('POST', P, { url: `${receiver.url}/tested`, releases_events: true });
    const tested = await root('POST', `${P}/${checked.body.id}/test/releases_events`);
    assert.equal(tested.status, 422);
    assert.match(tested.text, SELF_SIGNED);
    assert.equal(requestsTo('/tested').length, 0);
    assert.equal((await root('PUT', `${P}/${checked.body.id}`, { enable_ssl_verification: false })).status, 200);
    assert.equal((await root('POST', `${P}/${checked.body.id}/test/releases_events`)).status, 201);
    assert.equal(requestsTo('/tested').length, 1);
  });
});
