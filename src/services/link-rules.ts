import type { FieldErrors } from '../errors.js';

// The release link's model rules: what GitLab's Releases::Link validates, with GitLab's messages.

export const LINK_TYPES = ['other', 'runbook', 'image', 'package'] as const;
export const ALLOWED_SCHEMES = ['http', 'https', 'ftp'];
/** Ours: GitLab leaves the whole URL unbounded; only its host is limited to 1024 characters. */
export const MAX_URL_LENGTH = 2048;
export const MAX_HOST_LENGTH = 1024;
export const MAX_NAME_LENGTH = 255;
export const MAX_FILEPATH_LENGTH = 128;
export const MAX_LINKS_PER_RELEASE = 1000;

const isBlank = (s: string) => s.trim() === '';

/** Starts with one `/`, has no `//`, only ASCII letters, digits, `_ - . /`, and ends with a letter or digit. */
const FILEPATH_FORMAT = /^\/(?!\/)(?:[A-Za-z0-9_.\-]|\/(?!\/))*[A-Za-z0-9]$/;

export function urlErrors(raw: string): string[] {
  // GitLab strips surrounding white space before it judges a URL.
  const url = raw.trim();
  if (isBlank(url)) return ["can't be blank", 'must be a valid URL'];
  if (url.length > MAX_URL_LENGTH) return [`is too long (maximum is ${MAX_URL_LENGTH} characters)`];
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined || !ALLOWED_SCHEMES.includes(scheme)) {
    return [`is blocked: Only allowed schemes are ${ALLOWED_SCHEMES.join(', ')}`];
  }
  if (/[\s\x00-\x1f\x7f]/.test(url)) return ['is blocked: URI is invalid'];
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return ['is blocked: URI is invalid'];
  }
  if (parsed.hostname.length > MAX_HOST_LENGTH) return [`is blocked: Host is too long (maximum is ${MAX_HOST_LENGTH} characters)`];
  if (!/^[A-Za-z0-9[]/.test(parsed.hostname)) return ['is blocked: Hostname or IP address invalid'];
  return [];
}

export function nameErrors(name: string): string[] {
  if (isBlank(name)) return ["can't be blank"];
  if (name.length > MAX_NAME_LENGTH) return [`is too long (maximum is ${MAX_NAME_LENGTH} characters)`];
  return [];
}

export function filepathErrors(filepath: string): string[] {
  // As GitLab: a too long path is reported as such only, its format is not judged.
  if (filepath.length > MAX_FILEPATH_LENGTH) return [`is too long (maximum is ${MAX_FILEPATH_LENGTH} characters)`];
  if (!FILEPATH_FORMAT.test(filepath)) return ['is in an invalid format'];
  return [];
}

/** `direct_asset_path` is the newer name of `filepath`; when both come, it wins. */
export const filepathOf = (p: { filepath?: string; direct_asset_path?: string }) => p.direct_asset_path ?? p.filepath;

export interface LinkFields {
  name?: string;
  url?: string;
  filepath?: string | null;
}

/** Errors of the fields given, keyed in GitLab's order: url, name, filepath. */
export function linkFieldErrors(fields: LinkFields, taken: { name: boolean; url: boolean; filepath: boolean }): FieldErrors {
  const errors: FieldErrors = {};
  const add = (field: string, messages: string[]) => {
    if (messages.length) errors[field] = [...(errors[field] ?? []), ...messages];
  };
  if (fields.url !== undefined) add('url', urlErrors(fields.url));
  if (taken.url) add('url', ['has already been taken']);
  if (fields.name !== undefined) add('name', nameErrors(fields.name));
  if (taken.name) add('name', ['has already been taken']);
  if (fields.filepath != null) add('filepath', filepathErrors(fields.filepath));
  if (taken.filepath) add('filepath', ['has already been taken']);
  return errors;
}
