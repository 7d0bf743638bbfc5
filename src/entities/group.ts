import { VISIBILITY_NAMES } from '../policy.js';
import type { Namespace } from '../store/schema.js';

export function groupEntity(ns: Namespace, externalUrl: string) {
  return {
    id: ns.id,
    web_url: `${externalUrl}/groups/${ns.full_path}`,
    name: ns.name,
    path: ns.path,
    description: ns.description,
    visibility: VISIBILITY_NAMES[ns.visibility],
    full_name: ns.full_path.split('/').join(' / '),
    full_path: ns.full_path,
    created_at: ns.created_at,
    parent_id: ns.parent_id,
  };
}

export function namespaceEntity(ns: Namespace, externalUrl: string) {
  return {
    id: ns.id,
    name: ns.name,
    path: ns.path,
    kind: ns.kind,
    full_path: ns.full_path,
    parent_id: ns.parent_id,
    avatar_url: null,
    web_url: ns.kind === 'group' ? `${externalUrl}/groups/${ns.full_path}` : `${externalUrl}/${ns.full_path}`,
  };
}
