import type { PersonalAccessToken } from '../store/schema.js';

export function personalAccessTokenEntity(token: PersonalAccessToken, plain?: string) {
  const expired = token.expires_at !== null && token.expires_at <= new Date().toISOString().slice(0, 10);
  return {
    id: token.id,
    name: token.name,
    revoked: token.revoked === 1,
    created_at: token.created_at,
    scopes: token.scopes.split(' ').filter(Boolean),
    user_id: token.user_id,
    last_used_at: token.last_used_at,
    active: token.revoked === 0 && !expired,
    expires_at: token.expires_at,
    ...(plain !== undefined ? { token: plain } : {}),
  };
}
