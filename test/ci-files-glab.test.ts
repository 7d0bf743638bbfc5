import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type TestServer } from './helpers/server.js';
import { addMember, createGroup, createProject, createUser, type TestUser } from './helpers/fixtures.js';
import { isolatedEnv, runTool } from './helpers/ci.js';
import { assertServes, startSelfNamedServer, writeRandomFile, type LocalFile } from './helpers/hosted-files.js';

// glab's release commands, as its source has them, reproduced with curl (glab itself is a Go
// binary that no registry reachable here ships):
//   `glab release create <tag> <files> --ref <sha>` creates the release (go-gitlab: JSON body),
//   then for each file (releaseutils/upload UploadFiles, also `glab release upload <tag> <files>`)
//   POSTs it to /projects/<group%2Fproject>/uploads (multipart `file`) and creates a link from
//   the answer, named by the file's label, with `direct_asset_path: "/" + file name`;
//   `glab release download <tag>` GETs the release and then each link's `url` with its token and
//   `Accept: application/octet-stream`.
// The link's URL from the upload's answer:
//   - glab today (CreateReleaseAssetFromProjectFile): the API base URL with its path replaced by
//     `full_path`: <scheme>://<host>/-/project/<id>/uploads/<secret>/<file>;
//   - glab before it read `full_path` (until mid-2024): "<scheme>://<host>/" + "<group>/<project>" +
//     `url`, the classic /<namespace>/<project>/uploads/<secret>/<file>, sent as `filepath`.

let server: TestServer;
let home: string;
before(async () => {
  server = await startSelfNamedServer();
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'relinks-glab-'));
});
after(async () => {
  fs.rmSync(home, { recursive: true, force: true });
  await server.close();
});

/** A JSON object from key/value arguments, as go-gitlab marshals an options struct. */
const SHELL_HELPERS = `
json() { node -e 'const o = {}; const a = process.argv.slice(1); for (let i = 0; i < a.length; i += 2) o[a[i]] = a[i + 1]; process.stdout.write(JSON.stringify(o))' "$@"; }
field() { node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8"))[process.argv[1]]' "$1"; }
GLAB="-H PRIVATE-TOKEN:$GITLAB_TOKEN -H User-Agent:glab"
`;

/** glab's UploadFiles for one `file#label#type`: upload, then the link built by \`$LINK_URL_OF\`. */
const UPLOAD_AND_LINK = `
upload_and_link() { # file label type
  answer=$(curl --fail-with-body --silent $GLAB -F "file=@$1;filename=$(basename "$1");type=application/octet-stream" "$API/projects/$PROJECT/uploads")
  url=$(link_url "$answer")
  curl --fail-with-body --silent --output /dev/null $GLAB -H "Content-Type: application/json" \\
    --data "$(json name "$2" url "$url" $PATH_FIELD "/$(basename "$1")" link_type "$3")" \\
    "$API/projects/$PROJECT/releases/$TAG/assets/links"
}
`;

/** `glab release download $TAG`: the release, then each link's url into dl/<link name>. */
const DOWNLOAD = `
mkdir -p dl
curl --fail-with-body --silent $GLAB "$API/projects/$PROJECT/releases/$TAG" > release.json
node -e 'for (const l of JSON.parse(require("fs").readFileSync("release.json", "utf8")).assets.links) console.log(l.name + "\\t" + l.url)' |
while IFS="$(printf '\\t')" read -r name url; do
  code=$(curl --silent --location $GLAB -H "Accept: application/octet-stream" "$url" --output "dl/$name" --write-out '%{http_code}')
  [ "$code" = 200 ] || { echo "glab release download: GET $url answered $code" >&2; exit 1; }
done
(cd dl && sha256sum *)
`;

interface Setup {
  project: { id: number; path_with_namespace: string };
  developer: TestUser;
  dir: string;
  linux: LocalFile;
  windows: LocalFile;
}

async function setup(groupPath: string): Promise<Setup> {
  const group = await createGroup(server, groupPath);
  const project = await createProject(server, 'cli', { namespaceId: group.id });
  const developer = await createUser(server);
  await addMember(server, project.id, developer.id, 30);
  const dir = fs.mkdtempSync(path.join(home, 'job-'));
  const linux = writeRandomFile(path.join(dir, 'dist'), 'cli_1.0.0_linux_amd64.tar.gz', 250_000);
  const windows = writeRandomFile(path.join(dir, 'dist'), 'cli_1.0.0_windows_amd64.zip', 4_000);
  return { project, developer, dir, linux, windows };
}

/** glab release create with the Linux archive, then glab release upload with the Windows one, then glab release download. */
async function runGlab(s: Setup, linkUrlOf: string, pathField: 'direct_asset_path' | 'filepath') {
  const sha = '0123456789abcdef0123456789abcdef01234567';
  const script = `${SHELL_HELPERS}${UPLOAD_AND_LINK}
link_url() { ${linkUrlOf}; }
# glab release create "$TAG" "dist/cli_1.0.0_linux_amd64.tar.gz#Linux (amd64)#package" --ref "$SHA"
curl --fail-with-body --silent --output /dev/null $GLAB -H "Content-Type: application/json" \\
  --data "$(json tag_name "$TAG" name "$TAG" ref "$SHA")" "$API/projects/$PROJECT/releases"
upload_and_link dist/cli_1.0.0_linux_amd64.tar.gz "Linux (amd64)" package
# glab release upload "$TAG" "dist/cli_1.0.0_windows_amd64.zip#Windows (amd64)"
upload_and_link dist/cli_1.0.0_windows_amd64.zip "Windows (amd64)" other
${DOWNLOAD}`;
  const result = await runTool('sh', ['-euc', script], {
    cwd: s.dir,
    env: isolatedEnv(home, {
      API: `${server.url}/api/v4`,
      HOST_URL: server.url,
      GITLAB_TOKEN: s.developer.token,
      REPO: s.project.path_with_namespace,
      PROJECT: encodeURIComponent(s.project.path_with_namespace),
      TAG: 'v1.0.0',
      SHA: sha,
      PATH_FIELD: pathField,
    }),
  });
  assert.equal(result.code, 0, `exit ${result.code}\n${result.stdout}\n${result.stderr}`);
  // What glab release download saved, by the link's name.
  const saved = Object.fromEntries(result.stdout.trim().split('\n').map((l) => /^([0-9a-f]{64}) [ *](.*)$/.exec(l)!.slice(1).reverse()));
  assert.deepEqual(saved, { 'Linux (amd64)': s.linux.sha256, 'Windows (amd64)': s.windows.sha256 });
  const release = await server.request('GET', `/api/v4/projects/${s.project.id}/releases/v1.0.0`, { token: s.developer.token });
  assert.equal(release.body.commit.id, sha);
  return release.body.assets.links as { name: string; url: string; direct_asset_url: string; external: boolean; link_type: string }[];
}

/** The two links, in GitLab's order (newest first), each downloading its file through url and direct_asset_url. */
async function assertLinks(s: Setup, links: Awaited<ReturnType<typeof runGlab>>, urlPattern: (f: LocalFile) => RegExp, external: boolean) {
  const web = `${server.config.externalUrl}/${s.project.path_with_namespace}/-/releases/v1.0.0/downloads`;
  const expected: [string, LocalFile, string][] = [
    ['Windows (amd64)', s.windows, 'other'],
    ['Linux (amd64)', s.linux, 'package'],
  ];
  assert.deepEqual(
    links.map((l) => l.name),
    expected.map(([name]) => name),
  );
  for (const [name, file, type] of expected) {
    const link = links.find((l) => l.name === name)!;
    assert.match(link.url, urlPattern(file));
    assert.equal(link.direct_asset_url, `${web}/${file.name}`);
    assert.equal(link.external, external);
    assert.equal(link.link_type, type);
    for (const url of [link.url, link.direct_asset_url]) await assertServes(server, url, file, { 'PRIVATE-TOKEN': s.developer.token });
  }
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('glab release create/upload/download today: links to `full_path` on the host download the files', async () => {
  const s = await setup('gl-cli');
  // baseURL.Path = projectFile.FullPath: the scheme and host of the API URL, the path of the answer.
  const links = await runGlab(s, 'printf "%s%s" "$HOST_URL" "$(printf "%s" "$1" | field full_path)"', 'direct_asset_path');
  await assertLinks(s, links, (f) => new RegExp(`^${escape(server.config.externalUrl)}/-/project/${s.project.id}/uploads/[0-9a-f]{32}/${escape(f.name)}$`), true);
});

// NEEDS THE WEB WILDCARD (src/routes/web.ts, added when files12 is merged): older glab links the
// classic web path /<namespace>/<project>/uploads/<secret>/<file>, which GitLab still serves;
// relinks serves uploads at /-/project/<id>/uploads/... today, and this test checks the classic
// path serves them too.
test('glab before `full_path` (gitlabBaseURL + project path + `url`, sent as filepath): the classic upload path downloads the files', async () => {
  const s = await setup('gl-cli-old');
  const links = await runGlab(s, 'printf "%s/%s%s" "$HOST_URL" "$REPO" "$(printf "%s" "$1" | field url)"', 'filepath');
  // Under the project's web URL, so not external (GitLab's rule).
  await assertLinks(s, links, (f) => new RegExp(`^${escape(server.config.externalUrl)}/${escape(s.project.path_with_namespace)}/uploads/[0-9a-f]{32}/${escape(f.name)}$`), false);
});
