import { sql, type Kysely } from 'kysely';
import { rowsAndTotal, type Page } from './page.js';
import type { CiJobToken, CiJobTokenAllowlistEntry, DB, Namespace, Project, User } from './schema.js';

export async function insertJobToken(db: Kysely<DB>, values: Omit<CiJobToken, 'id'>): Promise<CiJobToken> {
  return db.insertInto('ci_job_tokens').values(values).returningAll().executeTakeFirstOrThrow();
}

export interface JobTokenWithUser {
  token: CiJobToken;
  user: User;
}

export async function findJobTokenByDigest(db: Kysely<DB>, digest: string): Promise<JobTokenWithUser | undefined> {
  const token = await db.selectFrom('ci_job_tokens').selectAll().where('token_digest', '=', digest).executeTakeFirst();
  if (!token) return undefined;
  const user = await db.selectFrom('users').selectAll().where('id', '=', token.user_id).executeTakeFirst();
  return user ? { token, user } : undefined;
}

export async function findJobToken(db: Kysely<DB>, projectId: number, id: number): Promise<CiJobToken | undefined> {
  if (id > 2147483647) return undefined;
  return db.selectFrom('ci_job_tokens').selectAll().where('project_id', '=', projectId).where('id', '=', id).executeTakeFirst();
}

/** Ends a token now; one already ended keeps its first end time. */
export async function endJobToken(db: Kysely<DB>, id: number, at: string): Promise<void> {
  await db.updateTable('ci_job_tokens').set({ ended_at: at }).where('id', '=', id).where('ended_at', 'is', null).execute();
}

/** Does `projectId`'s allowlist let job tokens of `jobProjectId` in? */
export async function isAllowlisted(db: Kysely<DB>, projectId: number, jobProjectId: number): Promise<boolean> {
  const row = await db
    .selectFrom('ci_job_token_allowlist')
    .select('id')
    .where('project_id', '=', projectId)
    .where('target_project_id', '=', jobProjectId)
    .executeTakeFirst();
  return row !== undefined;
}

export async function insertAllowlistEntry(db: Kysely<DB>, values: Omit<CiJobTokenAllowlistEntry, 'id'>): Promise<CiJobTokenAllowlistEntry> {
  return db.insertInto('ci_job_token_allowlist').values(values).returningAll().executeTakeFirstOrThrow();
}

/** Removes the entry; false when there was none. */
export async function deleteAllowlistEntry(db: Kysely<DB>, projectId: number, targetProjectId: number): Promise<boolean> {
  const result = await db
    .deleteFrom('ci_job_token_allowlist')
    .where('project_id', '=', projectId)
    .where('target_project_id', '=', targetProjectId)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

export type ProjectWithNamespace = { project: Project; namespace: Namespace };

/**
 * The projects whose job tokens may reach `projectId`: the project itself first (GitLab lists it
 * too), then the allowlist in the order entries were added.
 */
export async function listAllowlistProjects(db: Kysely<DB>, projectId: number, page: Page): Promise<{ rows: ProjectWithNamespace[]; total: number }> {
  const { rows: projects, total } = await rowsAndTotal(
    db
      .selectFrom('projects as p')
      .leftJoin('ci_job_token_allowlist as a', (join) => join.onRef('a.target_project_id', '=', 'p.id').on('a.project_id', '=', projectId))
      .selectAll('p')
      .where((e) => e.or([e('p.id', '=', projectId), e('a.id', 'is not', null)]))
      .orderBy(sql`case when p.id = ${projectId} then 0 else 1 end`)
      .orderBy('a.id')
      .limit(page.perPage)
      .offset(page.offset)
      .execute(),
    db
      .selectFrom('ci_job_token_allowlist')
      .select(sql<string>`count(*)`.as('n'))
      .where('project_id', '=', projectId)
      .executeTakeFirstOrThrow(),
  );
  const namespaceIds = [...new Set(projects.map((p) => p.namespace_id))];
  const namespaces = namespaceIds.length ? await db.selectFrom('namespaces').selectAll().where('id', 'in', namespaceIds).execute() : [];
  const byId = new Map(namespaces.map((n) => [n.id, n]));
  const rows = projects.map((project) => ({ project, namespace: byId.get(project.namespace_id)! }));
  return { rows, total: total + 1 };
}
