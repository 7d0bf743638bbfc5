import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  filepathErrors,
  linkFieldErrors,
  LINK_TYPES,
  MAX_FILEPATH_LENGTH,
  MAX_HOST_LENGTH,
  MAX_NAME_LENGTH,
  MAX_URL_LENGTH,
  nameErrors,
  urlErrors,
} from '../src/services/link-rules.js';

// The link model's rules as shared/gitlab-behavior.md §3 states them, every example plus edges.

const SCHEMES = 'is blocked: Only allowed schemes are http, https, ftp';
const FORMAT = 'is in an invalid format';
const TOO_LONG = `is too long (maximum is ${MAX_FILEPATH_LENGTH} characters)`;
const none = { name: false, url: false, filepath: false };

describe('filepath', () => {
  const valid = [
    // §3's valid examples
    '/binaries/awesome-app.dmg',
    '/bin/bigfile.exe',
    '/example.com/path/to/file.exe',
    // edges
    '/bin/hellodarwin-amd64',
    '/a_b/c-d/e.f/g1',
    '/UPPER/lower/123',
    '/dir/file.tar.gz',
    '/x/..y/z9',
    '/' + 'a'.repeat(MAX_FILEPATH_LENGTH - 1),
  ];
  for (const path of valid) {
    test(`valid: ${JSON.stringify(path.length > 40 ? `${path.slice(0, 20)}…(${path.length})` : path)}`, () => {
      assert.deepEqual(filepathErrors(path), []);
    });
  }

  const invalid = [
    // §3's invalid examples
    '//www.example.com',
    '/example.com/?stuff=true',
    '/example:5000',
    '/binaries/app.dmg-',
    'binaries/app.dmg',
    '/binarïes/x',
    '',
    // edges: each rule broken once
    '/',
    '/bin//file.exe',
    '/bin/file.exe/',
    '/bin/file.',
    '/bin/file_',
    '/bin/fi le.exe',
    '/bin/file.exe\n',
    '/bin/file?x=1',
    '/bin/file#frag',
    '/bin/%20file',
    '/bin\\file.exe',
    'C:/bin/file.exe',
    'https://example.com/file.exe',
    ' /bin/file.exe',
    '/bin/файл.exe',
  ];
  for (const path of invalid) {
    test(`invalid: ${JSON.stringify(path)}`, () => {
      assert.deepEqual(filepathErrors(path), [FORMAT]);
    });
  }

  test(`exactly ${MAX_FILEPATH_LENGTH} characters is accepted, one more is too long`, () => {
    assert.equal(MAX_FILEPATH_LENGTH, 128);
    const max = '/' + 'b'.repeat(MAX_FILEPATH_LENGTH - 1);
    assert.equal(max.length, 128);
    assert.deepEqual(filepathErrors(max), []);
    assert.deepEqual(filepathErrors(max + 'c'), [TOO_LONG]);
  });

  test('a too long filepath reports only its length (GitLab does not run the format check on it)', () => {
    const long = '/' + 'd/'.repeat(80) + '-';
    assert.ok(long.length > MAX_FILEPATH_LENGTH);
    assert.deepEqual(filepathErrors(long), [TOO_LONG]);
  });
});

describe('url', () => {
  const valid = [
    'http://192.168.10.15:3000',
    'http://192.168.10.15:3000/msi',
    'https://gitlab.example.com/mynamespace/hello/-/jobs/688/artifacts/raw/bin/hello-darwin-amd64',
    'ftp://ftp.example.com/pub/file.tar.gz',
    'https://example.com/path?query=1&b=2#frag',
    'https://user:pass@example.com/x',
    'http://localhost:8080/x',
    'https://[::1]:8443/x',
    'https://9example.com/x',
    '  https://example.com/padded  ',
    'https://example.com/' + 'p'.repeat(MAX_URL_LENGTH - 'https://example.com/'.length),
  ];
  for (const url of valid) {
    test(`valid: ${JSON.stringify(url.length > 60 ? `${url.slice(0, 40)}…(${url.length})` : url)}`, () => {
      assert.deepEqual(urlErrors(url), []);
    });
  }

  test('blank url: can\'t be blank and must be a valid URL', () => {
    for (const url of ['', ' ', '\t\n']) assert.deepEqual(urlErrors(url), ["can't be blank", 'must be a valid URL']);
  });

  const badScheme = ['wrong_url', 'torrent://x', 'javascript:alert(1)', 'file:///etc/passwd', 'ssh://git@example.com/x', 'mailto:a@example.com', 'example.com/file', '//example.com/x', 'data:text/plain,hi'];
  for (const url of badScheme) {
    test(`bad scheme: ${JSON.stringify(url)}`, () => {
      assert.deepEqual(urlErrors(url), [SCHEMES]);
    });
  }

  const unparseable = ['http://exa mple.com/x', 'https://[::1/x', 'http://', 'https://example.com:99999/x', 'http://a\u0000b.com'];
  for (const url of unparseable) {
    test(`unparseable: ${JSON.stringify(url)}`, () => {
      assert.deepEqual(urlErrors(url), ['is blocked: URI is invalid']);
    });
  }

  test('the hostname must start with a letter or digit', () => {
    for (const url of ['http://-example.com/x', 'https://_example.com/x', 'http://.example.com/x']) {
      const errors = urlErrors(url);
      assert.equal(errors.length, 1, url);
      assert.match(errors[0], /^is blocked: /, url);
    }
  });

  test(`a host of ${MAX_HOST_LENGTH} characters is accepted, one more is blocked`, () => {
    assert.equal(MAX_HOST_LENGTH, 1024);
    const label = 'a'.repeat(63);
    const hostOf = (length: number) => {
      const labels: string[] = [];
      let left = length;
      while (left > 0) {
        const n = Math.min(63, left === 64 ? 62 : left);
        labels.push(label.slice(0, n));
        left -= n + (left - n > 0 ? 1 : 0);
      }
      return labels.join('.');
    };
    const ok = hostOf(1024);
    assert.equal(ok.length, 1024);
    assert.deepEqual(urlErrors(`https://${ok}/`), []);
    const long = hostOf(1025);
    assert.equal(long.length, 1025);
    assert.deepEqual(urlErrors(`https://${long}/`), [`is blocked: Host is too long (maximum is ${MAX_HOST_LENGTH} characters)`]);
  });

  test(`ours: a URL longer than ${MAX_URL_LENGTH} characters is too long`, () => {
    const url = 'https://example.com/' + 'p'.repeat(MAX_URL_LENGTH);
    assert.deepEqual(urlErrors(url), [`is too long (maximum is ${MAX_URL_LENGTH} characters)`]);
  });
});

describe('name', () => {
  test('a blank name can\'t be blank', () => {
    for (const name of ['', ' ', '\n\t']) assert.deepEqual(nameErrors(name), ["can't be blank"]);
  });
  test('any non-blank text is a name, including unicode and punctuation', () => {
    for (const name of ['awesome-v0.2.dmg', 'new name', 'Ünïcødé 🚀', '/looks/like/a/path', 'a']) assert.deepEqual(nameErrors(name), []);
  });
  test(`ours: names are at most ${MAX_NAME_LENGTH} characters`, () => {
    assert.deepEqual(nameErrors('n'.repeat(MAX_NAME_LENGTH)), []);
    assert.deepEqual(nameErrors('n'.repeat(MAX_NAME_LENGTH + 1)), [`is too long (maximum is ${MAX_NAME_LENGTH} characters)`]);
  });
});

describe('link_type', () => {
  test('the enum is other, runbook, image, package', () => {
    assert.deepEqual([...LINK_TYPES].sort(), ['image', 'other', 'package', 'runbook']);
  });
});

describe('all fields together', () => {
  test('errors come keyed url, name, filepath whatever the input order', () => {
    const errors = linkFieldErrors({ filepath: 'bad', name: ' ', url: 'wrong_url' }, none);
    assert.deepEqual(Object.keys(errors), ['url', 'name', 'filepath']);
    assert.deepEqual(errors, { url: [SCHEMES], name: ["can't be blank"], filepath: [FORMAT] });
  });

  test('duplicates: url then name, each "has already been taken"', () => {
    const errors = linkFieldErrors({ name: 'a', url: 'https://example.com/a' }, { name: true, url: true, filepath: false });
    assert.equal(JSON.stringify(errors), '{"url":["has already been taken"],"name":["has already been taken"]}');
  });

  test('a duplicate filepath', () => {
    const errors = linkFieldErrors({ name: 'a', url: 'https://example.com/a', filepath: '/a/b' }, { name: false, url: false, filepath: true });
    assert.deepEqual(errors, { filepath: ['has already been taken'] });
  });

  test('fields left out (an update) are not judged; a null filepath is no filepath', () => {
    assert.deepEqual(linkFieldErrors({ name: 'only' }, none), {});
    assert.deepEqual(linkFieldErrors({ url: 'https://example.com' }, none), {});
    assert.deepEqual(linkFieldErrors({ name: 'a', url: 'https://example.com', filepath: null }, none), {});
  });

  test('a valid link has no errors', () => {
    assert.deepEqual(linkFieldErrors({ name: 'hellodarwin-amd64', url: 'https://example.com/x', filepath: '/bin/hellodarwin-amd64' }, none), {});
  });
});
