import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { startTestServer, ROOT_TOKEN, type TestServer } from './helpers/server.js';
import { createGroup, createProject, createRelease } from './helpers/fixtures.js';

// The seed documents' examples, run as printed: the Release links API page of GitLab 15.x
// (shared/spec/release-links-api.txt) and of GitLab 11.7 (shared/spec/release-links-api-v11.7.txt).
// Only the request host is swapped for the test server; the servers answer with
// EXTERNAL_URL=https://gitlab.example.com and the project ids of the examples, so the documented
// responses can be compared literally.
//
// The documents' example responses are copied below. Four of them predate `direct_asset_url`,
// which GitLab 15.x answers on every link (shared/gitlab-behavior.md §2): there the only
// difference allowed is that key, in its place after `url`.

const DOC_HOST = 'https://gitlab.example.com';

// --- GitLab 15.x page -------------------------------------------------------------------------

const V15_LIST_REQUEST = `curl --header "PRIVATE-TOKEN: <your_access_token>" "https://gitlab.example.com/api/v4/projects/24/releases/v0.1/assets/links"`;
const V15_LIST_RESPONSE = `[
   {
      "id":2,
      "name":"awesome-v0.2.msi",
      "url":"http://192.168.10.15:3000/msi",
      "external":true,
      "link_type":"other"
   },
   {
      "id":1,
      "name":"awesome-v0.2.dmg",
      "url":"http://192.168.10.15:3000",
      "external":true,
      "link_type":"other"
   }
]`;

const V15_GET_REQUEST = `curl --header "PRIVATE-TOKEN: <your_access_token>" "https://gitlab.example.com/api/v4/projects/24/releases/v0.1/assets/links/1"`;
const V15_GET_RESPONSE = `{
   "id":1,
   "name":"awesome-v0.2.dmg",
   "url":"http://192.168.10.15:3000",
   "external":true,
   "link_type":"other"
}`;

const V15_CREATE_REQUEST = `curl --request POST \\
    --header "PRIVATE-TOKEN: <your_access_token>" \\
    --data name="hellodarwin-amd64" \\
    --data url="https://gitlab.example.com/mynamespace/hello/-/jobs/688/artifacts/raw/bin/hello-darwin-amd64" \\
    --data filepath="/bin/hellodarwin-amd64" \\
    "https://gitlab.example.com/api/v4/projects/20/releases/v1.7.0/assets/links"`;
const V15_CREATE_RESPONSE = `{
   "id":2,
   "name":"hellodarwin-amd64",
   "url":"https://gitlab.example.com/mynamespace/hello/-/jobs/688/artifacts/raw/bin/hello-darwin-amd64",
   "direct_asset_url":"https://gitlab.example.com/mynamespace/hello/-/releases/v1.7.0/downloads/bin/hellodarwin-amd64",
   "external":false,
   "link_type":"other"
}`;

const V15_UPDATE_REQUEST = `curl --request PUT --data name="new name" --data link_type="runbook" \\
     --header "PRIVATE-TOKEN: <your_access_token>" \\
     "https://gitlab.example.com/api/v4/projects/24/releases/v0.1/assets/links/1"`;
const V15_UPDATE_RESPONSE = `{
   "id":1,
   "name":"new name",
   "url":"http://192.168.10.15:3000",
   "external":true,
   "link_type":"runbook"
}`;

const V15_DELETE_REQUEST = `curl --request DELETE --header "PRIVATE-TOKEN: <your_access_token>" "https://gitlab.example.com/api/v4/projects/24/releases/v0.1/assets/links/1"`;
const V15_DELETE_RESPONSE = `{
   "id":1,
   "name":"new name",
   "url":"http://192.168.10.15:3000",
   "external":true,
   "link_type":"other"
}`;

// --- GitLab 11.7 page (its token is printed in the commands) ----------------------------------

const V11_TOKEN = 'n671WNGecHugsdEDPsyo';
const V11_CREATE_REQUEST = `curl --request POST \\
    --header "PRIVATE-TOKEN: n671WNGecHugsdEDPsyo" \\
    --data name="awesome-v0.2.dmg" \\
    --data url="http://192.168.10.15:3000" \\
    "https://gitlab.example.com/api/v4/projects/24/releases/v0.1/assets/links"`;
const V11_CREATE_RESPONSE = `{
   "id":1,
   "name":"awesome-v0.2.dmg",
   "url":"http://192.168.10.15:3000",
   "external":true,
   "link_type":"other"
}`;
const V11_LIST_REQUEST = `curl --header "PRIVATE-TOKEN: n671WNGecHugsdEDPsyo" "https://gitlab.example.com/api/v4/projects/24/releases/v0.1/assets/links"`;
const V11_GET_REQUEST = `curl --header "PRIVATE-TOKEN: n671WNGecHugsdEDPsyo" "https://gitlab.example.com/api/v4/projects/24/releases/v0.1/assets/links/1"`;
const V11_UPDATE_REQUEST = `curl --request PUT --data name="new name" --data link_type="runbook" --header "PRIVATE-TOKEN: n671WNGecHugsdEDPsyo" "https://gitlab.example.com/api/v4/projects/24/releases/v0.1/assets/links/1"`;
const V11_DELETE_REQUEST = `curl --request DELETE --header "PRIVATE-TOKEN: n671WNGecHugsdEDPsyo" "https://gitlab.example.com/api/v4/projects/24/releases/v0.1/assets/links/1"`;

// ------------------------------------------------------------------------------------------------

interface CurlResult {
  status: number;
  contentType: string;
  text: string;
}

/**
 * Runs a documented curl command with /bin/sh exactly as printed, after swapping the request's
 * host (only the quoted request URL, never the data) and the token placeholder. Output options are
 * appended so the status and Content-Type can be read back.
 */
function runCurl(command: string, server: TestServer, token?: string): Promise<CurlResult> {
  let line = command.replaceAll(`"${DOC_HOST}/api/v4/`, `"${server.url}/api/v4/`);
  if (token) line = line.replaceAll('<your_access_token>', token);
  assert.ok(line.includes(server.url), 'request host swapped');
  line += ` --silent --show-error --write-out '\\n%{http_code} %{content_type}'`;
  return new Promise((resolve, reject) => {
    execFile('/bin/sh', ['-c', line], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_PROXY: '*', no_proxy: '*' } }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`${line}\n${stderr}`));
      const cut = stdout.lastIndexOf('\n');
      const [code, contentType] = stdout.slice(cut + 1).split(' ');
      resolve({ status: Number(code), contentType, text: stdout.slice(0, cut) });
    });
  });
}

/** Keys of the documented object, with `direct_asset_url` after `url` when the document predates it. */
function expectedKeys(documented: Record<string, unknown>): string[] {
  const keys = Object.keys(documented);
  if (keys.includes('direct_asset_url')) return keys;
  return keys.flatMap((k) => (k === 'url' ? ['url', 'direct_asset_url'] : [k]));
}

/** Same keys in the same order, and the documented values. */
function assertLikeDoc(actual: Record<string, unknown>, documented: Record<string, unknown>, skip: string[] = []) {
  assert.deepEqual(Object.keys(actual), expectedKeys(documented));
  for (const [key, value] of Object.entries(documented)) {
    if (!skip.includes(key)) assert.deepEqual(actual[key], value, key);
  }
  if (!('direct_asset_url' in documented)) {
    // A link without filepath points straight at its url.
    assert.equal(actual.direct_asset_url, actual.url);
  }
}

async function fillerProjects(server: TestServer, upTo: number, token: string) {
  const ids: number[] = [];
  while (ids.length === 0 || ids[ids.length - 1] < upTo) {
    ids.push((await createProject(server, `filler-${ids.length + 1}`, { token })).id);
  }
  return ids;
}

describe('GitLab 15.x page: create with filepath (project 20, v1.7.0)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ EXTERNAL_URL: DOC_HOST });
    await fillerProjects(server, 19, ROOT_TOKEN);
    const group = await createGroup(server, 'mynamespace');
    const hello = await createProject(server, 'hello', { namespaceId: group.id });
    assert.equal(hello.id, 20, 'the example\'s project id');
    assert.equal(hello.web_url, `${DOC_HOST}/mynamespace/hello`);
    await createRelease(server, hello.id, 'v1.7.0');
    // The example's link is the instance's second one.
    await createRelease(server, 1, 'other', [{ name: 'first', url: 'https://example.com/first' }]);
  });
  after(async () => server.close());

  test('the printed curl command (form data name, url, filepath) gives the printed response', async () => {
    const res = await runCurl(V15_CREATE_REQUEST, server, ROOT_TOKEN);
    assert.equal(res.status, 201, res.text);
    assert.equal(res.contentType, 'application/json');
    const documented = JSON.parse(V15_CREATE_RESPONSE);
    const actual = JSON.parse(res.text);
    assert.deepEqual(Object.keys(actual), Object.keys(documented));
    assert.deepEqual(actual, documented);
    // Byte for byte, apart from the document's pretty printing.
    assert.equal(res.text, JSON.stringify(documented));
  });

  test('running it again: the link exists, 400 with url and name taken (and filepath)', async () => {
    const res = await runCurl(V15_CREATE_REQUEST, server, ROOT_TOKEN);
    assert.equal(res.status, 400);
    assert.equal(res.contentType, 'application/json');
    assert.equal(res.text, '{"message":{"url":["has already been taken"],"name":["has already been taken"],"filepath":["has already been taken"]}}');
  });
});

describe('GitLab 15.x and 11.7 pages: list, get, create, update, delete (project 24, v0.1)', () => {
  let server: TestServer;
  before(async () => {
    // The 11.7 page prints its token; the server's root owns exactly that token.
    server = await startTestServer({ EXTERNAL_URL: DOC_HOST, RELINKS_INITIAL_ROOT_TOKEN: V11_TOKEN });
    const ids = await fillerProjects(server, 24, V11_TOKEN);
    assert.equal(ids[ids.length - 1], 24, 'the example\'s project id');
    await createRelease(server, 24, 'v0.1', [], V11_TOKEN);
  });
  after(async () => server.close());

  test('11.7 create: the printed command, token and all, gives the printed link (id 1)', async () => {
    const res = await runCurl(V11_CREATE_REQUEST, server);
    assert.equal(res.status, 201, res.text);
    assert.equal(res.contentType, 'application/json');
    assertLikeDoc(JSON.parse(res.text), JSON.parse(V11_CREATE_RESPONSE));
    // The list example's second link, created the same way.
    const msi = await runCurl(V11_CREATE_REQUEST.replace('awesome-v0.2.dmg', 'awesome-v0.2.msi').replace('"http://192.168.10.15:3000"', '"http://192.168.10.15:3000/msi"'), server);
    assert.equal(msi.status, 201, msi.text);
    assert.equal(JSON.parse(msi.text).id, 2);
  });

  test('15.x list: the printed response, newest first', async () => {
    const res = await runCurl(V15_LIST_REQUEST, server, V11_TOKEN);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.contentType, 'application/json');
    const actual = JSON.parse(res.text) as Record<string, unknown>[];
    const documented = JSON.parse(V15_LIST_RESPONSE) as Record<string, unknown>[];
    assert.equal(actual.length, documented.length);
    actual.forEach((link, i) => assertLikeDoc(link, documented[i]));
  });

  test('11.7 list: the same command with the printed token, the same response', async () => {
    const res = await runCurl(V11_LIST_REQUEST, server);
    const documented = JSON.parse(V15_LIST_RESPONSE) as Record<string, unknown>[];
    JSON.parse(res.text).forEach((link: Record<string, unknown>, i: number) => assertLikeDoc(link, documented[i]));
  });

  test('15.x and 11.7 get: the printed response', async () => {
    for (const res of [await runCurl(V15_GET_REQUEST, server, V11_TOKEN), await runCurl(V11_GET_REQUEST, server)]) {
      assert.equal(res.status, 200, res.text);
      assert.equal(res.contentType, 'application/json');
      assertLikeDoc(JSON.parse(res.text), JSON.parse(V15_GET_RESPONSE));
    }
  });

  test('15.x and 11.7 update: name "new name", link_type runbook', async () => {
    for (const res of [await runCurl(V15_UPDATE_REQUEST, server, V11_TOKEN), await runCurl(V11_UPDATE_REQUEST, server)]) {
      assert.equal(res.status, 200, res.text);
      assert.equal(res.contentType, 'application/json');
      assertLikeDoc(JSON.parse(res.text), JSON.parse(V15_UPDATE_RESPONSE));
    }
  });

  test('15.x delete: 200 with the deleted link; then 11.7\'s delete finds nothing', async () => {
    const res = await runCurl(V15_DELETE_REQUEST, server, V11_TOKEN);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.contentType, 'application/json');
    const actual = JSON.parse(res.text);
    // The page's delete example shows link_type "other" right after its update example set
    // "runbook": the deleted link is answered as it was, so here it is "runbook".
    assertLikeDoc(actual, JSON.parse(V15_DELETE_RESPONSE), ['link_type']);
    assert.equal(actual.link_type, 'runbook');
    const again = await runCurl(V11_DELETE_REQUEST, server);
    assert.equal(again.status, 404);
    assert.equal(again.text, '{"message":"404 Not found"}');
    const left = await runCurl(V11_LIST_REQUEST, server);
    assert.deepEqual(JSON.parse(left.text).map((l: { id: number }) => l.id), [2]);
  });

  test('without a token the private project is hidden, with a wrong one 401', async () => {
    const hidden = await runCurl(V15_LIST_REQUEST.replace('--header "PRIVATE-TOKEN: <your_access_token>" ', ''), server);
    assert.equal(hidden.status, 404);
    assert.equal(hidden.text, '{"message":"404 Project Not Found"}');
    const wrong = await runCurl(V15_LIST_REQUEST, server, 'not-the-token');
    assert.equal(wrong.status, 401);
    assert.equal(wrong.text, '{"message":"401 Unauthorized"}');
  });
});
