import type { User } from '../store/schema.js';

export function userBasicEntity(user: User, externalUrl: string) {
  return {
    id: user.id,
    username: user.username,
    name: user.name,
    state: user.state,
    locked: false,
    avatar_url: null,
    web_url: `${externalUrl}/${user.username}`,
  };
}

/** What `GET /user`, `POST /users` and admins see: the basic fields plus account details. */
export function userEntity(user: User, externalUrl: string) {
  return {
    ...userBasicEntity(user, externalUrl),
    created_at: user.created_at,
    bio: '',
    public_email: null,
    email: user.email,
    is_admin: user.is_admin === 1,
    namespace_id: user.namespace_id,
  };
}
