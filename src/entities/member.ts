import type { MemberWithUser } from '../store/members.js';

export function memberEntity(m: MemberWithUser, externalUrl: string) {
  return {
    id: m.user_id,
    username: m.username,
    name: m.name,
    state: m.state,
    avatar_url: null,
    web_url: `${externalUrl}/${m.username}`,
    access_level: m.access_level,
    created_at: m.created_at,
    expires_at: m.expires_at,
  };
}
