import type { Kysely } from 'kysely';
import { conflict, forbidden, invalid, notFound, unauthorized, type FieldErrors } from '../errors.js';
import { userBasicEntity, userEntity } from '../entities/user.js';
import { AccessLevel, canAdminUsers, Visibility } from '../policy.js';
import { isUniqueViolation, now, violates } from '../store/errors.js';
import { insertMember } from '../store/members.js';
import { findNamespace, insertNamespace } from '../store/namespaces.js';
import type { DB, User } from '../store/schema.js';
import { findUser, insertUser, setUserNamespace } from '../store/users.js';
import type { Ctx } from './context.js';
import { hashPassword, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from './passwords.js';
import { PATH_FORMAT } from './projects.js';

export interface NewUserInput {
  username: string;
  email: string;
  name: string;
  password?: string;
  admin?: boolean;
}


/** Creates a user with its personal namespace, where it owns the projects it makes. */
export async function addUser(db: Kysely<DB>, input: NewUserInput): Promise<User> {
  const errors: FieldErrors = {};
  if (!PATH_FORMAT.test(input.username)) errors.username = ['is invalid'];
  if (!/^[^@\s]+@[^@\s]+$/.test(input.email)) errors.email = ['is invalid'];
  if (input.name.trim() === '') errors.name = ["can't be blank"];
  if (input.password !== undefined && input.password.length < MIN_PASSWORD_LENGTH) errors.password = [`is too short (minimum is ${MIN_PASSWORD_LENGTH} characters)`];
  if (input.password !== undefined && input.password.length > MAX_PASSWORD_LENGTH) errors.password = [`is too long (maximum is ${MAX_PASSWORD_LENGTH} characters)`];
  if (Object.keys(errors).length) throw invalid(errors);
  if (await findNamespace(db, input.username)) throw conflict('Username has already been taken');
  // Hashed before the transaction: it takes a while, and holds no lock meanwhile.
  const passwordDigest = input.password ? await hashPassword(input.password) : null;
  const at = now();
  try {
    return await db.transaction().execute(async (trx) => {
      const user = await insertUser(trx, {
        username: input.username,
        username_key: input.username.toLowerCase(),
        name: input.name,
        email: input.email,
        email_key: input.email.toLowerCase(),
        is_admin: input.admin ? 1 : 0,
        state: 'active',
        password_digest: passwordDigest,
        namespace_id: null,
        created_at: at,
      });
      const ns = await insertNamespace(
        trx,
        {
          name: input.username,
          path: input.username,
          full_path: input.username,
          full_path_key: input.username.toLowerCase(),
          kind: 'user',
          parent_id: null,
          owner_id: user.id,
          visibility: Visibility.PUBLIC,
          description: '',
          created_at: at,
        },
        '',
      );
      await setUserNamespace(trx, user.id, ns.id);
      await insertMember(trx, { source_type: 'Namespace', source_id: ns.id, user_id: user.id, access_level: AccessLevel.OWNER, expires_at: null, created_at: at });
      return { ...user, namespace_id: ns.id };
    });
  } catch (error) {
    if (violates(error, 'users', 'email_key')) throw conflict('Email has already been taken');
    if (isUniqueViolation(error)) throw conflict('Username has already been taken');
    throw error;
  }
}

export async function createUser(ctx: Ctx, input: NewUserInput) {
  if (!ctx.actor.user) throw unauthorized();
  if (!canAdminUsers(ctx.actor)) throw forbidden();
  return userEntity(await addUser(ctx.db, input), ctx.config.externalUrl);
}

export function currentUser(ctx: Ctx) {
  if (!ctx.actor.user) throw unauthorized();
  return userEntity(ctx.actor.user, ctx.config.externalUrl);
}

export async function getUser(ctx: Ctx, id: number) {
  const user = await findUser(ctx.db, id);
  if (!user) throw notFound('User');
  const self = ctx.actor.user?.id === user.id;
  return self || canAdminUsers(ctx.actor) ? userEntity(user, ctx.config.externalUrl) : userBasicEntity(user, ctx.config.externalUrl);
}

/** Makes sure `root` exists as an admin and owns a token with this exact value (for scripted bootstrap). */
export async function ensureRoot(db: Kysely<DB>, token: string, issue: (db: Kysely<DB>, userId: number, token: string) => Promise<void>) {
  let root = await findUser(db, 'root');
  if (!root) root = await addUser(db, { username: 'root', email: 'root@localhost', name: 'Administrator', admin: true });
  await issue(db, root.id, token);
}
