import type { Kysely } from 'kysely';
import type { Dialect } from '../db.js';
import { idColumn } from './columns.js';

// Project milestones and the milestones of a release. A title is unique within its project (GitLab's
// rule), and so is the iid the project numbers its milestones with.
export function milestones(dialect: Dialect) {
  const id = idColumn(dialect);
  return {
    async up(db: Kysely<unknown>) {
      await id(db.schema.createTable('milestones'))
        .addColumn('project_id', 'integer', (c) => c.notNull().references('projects.id').onDelete('cascade'))
        .addColumn('iid', 'integer', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('state', 'text', (c) => c.notNull().defaultTo('active'))
        .addColumn('due_date', 'text')
        .addColumn('start_date', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('milestones_project_id_title_key', ['project_id', 'title'])
        .addUniqueConstraint('milestones_project_id_iid_key', ['project_id', 'iid'])
        .execute();

      await id(db.schema.createTable('release_milestones'))
        .addColumn('release_id', 'integer', (c) => c.notNull().references('releases.id').onDelete('cascade'))
        .addColumn('milestone_id', 'integer', (c) => c.notNull().references('milestones.id').onDelete('cascade'))
        .addUniqueConstraint('release_milestones_release_id_milestone_id_key', ['release_id', 'milestone_id'])
        .execute();
      await db.schema.createIndex('release_milestones_milestone_id').on('release_milestones').column('milestone_id').execute();
    },
  };
}
