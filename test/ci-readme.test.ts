import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { END_JOB_TOKEN, FETCH_JOB_TOKEN, repoRoot } from './helpers/ci.js';

// docs/ci.md's "Publishing from CI" jobs carry the very snippets the CI tests run.

const section = (() => {
  const doc = fs.readFileSync(path.join(repoRoot, 'docs', 'ci.md'), 'utf8');
  const start = doc.indexOf('<!-- section: publishing-from-ci -->');
  const end = doc.indexOf('<!-- section:', start + 1);
  assert.ok(start >= 0, 'docs/ci.md has the publishing-from-ci section');
  return doc.slice(start, end < 0 ? undefined : end);
})();

/** Lines without their indentation (YAML blocks indent the shell lines). */
const lines = (text: string) => text.split('\n').map((l) => l.trim()).filter(Boolean);

function occurrences(snippet: string): number {
  const want = lines(snippet);
  const have = lines(section);
  let count = 0;
  for (let i = 0; i + want.length <= have.length; i++) {
    if (want.every((line, j) => have[i + j] === line)) count += 1;
  }
  return count;
}

test('the job-token snippets appear verbatim in the shell example, the GitLab CI job and the GitHub Actions job', () => {
  assert.equal(occurrences(FETCH_JOB_TOKEN), 3);
  assert.equal(occurrences(END_JOB_TOKEN), 3);
});

test('the GitLab CI job points the GitLab plugin at relinks as the tested script does', () => {
  assert.equal(
    occurrences(`export CI_API_V4_URL="$RELINKS_URL/api/v4" CI_PROJECT_ID="$RELINKS_PROJECT_ID" \\
  CI_PROJECT_PATH="$RELINKS_PROJECT_PATH" CI_PROJECT_URL="$RELINKS_URL/$RELINKS_PROJECT_PATH"
npx semantic-release`),
    1,
  );
  assert.match(section, /GITLAB_URL: \$\{\{ env\.RELINKS_URL \}\}\n\s+run: npx semantic-release/);
  for (const tool of ['semantic-release 24.2.9', '@semantic-release/gitlab 13.3.3', 'release-it 20.2.1', '@gitbeaker/rest 43.8.0']) {
    assert.ok(section.includes(tool), tool);
  }
});
