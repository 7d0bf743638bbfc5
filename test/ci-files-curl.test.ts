import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT_TOKEN, type TestServer } from './helpers/server.js';
import { addMember, createGroup, createProject, createUser } from './helpers/fixtures.js';
import { END_JOB_TOKEN, FETCH_JOB_TOKEN, isolatedEnv, mintJobToken, runTool } from './helpers/ci.js';
import { rememberSecret } from './helpers/secrets.js';
import { assertServes, sha256, startSelfNamedServer, writeRandomFile } from './helpers/hosted-files.js';

// curl as GitLab's documentation has CI jobs use the generic package registry for release assets:
// upload with `JOB-TOKEN: $CI_JOB_TOKEN` and `--upload-file`, download with the same header or
// `--user gitlab-ci-token:$CI_JOB_TOKEN`, link the package file from a release with
// `direct_asset_path`, and fetch the link's `direct_asset_url` with `--location`. Then the requests
// python-gitlab's GenericPackageManager and package managers send (its source: raw PUT body with
// Content-Type application/octet-stream, PRIVATE-TOKEN, `select=package_file`), reproduced with curl.

let server: TestServer;
let home: string;
before(async () => {
  server = await startSelfNamedServer();
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'relinks-files-curl-'));
});
after(async () => {
  fs.rmSync(home, { recursive: true, force: true });
  await server.close();
});

const sh = (cwd: string, script: string, env: Record<string, string>) => runTool('sh', ['-euc', script], { cwd, env: isolatedEnv(home, env) });
const json = (text: string) => JSON.parse(text);

/** `sha256sum` output as {file: hash}. */
const sums = (text: string) => Object.fromEntries(text.trim().split('\n').map((l) => l.split(/\s+\*?/).reverse()));

test("GitLab's CI example: a job uploads binaries to the generic registry with its job token, links them, and they download", async () => {
  const group = await createGroup(server, 'mynamespace');
  const project = await createProject(server, 'hello', { namespaceId: group.id });
  const bot = await createUser(server);
  await addMember(server, project.id, bot.id, 30);
  const sha = '4c9f2fd1e7a3b0c5d6e8f9a0b1c2d3e4f5a6b7c8';
  const job = fs.mkdtempSync(path.join(home, 'job-'));
  const linux = writeRandomFile(path.join(job, 'bin'), 'hello-linux-amd64', 500_000);
  const darwin = writeRandomFile(path.join(job, 'bin'), 'hello-darwin-arm64', 3_000);

  const script = `${FETCH_JOB_TOKEN}
export CI_API_V4_URL="$RELINKS_URL/api/v4" CI_PROJECT_ID="$RELINKS_PROJECT_ID"
PACKAGE_REGISTRY_URL="\${CI_API_V4_URL}/projects/\${CI_PROJECT_ID}/packages/generic/hello/\${PACKAGE_VERSION}"
# upload: one file at the package's top, one in a folder of it.
curl --fail-with-body --location --header "JOB-TOKEN: \${CI_JOB_TOKEN}" \\
  --upload-file bin/hello-linux-amd64 "\${PACKAGE_REGISTRY_URL}/hello-linux-amd64"
echo
curl --fail-with-body --location --header "JOB-TOKEN: \${CI_JOB_TOKEN}" \\
  --upload-file bin/hello-darwin-arm64 "\${PACKAGE_REGISTRY_URL}/darwin/arm64/hello"
echo
# release: the tag is new to relinks, so the job's commit becomes its target; then the links.
curl --fail-with-body --silent --output /dev/null --request POST --header "JOB-TOKEN: $CI_JOB_TOKEN" \\
  --data tag_name="v\${PACKAGE_VERSION}" --data name="hello \${PACKAGE_VERSION}" \\
  "$CI_API_V4_URL/projects/$CI_PROJECT_ID/releases"
curl --fail-with-body --silent --request POST --header "JOB-TOKEN: $CI_JOB_TOKEN" \\
  --data name="hello-linux-amd64" --data url="\${PACKAGE_REGISTRY_URL}/hello-linux-amd64" \\
  --data direct_asset_path="/bin/hello-linux-amd64" --data link_type=package \\
  "$CI_API_V4_URL/projects/$CI_PROJECT_ID/releases/v\${PACKAGE_VERSION}/assets/links" > linux-link.json
curl --fail-with-body --silent --request POST --header "JOB-TOKEN: $CI_JOB_TOKEN" \\
  --data name="hello-darwin-arm64" --data url="\${PACKAGE_REGISTRY_URL}/darwin/arm64/hello" \\
  --data direct_asset_path="/bin/hello-darwin-arm64" --data link_type=package \\
  "$CI_API_V4_URL/projects/$CI_PROJECT_ID/releases/v\${PACKAGE_VERSION}/assets/links" > darwin-link.json
direct() { node -pe 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).direct_asset_url' "$1"; }
# download: the docs' two ways, the link's direct_asset_url, and a download cut short then resumed.
mkdir dl
curl --fail --silent --location --header "JOB-TOKEN: $CI_JOB_TOKEN" \\
  "\${PACKAGE_REGISTRY_URL}/hello-linux-amd64" --output dl/by-header
curl --fail --silent --location --user "gitlab-ci-token:$CI_JOB_TOKEN" \\
  "\${PACKAGE_REGISTRY_URL}/hello-linux-amd64" --output dl/by-basic
curl --fail --silent --location --header "JOB-TOKEN: $CI_JOB_TOKEN" "$(direct linux-link.json)" --output dl/by-direct-url
curl --fail --silent --location --header "JOB-TOKEN: $CI_JOB_TOKEN" "$(direct darwin-link.json)" --output dl/darwin-by-direct-url
head -c 123456 dl/by-header > dl/resumed
curl --fail --silent --location --continue-at - --header "JOB-TOKEN: $CI_JOB_TOKEN" \\
  "\${PACKAGE_REGISTRY_URL}/hello-linux-amd64" --output dl/resumed
sha256sum dl/*
# The job is over: its token opens nothing any more.
${END_JOB_TOKEN}curl --silent --output /dev/null --write-out '%{http_code}\\n' --header "JOB-TOKEN: $CI_JOB_TOKEN" "\${PACKAGE_REGISTRY_URL}/hello-linux-amd64"
curl --silent --output /dev/null --write-out '%{http_code}\\n' --user "gitlab-ci-token:$CI_JOB_TOKEN" "\${PACKAGE_REGISTRY_URL}/hello-linux-amd64"
`;
  const result = await sh(job, script, {
    RELINKS_URL: server.url,
    RELINKS_TOKEN: bot.token,
    RELINKS_PROJECT_ID: String(project.id),
    CI_COMMIT_SHA: sha,
    PACKAGE_VERSION: '1.7.0',
  });
  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
  const lines = result.stdout.trim().split('\n');
  assert.deepEqual(lines.slice(0, 2).map(json), [{ message: '201 Created' }, { message: '201 Created' }]);
  assert.deepEqual(lines.slice(-2), ['401', '401'], 'an ended job token is refused, as a header and as a password');
  assert.deepEqual(sums(lines.slice(2, -2).join('\n')), {
    'dl/by-header': linux.sha256,
    'dl/by-basic': linux.sha256,
    'dl/by-direct-url': linux.sha256,
    'dl/darwin-by-direct-url': darwin.sha256,
    'dl/resumed': linux.sha256,
  });

  // The links as relinks keeps them: to the registry on relinks, with their direct asset URLs.
  const ext = server.config.externalUrl;
  const registry = `${ext}/api/v4/projects/${project.id}/packages/generic/hello/1.7.0`;
  const web = `${ext}/mynamespace/hello/-/releases/v1.7.0/downloads`;
  const release = await server.request('GET', `/api/v4/projects/${project.id}/releases/v1.7.0`, { token: bot.token });
  assert.equal(release.body.commit.id, sha);
  const links = release.body.assets.links.map(({ id: _id, ...rest }: { id: number }) => rest);
  assert.deepEqual(
    links.sort((a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name)),
    [
      { name: 'hello-darwin-arm64', url: `${registry}/darwin/arm64/hello`, direct_asset_url: `${web}/bin/hello-darwin-arm64`, external: true, link_type: 'package' },
      { name: 'hello-linux-amd64', url: `${registry}/hello-linux-amd64`, direct_asset_url: `${web}/bin/hello-linux-amd64`, external: true, link_type: 'package' },
    ],
  );
  // The stored package: both files, the folder kept in the name as GitLab stores it.
  const pkgs = await server.request('GET', `/api/v4/projects/${project.id}/packages?package_name=hello`, { token: bot.token });
  const files = await server.request('GET', `/api/v4/projects/${project.id}/packages/${pkgs.body[0].id}/package_files`, { token: bot.token });
  assert.deepEqual(
    files.body.map((f: { file_name: string; size: number; file_sha256: string }) => [f.file_name, f.size, f.file_sha256]).sort(),
    [
      ['darwin%2Farm64%2Fhello', 3_000, darwin.sha256],
      ['hello-linux-amd64', 500_000, linux.sha256],
    ],
  );
  // And what a browser following the direct asset URL gets, with the bot's own token.
  await assertServes(server, `${web}/bin/hello-darwin-arm64`, darwin, { 'PRIVATE-TOKEN': bot.token });
});

test("python-gitlab's generic package calls, reproduced with curl: upload (raw body, select=package_file), download, list, delete", async () => {
  const group = await createGroup(server, 'pyorg');
  const project = await createProject(server, 'tools', { namespaceId: group.id });
  const maintainer = await createUser(server);
  await addMember(server, project.id, maintainer.id, 40);
  const dir = fs.mkdtempSync(path.join(home, 'py-'));
  const archive = writeRandomFile(dir, 'hello.tar.gz', 150_000);
  const second = writeRandomFile(dir, 'hello2.tar.gz', 10);

  // python-gitlab sends its requests with these headers (gitlab/client.py: PRIVATE-TOKEN, its
  // User-Agent; a raw body goes as application/octet-stream).
  const PY = `-H "PRIVATE-TOKEN: $TOKEN" -H "User-Agent: python-gitlab/4.6.0" -H "Accept: */*"`;
  const base = `"$API/projects/$PROJECT_ID/packages/generic/hello-world/v1.0.0`;
  const script = `
# project.generic_packages.upload(package_name="hello-world", package_version="v1.0.0", file_name="hello.tar.gz", path=...)
curl --fail-with-body --silent --request PUT ${PY} -H "Content-Type: application/octet-stream" --data-binary @hello.tar.gz ${base}/hello.tar.gz"
echo
# ... with select="package_file"
curl --fail-with-body --silent --request PUT ${PY} -H "Content-Type: application/octet-stream" --data-binary @hello2.tar.gz ${base}/hello2.tar.gz?select=package_file"
echo
# project.generic_packages.download(...) and with iterator=True: the bytes, streamed
curl --fail --silent ${PY} ${base}/hello.tar.gz" --output downloaded.tar.gz
sha256sum downloaded.tar.gz
# project.packages.list(package_type="generic")
curl --fail-with-body --silent ${PY} "$API/projects/$PROJECT_ID/packages?package_type=generic"
echo
`;
  const env = { API: `${server.url}/api/v4`, TOKEN: maintainer.token, PROJECT_ID: String(project.id) };
  const result = await sh(dir, script, env);
  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
  const [created, selected, downloaded, listed] = result.stdout.trim().split('\n');
  assert.deepEqual(json(created), { message: '201 Created' });
  // python-gitlab's own test of select="package_file" checks these two, and GitLab answers the rest.
  const file = json(selected);
  assert.equal(file.file_name, 'hello2.tar.gz');
  assert.equal(file.size, 10);
  assert.equal(file.file_sha256, second.sha256);
  assert.equal(file.file.url, `${server.config.externalUrl}/api/v4/projects/${project.id}/packages/generic/hello-world/v1.0.0/hello2.tar.gz`);
  assert.equal(sums(downloaded)['downloaded.tar.gz'], archive.sha256);
  const [pkg] = json(listed);
  assert.deepEqual([pkg.name, pkg.version, pkg.package_type], ['hello-world', 'v1.0.0', 'generic']);
  assert.equal(pkg.id, file.package_id);

  // package.package_files.list(), package_files.delete(id), then project.packages.delete(id).
  const more = await sh(
    dir,
    `curl --fail-with-body --silent ${PY} "$API/projects/$PROJECT_ID/packages/$PACKAGE_ID/package_files"
echo
curl --silent --write-out '%{http_code}\\n' --request DELETE ${PY} "$API/projects/$PROJECT_ID/packages/$PACKAGE_ID/package_files/$FILE_ID"
curl --silent --output /dev/null --write-out '%{http_code}\\n' ${PY} ${base}/hello2.tar.gz"
curl --silent --output /dev/null --write-out '%{http_code}\\n' ${PY} ${base}/hello.tar.gz"
curl --silent --write-out '%{http_code}\\n' --request DELETE ${PY} "$API/projects/$PROJECT_ID/packages/$PACKAGE_ID"
curl --silent --output /dev/null --write-out '%{http_code}\\n' ${PY} ${base}/hello.tar.gz"
`,
    { ...env, PACKAGE_ID: String(pkg.id), FILE_ID: String(file.id) },
  );
  assert.equal(more.code, 0, more.stderr);
  const [filesJson, ...codes] = more.stdout.trim().split('\n');
  assert.deepEqual(
    json(filesJson).map((f: { file_name: string; size: number; file_sha256: string }) => [f.file_name, f.size, f.file_sha256]),
    [
      ['hello.tar.gz', 150_000, archive.sha256],
      ['hello2.tar.gz', 10, second.sha256],
    ],
  );
  assert.deepEqual(codes, ['204', '404', '200', '204', '404']);
  assert.deepEqual((await server.request('GET', `/api/v4/projects/${project.id}/packages`, { token: ROOT_TOKEN })).body, []);
});

test("python-gitlab's generic package calls with a job token (`gitlab.Gitlab(url, job_token=CI_JOB_TOKEN)`), reproduced with curl: upload, select=package_file, download", async () => {
  const group = await createGroup(server, 'pyci');
  const project = await createProject(server, 'tools', { namespaceId: group.id });
  const bot = await createUser(server);
  await addMember(server, project.id, bot.id, 30);
  const job = await mintJobToken(server, project.id, { token: bot.token });
  rememberSecret(job.token);
  const dir = fs.mkdtempSync(path.join(home, 'pyjob-'));
  const archive = writeRandomFile(dir, 'tool.tar.gz', 200_000);
  const checksum = writeRandomFile(dir, 'tool.tar.gz.sha256', 64);

  // With job_token= set, python-gitlab sends `JOB-TOKEN: <token>` and no PRIVATE-TOKEN or
  // Authorization (gitlab/client.py, _set_auth_info); in CI the project comes from
  // `gl.projects.get(CI_PROJECT_ID, lazy=True)`, which sends nothing.
  const PY = `-H "JOB-TOKEN: $CI_JOB_TOKEN" -H "User-Agent: python-gitlab/4.6.0" -H "Accept: */*"`;
  const base = `"$CI_API_V4_URL/projects/$CI_PROJECT_ID/packages/generic/tool/1.4.0`;
  const script = `
# project.generic_packages.upload(package_name="tool", package_version="1.4.0", file_name="tool.tar.gz", path="tool.tar.gz")
curl --fail-with-body --silent --request PUT ${PY} -H "Content-Type: application/octet-stream" --data-binary @tool.tar.gz ${base}/tool.tar.gz"
echo
# ... select="package_file"
curl --fail-with-body --silent --request PUT ${PY} -H "Content-Type: application/octet-stream" --data-binary @tool.tar.gz.sha256 ${base}/tool.tar.gz.sha256?select=package_file"
echo
# project.generic_packages.download(package_name="tool", package_version="1.4.0", file_name=..., streamed=True, action=f.write)
curl --fail --silent ${PY} ${base}/tool.tar.gz" --output got.tar.gz
curl --fail --silent ${PY} ${base}/tool.tar.gz.sha256" --output got.sha256
sha256sum got.tar.gz got.sha256
`;
  const env = { CI_API_V4_URL: `${server.url}/api/v4`, CI_PROJECT_ID: String(project.id), CI_JOB_TOKEN: job.token };
  const result = await sh(dir, script, env);
  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
  const [created, selected, ...downloaded] = result.stdout.trim().split('\n');
  assert.deepEqual(json(created), { message: '201 Created' });
  const file = json(selected);
  assert.deepEqual([file.file_name, file.size, file.file_sha256], ['tool.tar.gz.sha256', 64, checksum.sha256]);
  assert.deepEqual(sums(downloaded.join('\n')), { 'got.tar.gz': archive.sha256, 'got.sha256': checksum.sha256 });
  // The package is the job user's, published through the job.
  const [pkg] = (await server.request('GET', `/api/v4/projects/${project.id}/packages?package_name=tool`, { token: bot.token })).body;
  assert.deepEqual([pkg.name, pkg.version, pkg.id], ['tool', '1.4.0', file.package_id]);

  // The job is over: python-gitlab's next call with the same token is refused.
  assert.equal((await server.request('DELETE', `/api/v4/projects/${project.id}/ci/job_tokens/${job.id}`, { token: bot.token })).status, 204);
  const late = await sh(dir, `curl --silent --output /dev/null --write-out '%{http_code}\\n' ${PY} ${base}/tool.tar.gz"`, env);
  assert.equal(late.stdout.trim(), '401');
});
