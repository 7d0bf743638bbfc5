import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Actor } from '../policy.js';
import type { DB } from '../store/schema.js';

// What a request may carry to say who it is, and the shape of what turns that into an actor. Its
// own module because both ends use it: auth.ts reads the credentials and runs the resolvers, and
// each kind of credential (tokens, job tokens, the browser's session) brings its resolver.

export interface Credentials {
  /** `bearer`: a token of either kind, sent as `Authorization: Bearer`. `basic`: HTTP Basic's password. `session`: the browser's cookie. */
  kind: 'personal' | 'job' | 'bearer' | 'basic' | 'session';
  token: string;
  /** HTTP Basic's user name. */
  username?: string;
}

/** Extra token kinds (job tokens, sessions) plug in here without touching the hook. */
export type TokenResolver = (db: Kysely<DB>, credentials: Credentials, request: FastifyRequest) => Promise<Actor | null>;
