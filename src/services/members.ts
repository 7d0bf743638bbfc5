import { conflict, forbidden, notFound } from '../errors.js';
import { memberEntity } from '../entities/member.js';
import { AccessLevel, canAdminProject, canGrantAccess } from '../policy.js';
import { isUniqueViolation, now } from '../store/errors.js';
import { insertMember } from '../store/members.js';
import { findUser } from '../store/users.js';
import type { Ctx } from './context.js';
import { effectiveMember, visibleProject } from './projects.js';

export interface AddMemberInput {
  user_id: number;
  access_level: number;
  expires_at?: string;
}

export async function addProjectMember(ctx: Ctx, projectRef: string, input: AddMemberInput) {
  const view = await visibleProject(ctx, projectRef);
  if (!canAdminProject(ctx.actor, view)) throw forbidden();
  // Only owners (and admins) may hand out the owner role.
  if (!canGrantAccess(ctx.actor, view.access, input.access_level)) throw forbidden();
  const user = await findUser(ctx.db, input.user_id);
  if (!user) throw notFound('User');
  try {
    await ctx.write((trx) => insertMember(trx, {
      source_type: 'Project',
      source_id: view.project.id,
      user_id: user.id,
      access_level: input.access_level,
      expires_at: input.expires_at ?? null,
      created_at: now(),
    }));
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict('Member already exists');
    throw error;
  }
  const member = await effectiveMember(ctx, view, user.id);
  return memberEntity({ ...member!, access_level: input.access_level }, ctx.config.externalUrl);
}

/** A member of the project itself or of any ancestor group, with the strongest role they hold. */
export async function getEffectiveMember(ctx: Ctx, projectRef: string, userId: number) {
  const view = await visibleProject(ctx, projectRef);
  const member = await effectiveMember(ctx, view, userId);
  if (!member || member.access_level < AccessLevel.GUEST) throw notFound();
  return memberEntity(member, ctx.config.externalUrl);
}
