import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { ROOT_TOKEN, type RequestOptions, type Response } from './helpers/server.js';
import { createTestStore, type TestStore } from './helpers/store.js';
import { freePort, requestTo, startInstances, stopAll, type Instance } from './helpers/cluster.js';
import { startNginx, type Nginx } from './helpers/nginx.js';

// Two instances on one store behind Debian's nginx, round-robin. Every write is followed at once
// by a read that nginx sends to the OTHER instance, and that read must already see the write.

type Answer<T = any> = Response<T> & { upstream: string };

const instances: Instance[] = [];
let nginx: Nginx | undefined;
let store: TestStore | undefined;
after(async () => {
  await nginx?.stop();
  await stopAll(instances);
  await store?.drop();
});

test('a release-and-links flow through nginx sees every write on the other instance at once', { timeout: 120_000 }, async () => {
  store = await createTestStore();
  const lbPort = await freePort();
  const external = `http://127.0.0.1:${lbPort}`;
  const [a, b] = await startInstances(2, { databaseUrl: store.databaseUrl, env: { EXTERNAL_URL: external } }, instances);
  nginx = await startNginx([a.port, b.port], { port: lbPort });
  const served = new Map<string, number>();

  const call = async <T = any>(method: string, path: string, options: RequestOptions = {}): Promise<Answer<T>> => {
    const res = await requestTo<T>(nginx!.url, method, path, { token: ROOT_TOKEN, ...options });
    const upstream = res.headers.get('x-upstream') ?? '';
    assert.match(upstream, /^127\.0\.0\.1:\d+$/, `${method} ${path} answered by "${upstream}"`);
    served.set(upstream, (served.get(upstream) ?? 0) + 1);
    return { ...res, upstream };
  };
  /** A write, then at once a read that must land on the other instance. */
  const writeThenRead = async (write: () => Promise<Answer>, read: (written: Answer) => Promise<Answer>) => {
    const w = await write();
    const r = await read(w);
    assert.notEqual(r.upstream, w.upstream, 'round-robin sends the read to the other instance');
    return [w, r] as const;
  };

  const [project, projectRead] = await writeThenRead(
    () => call('POST', '/api/v4/projects', { json: { name: 'Balanced', path: 'balanced', visibility: 'private' } }),
    () => call('GET', '/api/v4/projects/root%2Fbalanced'),
  );
  assert.equal(project.status, 201, project.text);
  assert.equal(projectRead.status, 200, projectRead.text);
  assert.deepEqual(projectRead.body, project.body);
  assert.equal(project.body.web_url, `${external}/root/balanced`);
  const releases = `/api/v4/projects/${project.body.id}/releases`;

  const [release, releaseRead] = await writeThenRead(
    () => call('POST', releases, { json: { tag_name: 'v1.0', ref: 'main', assets: { links: [{ name: 'first', url: 'https://example.com/first' }] } } }),
    () => call('GET', `${releases}/v1.0`),
  );
  assert.equal(release.status, 201, release.text);
  assert.equal(releaseRead.status, 200, releaseRead.text);
  assert.deepEqual(releaseRead.body, release.body);
  const links = `${releases}/v1.0/assets/links`;

  // Newest first, as GitLab lists them.
  const expected: any[] = [...release.body.assets.links];
  for (let i = 0; i < 10; i++) {
    const [link, linkRead] = await writeThenRead(
      () => call('POST', links, { json: { name: `asset ${i}`, url: `https://example.com/assets/${i}`, direct_asset_path: `/bin/asset-${i}` } }),
      (w) => call('GET', `${links}/${w.body.id}`),
    );
    assert.equal(link.status, 201, link.text);
    assert.equal(link.body.direct_asset_url, `${external}/root/balanced/-/releases/v1.0/downloads/bin/asset-${i}`);
    assert.equal(linkRead.status, 200, linkRead.text);
    assert.deepEqual(linkRead.body, link.body);
    expected.unshift(link.body);

    const list = await call('GET', `${links}?per_page=100`);
    assert.equal(list.status, 200);
    assert.deepEqual(list.body, expected);
    assert.equal(list.headers.get('x-total'), String(expected.length));
  }

  // A name taken through one instance is taken on the other too.
  const [taken, takenAgain] = await writeThenRead(
    () => call('POST', links, { json: { name: 'asset 3', url: 'https://example.com/other' } }),
    () => call('POST', links, { json: { name: 'asset 3', url: 'https://example.com/other-2' } }),
  );
  for (const r of [taken, takenAgain]) {
    assert.equal(r.status, 400, r.text);
    assert.deepEqual(r.body, { message: { name: ['has already been taken'] } });
  }

  const target = expected[0];
  const [updated, updatedRead] = await writeThenRead(
    () => call('PUT', `${links}/${target.id}`, { json: { name: 'renamed', link_type: 'package' } }),
    () => call('GET', `${links}/${target.id}`),
  );
  assert.equal(updated.status, 200, updated.text);
  assert.equal(updated.body.name, 'renamed');
  assert.equal(updated.body.link_type, 'package');
  assert.deepEqual(updatedRead.body, updated.body);
  expected[0] = updated.body;

  const gone = expected[1];
  const [deleted, deletedRead] = await writeThenRead(
    () => call('DELETE', `${links}/${gone.id}`),
    () => call('GET', `${links}/${gone.id}`),
  );
  assert.equal(deleted.status, 200, deleted.text);
  assert.deepEqual(deleted.body, gone);
  assert.equal(deletedRead.status, 404);
  expected.splice(1, 1);

  const [edited, finalRead] = await writeThenRead(
    () => call('PUT', `${releases}/v1.0`, { json: { description: 'balanced release' } }),
    () => call('GET', `${releases}/v1.0`),
  );
  assert.equal(edited.status, 200, edited.text);
  assert.equal(finalRead.body.description, 'balanced release');
  assert.deepEqual(finalRead.body.assets.links, expected);

  // nginx spread the flow over both instances.
  assert.deepEqual([...served.keys()].sort(), [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`].sort());
});
