import assert from 'node:assert/strict';
import { tokenDigest } from '../../src/services/tokens.js';
import { ROOT_TOKEN, type TestServer } from './server.js';
import { addMember, createGroup, createProject, createUser, type TestUser } from './fixtures.js';

// A small populated instance: a private group with a private project holding releases, links,
// tags, protected tags and members of every role, plus outsiders. Shared by the sweeps.

export interface World {
  group: { id: number; full_path: string };
  /** Private project in the private group: the one outsiders must not learn about. */
  secret: { id: number; path: string };
  /** Private project elsewhere, whose members are "members of another project". */
  other: { id: number; path: string };
  publicProject: { id: number; path: string };
  internalProject: { id: number; path: string };
  users: Record<'developer' | 'reporter' | 'guest' | 'outsider' | 'readApi' | 'expired' | 'otherMember' | 'maintainer', TestUser>;
  tags: string[];
  protectedNames: string[];
  linkIds: number[];
  filepaths: string[];
}

let seq = 0;

async function post(server: TestServer, path: string, json: unknown, token = ROOT_TOKEN) {
  const res = await server.request('POST', path, { token, json });
  assert.ok(res.status === 201, `${path}: ${res.status} ${res.text}`);
  return res.body;
}

export async function buildWorld(server: TestServer): Promise<World> {
  const n = `${process.pid}x${++seq}`;
  const group = await createGroup(server, `grp${n}`, { visibility: 'private' });
  const secret = await createProject(server, `secret${n}`, { namespaceId: group.id, visibility: 'private' });
  const otherGroup = await createGroup(server, `othergrp${n}`, { visibility: 'private' });
  const other = await createProject(server, `other${n}`, { namespaceId: otherGroup.id, visibility: 'private' });
  const publicProject = await createProject(server, `public${n}`, { visibility: 'public' });
  const internalProject = await createProject(server, `internal${n}`, { namespaceId: group.id, visibility: 'internal' });

  const users = {} as World['users'];
  for (const role of ['developer', 'reporter', 'guest', 'outsider', 'expired', 'otherMember', 'maintainer'] as const) {
    users[role] = await createUser(server);
  }
  users.readApi = await createUser(server, { scopes: ['read_api'] });
  await addMember(server, secret.id, users.developer.id, 30);
  await addMember(server, secret.id, users.reporter.id, 20);
  await addMember(server, secret.id, users.guest.id, 10);
  await addMember(server, secret.id, users.readApi.id, 30);
  await addMember(server, secret.id, users.expired.id, 30);
  await addMember(server, secret.id, users.maintainer.id, 40);
  await addMember(server, other.id, users.otherMember.id, 40);
  // The expired user's token stops working: expiry is a date, so yesterday is enough.
  await server.running.store.db
    .updateTable('personal_access_tokens')
    .set({ expires_at: '2000-01-01' })
    .where('token_digest', '=', tokenDigest(users.expired.token))
    .execute();

  const protectedNames = ['prot-*', 'v9'];
  for (const name of protectedNames) await post(server, `/api/v4/projects/${secret.id}/protected_tags`, { name, create_access_level: 40 });

  const tags = ['v1.0', 'rel/2.0', 'ü-1.0', 'prot-1', 'v9'];
  const filepaths = ['/bin/app', '/bin/tool'];
  const linkIds: number[] = [];
  for (const project of [secret, publicProject, internalProject, other]) {
    for (const tag of tags) {
      const links = tag === 'v1.0'
        ? filepaths.map((f, i) => ({ name: `asset-${i}`, url: `https://example.com/${tag}/${i}`, filepath: f, link_type: 'package' }))
        : [{ name: 'one', url: `https://example.com/${encodeURIComponent(tag)}/one` }];
      const release = await post(server, `/api/v4/projects/${project.id}/releases`, { tag_name: tag, ref: 'main', assets: { links } });
      for (const l of release.assets.links) linkIds.push(l.id);
    }
  }
  await post(server, `/api/v4/projects/${secret.id}/repository/tags`, { tag_name: 'plain-tag', ref: 'main' });

  return {
    group,
    secret: { id: secret.id, path: secret.path_with_namespace },
    other: { id: other.id, path: other.path_with_namespace },
    publicProject: { id: publicProject.id, path: publicProject.path_with_namespace },
    internalProject: { id: internalProject.id, path: internalProject.path_with_namespace },
    users,
    tags: [...tags, 'plain-tag'],
    protectedNames,
    linkIds,
    filepaths,
  };
}
