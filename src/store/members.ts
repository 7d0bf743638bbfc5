import { sql, type Kysely } from 'kysely';
import type { DB, Member, User } from './schema.js';

export type MemberWithUser = Member & Pick<User, 'username' | 'name' | 'state'>;

export async function insertMember(db: Kysely<DB>, values: Omit<Member, 'id'>): Promise<Member> {
  return db.insertInto('members').values(values).returningAll().executeTakeFirstOrThrow();
}

/** The user's strongest membership among the project itself and its ancestor namespaces. */
export async function findEffectiveMember(
  db: Kysely<DB>,
  projectId: number,
  traversalIds: string,
  userId: number,
): Promise<MemberWithUser | undefined> {
  // Ids are 32-bit on PostgreSQL: a larger one names no user (and would be an error there).
  if (userId > 2147483647) return undefined;
  const namespaceIds = traversalIds.split('/').filter(Boolean).map(Number);
  return db
    .selectFrom('members as m')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .selectAll('m')
    .select(['u.username', 'u.name', 'u.state'])
    .where('m.user_id', '=', userId)
    .where((e) =>
      e.or([
        e.and([e('m.source_type', '=', 'Project'), e('m.source_id', '=', projectId)]),
        // `in ()` is a syntax error on PostgreSQL: no ancestors means no namespace condition.
        ...(namespaceIds.length ? [e.and([e('m.source_type', '=', 'Namespace'), e('m.source_id', 'in', namespaceIds)])] : []),
      ]),
    )
    .orderBy('m.access_level', 'desc')
    .orderBy(sql`case when m.source_type = 'Project' then 0 else 1 end`)
    .limit(1)
    .executeTakeFirst();
}
