import { forbidden, invalid, notFound, unauthorized, type FieldErrors } from '../errors.js';
import { groupEntity } from '../entities/group.js';
import { AccessLevel, canCreateInNamespace, canReadGroup, visibilityLevel } from '../policy.js';
import { isUniqueViolation, now } from '../store/errors.js';
import { insertMember } from '../store/members.js';
import { findNamespace, insertNamespace, namespaceAccess } from '../store/namespaces.js';
import type { Namespace } from '../store/schema.js';
import type { Ctx } from './context.js';
import { pathErrors } from './projects.js';

export interface CreateGroupInput {
  name: string;
  path: string;
  parent_id?: number;
  visibility?: string;
  description?: string;
}

export async function createGroup(ctx: Ctx, input: CreateGroupInput) {
  const user = ctx.actor.user;
  if (!user) throw unauthorized();
  let parent: Namespace | undefined;
  if (input.parent_id !== undefined) {
    parent = await findNamespace(ctx.db, input.parent_id);
    if (!parent || parent.kind !== 'group') throw notFound('Group');
    const access = await namespaceAccess(ctx.db, parent, user.id);
    // A parent the user cannot see is not found, never forbidden: a 403 would confirm it exists.
    if (!canReadGroup(ctx.actor, parent, access)) throw notFound('Group');
    if (!canCreateInNamespace(ctx.actor, access)) throw forbidden();
  }
  const errors: FieldErrors = {};
  if (input.name.trim() === '') errors.name = ["can't be blank"];
  const pe = pathErrors(input.path);
  if (pe.length) errors.path = pe;
  if (Object.keys(errors).length) throw invalid(errors);

  const fullPath = parent ? `${parent.full_path}/${input.path}` : input.path;
  const at = now();
  try {
    const group = await ctx.write(async (trx) => {
      const ns = await insertNamespace(
        trx,
        {
          name: input.name,
          path: input.path,
          full_path: fullPath,
          full_path_key: fullPath.toLowerCase(),
          kind: 'group',
          parent_id: parent?.id ?? null,
          owner_id: null,
          visibility: visibilityLevel(input.visibility ?? 'private'),
          description: input.description ?? '',
          created_at: at,
        },
        parent?.traversal_ids ?? '',
      );
      await insertMember(trx, { source_type: 'Namespace', source_id: ns.id, user_id: user.id, access_level: AccessLevel.OWNER, expires_at: null, created_at: at });
      return ns;
    });
    return groupEntity(group, ctx.config.externalUrl);
  } catch (error) {
    if (isUniqueViolation(error)) throw invalid({ path: ['has already been taken'] });
    throw error;
  }
}

export async function getGroup(ctx: Ctx, ref: string) {
  const group = await findNamespace(ctx.db, ref);
  if (!group || group.kind !== 'group') throw notFound('Group');
  const access = ctx.actor.user ? await namespaceAccess(ctx.db, group, ctx.actor.user.id) : 0;
  if (!canReadGroup(ctx.actor, group, access)) throw notFound('Group');
  return groupEntity(group, ctx.config.externalUrl);
}
