import type { Generated, Selectable } from 'kysely';

/** A signed-in browser. */
export interface WebSessionsTable {
  id: Generated<number>;
  session_digest: string;
  user_id: number;
  /** The personal access token signed in with, if one was used instead of the password. */
  token_id: number | null;
  /** Space-separated, as on tokens: `api` for a password sign-in. */
  scopes: string;
  csrf_token: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
}

/** Failed sign-ins of one account, login name or client address, counted in a window. */
export interface SignInFailuresTable {
  id: Generated<number>;
  key: string;
  failures: number;
  window_started_at: string;
  locked_until: string | null;
}

export type WebSession = Selectable<WebSessionsTable>;
