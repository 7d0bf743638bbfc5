import { tagSegment } from '../entities/link.js';

// The pages' own links, as absolute paths under EXTERNAL_URL's path (relinks may be served under a
// prefix by a proxy). A project's full path is written as it is; a tag is one escaped segment, as
// in the URLs the API hands out.

export interface Urls {
  base: string;
  home(query?: Record<string, string | number | undefined>): string;
  signIn(returnTo?: string): string;
  signOut(): string;
  project(fullPath: string): string;
  releases(fullPath: string, page?: number): string;
  release(fullPath: string, tag: string): string;
  edit(fullPath: string, tag: string): string;
  newRelease(fullPath: string): string;
  tag(fullPath: string, tag: string): string;
  createAction(projectId: number): string;
  updateAction(projectId: number, tag: string): string;
  asset(name: string, version: string): string;
}

const withQuery = (path: string, query: Record<string, string | number | undefined> = {}) => {
  const pairs = Object.entries(query).filter(([, v]) => v !== undefined && v !== '' && v !== 1);
  return pairs.length ? `${path}?${new URLSearchParams(pairs.map(([k, v]) => [k, String(v)])).toString()}` : path;
};

export function urlsFor(externalUrl: string): Urls {
  const base = new URL(externalUrl).pathname.replace(/\/+$/, '');
  const project = (fullPath: string) => `${base}/${fullPath}`;
  return {
    base,
    home: (query) => withQuery(`${base}/`, query),
    signIn: (returnTo) => withQuery(`${base}/users/sign_in`, { redirect_to: returnTo }),
    signOut: () => `${base}/users/sign_out`,
    project,
    releases: (fullPath, page) => withQuery(`${project(fullPath)}/-/releases`, { page }),
    release: (fullPath, tag) => `${project(fullPath)}/-/releases/${tagSegment(tag)}`,
    edit: (fullPath, tag) => `${project(fullPath)}/-/releases/${tagSegment(tag)}/edit`,
    newRelease: (fullPath) => `${project(fullPath)}/-/releases/new`,
    tag: (fullPath, tag) => `${project(fullPath)}/-/tags/${tagSegment(tag)}`,
    createAction: (projectId) => `${base}/-/project/${projectId}/releases`,
    updateAction: (projectId, tag) => `${base}/-/project/${projectId}/releases/${encodeURIComponent(tag)}`,
    asset: (name, version) => `${base}/-/web/${name}?v=${version}`,
  };
}
