import { sql, type Kysely, type Insertable, type Updateable } from 'kysely';
import type { DB } from './schema.js';
import type { Milestone, MilestonesTable } from './milestone-schema.js';
import type { Page } from './page.js';

export interface MilestoneFilter {
  state?: 'active' | 'closed';
  title?: string;
  search?: string;
  iids?: number[];
  /** ISO times, inclusive as GitLab's UpdatedAtFilterable compares. */
  updatedBefore?: string;
  updatedAfter?: string;
}

/** The next iid is the project's highest plus one, read in the transaction that inserts. */
export async function insertMilestone(db: Kysely<DB>, values: Omit<Insertable<MilestonesTable>, 'iid'>): Promise<Milestone> {
  const row = await db.selectFrom('milestones').select(sql<number | null>`max(iid)`.as('n')).where('project_id', '=', values.project_id).executeTakeFirst();
  const iid = Number(row?.n ?? 0) + 1;
  return db.insertInto('milestones').values({ ...values, iid }).returningAll().executeTakeFirstOrThrow();
}

export async function findMilestone(db: Kysely<DB>, projectId: number, id: number): Promise<Milestone | undefined> {
  if (id > 2147483647) return undefined;
  return db.selectFrom('milestones').selectAll().where('project_id', '=', projectId).where('id', '=', id).executeTakeFirst();
}

export async function findMilestoneByTitle(db: Kysely<DB>, projectId: number, title: string): Promise<Milestone | undefined> {
  return db.selectFrom('milestones').selectAll().where('project_id', '=', projectId).where('title', '=', title).executeTakeFirst();
}

export async function updateMilestone(db: Kysely<DB>, id: number, values: Updateable<MilestonesTable>): Promise<Milestone> {
  return db.updateTable('milestones').set(values).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

/** GitLab's list: newest first (id descending), filtered by state, exact title, search in title or description, iids, update time. */
export async function listMilestones(db: Kysely<DB>, projectId: number, f: MilestoneFilter, page: Page): Promise<{ rows: Milestone[]; total: number }> {
  let q = db.selectFrom('milestones').where('project_id', '=', projectId);
  if (f.state) q = q.where('state', '=', f.state);
  if (f.title !== undefined) q = q.where('title', '=', f.title);
  if (f.iids?.length) q = q.where('iid', 'in', f.iids.filter((n) => n <= 2147483647));
  if (f.updatedBefore) q = q.where('updated_at', '<=', f.updatedBefore);
  if (f.updatedAfter) q = q.where('updated_at', '>=', f.updatedAfter);
  if (f.search) {
    const term = `%${f.search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    q = q.where(sql<boolean>`(lower(title) like ${term} escape '\\' or lower(description) like ${term} escape '\\')`);
  }
  const [rows, count] = await Promise.all([
    q.selectAll().orderBy('id', 'desc').limit(page.perPage).offset(page.offset).execute(),
    q.select(sql<string>`count(*)`.as('n')).executeTakeFirstOrThrow(),
  ]);
  return { rows, total: Number(count.n) };
}

export async function milestonesByTitles(db: Kysely<DB>, projectId: number, titles: string[]): Promise<Milestone[]> {
  if (titles.length === 0) return [];
  return db.selectFrom('milestones').selectAll().where('project_id', '=', projectId).where('title', 'in', titles).execute();
}

export async function milestonesByIds(db: Kysely<DB>, projectId: number, ids: number[]): Promise<Milestone[]> {
  if (ids.length === 0) return [];
  return db.selectFrom('milestones').selectAll().where('project_id', '=', projectId).where('id', 'in', ids).execute();
}

export async function setReleaseMilestones(db: Kysely<DB>, releaseId: number, milestoneIds: number[]): Promise<void> {
  await db.deleteFrom('release_milestones').where('release_id', '=', releaseId).execute();
  if (milestoneIds.length) {
    await db.insertInto('release_milestones').values(milestoneIds.map((milestone_id) => ({ release_id: releaseId, milestone_id }))).execute();
  }
}

/** The milestones of several releases, in GitLab's order_by_dates_and_title: due date, start date (no date last), title. */
export async function milestonesOfReleases(db: Kysely<DB>, releaseIds: number[]): Promise<Array<Milestone & { release_id: number }>> {
  if (releaseIds.length === 0) return [];
  return db
    .selectFrom('release_milestones as rm')
    .innerJoin('milestones as m', 'm.id', 'rm.milestone_id')
    .selectAll('m')
    .select('rm.release_id')
    .where('rm.release_id', 'in', releaseIds)
    .orderBy(sql`case when m.due_date is null then 1 else 0 end`)
    .orderBy('m.due_date')
    .orderBy(sql`case when m.start_date is null then 1 else 0 end`)
    .orderBy('m.start_date')
    .orderBy('m.title')
    .execute();
}
