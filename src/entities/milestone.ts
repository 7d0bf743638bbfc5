import type { Milestone } from '../store/milestone-schema.js';

/** GitLab's Milestone entity. `today` is YYYY-MM-DD: a milestone is expired once its due date has passed. */
export function milestoneEntity(m: Milestone, projectWebUrl: string, today = new Date().toISOString().slice(0, 10)) {
  return {
    id: m.id,
    iid: m.iid,
    project_id: m.project_id,
    title: m.title,
    description: m.description,
    state: m.state,
    created_at: m.created_at,
    updated_at: m.updated_at,
    due_date: m.due_date,
    start_date: m.start_date,
    expired: m.due_date !== null && m.due_date < today,
    web_url: `${projectWebUrl}/-/milestones/${m.iid}`,
  };
}

/** MilestoneWithStats, as a release lists its milestones; relinks tracks no issues, so both counts are 0. */
export const milestoneWithStatsEntity = (m: Milestone, projectWebUrl: string) => ({
  ...milestoneEntity(m, projectWebUrl),
  issue_stats: { total: 0, closed: 0 },
});

/** A milestone as a release shows it. */
export type MilestoneJson = ReturnType<typeof milestoneWithStatsEntity>;
