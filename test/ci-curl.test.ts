import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startTestServer, ROOT_TOKEN, type TestServer } from './helpers/server.js';
import { addMember, createGroup, createProject, createUser } from './helpers/fixtures.js';
import { END_JOB_TOKEN, FETCH_JOB_TOKEN, isolatedEnv, runTool } from './helpers/ci.js';

// curl with `JOB-TOKEN: $CI_JOB_TOKEN`, as a CI job script runs it: docs/ci.md's way to fetch a job
// token, the seed doc's create example, a direct download, and ending the token.

let server: TestServer;
let home: string;
before(async () => {
  server = await startTestServer();
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'relinks-curl-'));
});
after(async () => {
  fs.rmSync(home, { recursive: true, force: true });
  await server.close();
});

const sh = (script: string, env: Record<string, string>) => runTool('sh', ['-euc', script], { cwd: home, env: isolatedEnv(home, env) });


test("the seed doc's create example, sent with JOB-TOKEN: $CI_JOB_TOKEN", async () => {
  const group = await createGroup(server, 'mynamespace');
  const project = await createProject(server, 'hello', { namespaceId: group.id });
  const bot = await createUser(server);
  await addMember(server, project.id, bot.id, 30);
  const sha = '4c9f2fd1e7a3b0c5d6e8f9a0b1c2d3e4f5a6b7c8';
  const ext = server.config.externalUrl;

  const script = `${FETCH_JOB_TOKEN}
# The release itself: its tag is new to relinks, and the job's commit becomes its target.
curl --fail --silent --show-error --output /dev/null --request POST --header "JOB-TOKEN: $CI_JOB_TOKEN" \\
  --data tag_name=v1.7.0 --data name="hello 1.7.0" \\
  "$RELINKS_URL/api/v4/projects/$RELINKS_PROJECT_ID/releases"
# The seed doc's example, host swapped and PRIVATE-TOKEN replaced by the job token.
curl --request POST \\
    --header "JOB-TOKEN: $CI_JOB_TOKEN" \\
    --data name="hellodarwin-amd64" \\
    --data url="${ext}/mynamespace/hello/-/jobs/688/artifacts/raw/bin/hello-darwin-amd64" \\
    --data filepath="/bin/hellodarwin-amd64" \\
    "$RELINKS_URL/api/v4/projects/$RELINKS_PROJECT_ID/releases/v1.7.0/assets/links"
echo
# Its direct asset URL, resolved with the job token.
curl --silent --output /dev/null --write-out '%{http_code} %{redirect_url}\\n' --header "JOB-TOKEN: $CI_JOB_TOKEN" \\
  "$RELINKS_URL/mynamespace/hello/-/releases/v1.7.0/downloads/bin/hellodarwin-amd64"
# The job is over.
${END_JOB_TOKEN}curl --silent --output /dev/null --write-out '%{http_code}\\n' --header "JOB-TOKEN: $CI_JOB_TOKEN" \\
  "$RELINKS_URL/api/v4/projects/$RELINKS_PROJECT_ID/releases/v1.7.0/assets/links"
`;
  const result = await sh(script, {
    RELINKS_URL: server.url,
    RELINKS_TOKEN: bot.token,
    RELINKS_PROJECT_ID: String(project.id),
    CI_COMMIT_SHA: sha,
  });
  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
  const [created, download, afterEnd] = result.stdout.trim().split('\n');
  const link = JSON.parse(created);
  assert.deepEqual(link, {
    id: link.id,
    name: 'hellodarwin-amd64',
    url: `${ext}/mynamespace/hello/-/jobs/688/artifacts/raw/bin/hello-darwin-amd64`,
    direct_asset_url: `${ext}/mynamespace/hello/-/releases/v1.7.0/downloads/bin/hellodarwin-amd64`,
    external: false,
    link_type: 'other',
  });
  assert.equal(download, `302 ${ext}/mynamespace/hello/-/jobs/688/artifacts/raw/bin/hello-darwin-amd64`);
  assert.equal(afterEnd, '401');

  const release = await server.request('GET', `/api/v4/projects/${project.id}/releases/v1.7.0`, { token: bot.token });
  assert.equal(release.body.commit.id, sha);
  assert.equal(release.body.author.username, bot.username);
});

test('job_token as a parameter works for curl too, and a finished job gets 401 {"message":"401 Unauthorized"}', async () => {
  const project = await createProject(server, 'params');
  const script = `${FETCH_JOB_TOKEN}
curl --silent --request POST --data tag_name=v1 --data job_token="$CI_JOB_TOKEN" "$RELINKS_URL/api/v4/projects/$RELINKS_PROJECT_ID/releases" > /dev/null
curl --silent --data name=bin --data url=https://example.com/bin "$RELINKS_URL/api/v4/projects/$RELINKS_PROJECT_ID/releases/v1/assets/links?job_token=$CI_JOB_TOKEN"
echo
${END_JOB_TOKEN}curl --silent --header "JOB-TOKEN: $CI_JOB_TOKEN" "$RELINKS_URL/api/v4/projects/$RELINKS_PROJECT_ID/releases"
`;
  const result = await sh(script, { RELINKS_URL: server.url, RELINKS_TOKEN: ROOT_TOKEN, RELINKS_PROJECT_ID: String(project.id), CI_COMMIT_SHA: 'main' });
  assert.equal(result.code, 0, result.stderr);
  const [link, refused] = result.stdout.trim().split('\n');
  assert.equal(JSON.parse(link).name, 'bin');
  assert.deepEqual(JSON.parse(refused), { message: '401 Unauthorized' });
});
