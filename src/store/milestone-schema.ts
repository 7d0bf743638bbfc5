import type { Generated, Selectable } from 'kysely';

export interface MilestonesTable {
  id: Generated<number>;
  project_id: number;
  /** Numbered per project, from 1. */
  iid: number;
  title: string;
  description: string;
  state: 'active' | 'closed';
  /** YYYY-MM-DD */
  due_date: string | null;
  start_date: string | null;
  created_at: string;
  updated_at: string;
}

export interface ReleaseMilestonesTable {
  id: Generated<number>;
  release_id: number;
  milestone_id: number;
}

export type Milestone = Selectable<MilestonesTable>;
