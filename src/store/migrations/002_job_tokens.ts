import type { Kysely } from 'kysely';
import type { Dialect } from '../db.js';
import { idColumn } from './columns.js';

// CI/CD job tokens (stored as digests, like personal access tokens) and the job token scope
// allowlist: which other projects' job tokens may reach a project.

export function jobTokens(dialect: Dialect) {
  const id = idColumn(dialect);

  return {
    async up(db: Kysely<unknown>) {
      await id(db.schema.createTable('ci_job_tokens'))
        .addColumn('project_id', 'integer', (c) => c.notNull().references('projects.id').onDelete('cascade'))
        .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('token_digest', 'text', (c) => c.notNull().unique())
        // The commit (or branch) the job runs for: a release of an unknown tag is tagged there.
        .addColumn('ref', 'text')
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('ended_at', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('ci_job_tokens_project_id').on('ci_job_tokens').column('project_id').execute();

      // project_id's allowlist names target_project_id: jobs of the target may reach the project.
      await id(db.schema.createTable('ci_job_token_allowlist'))
        .addColumn('project_id', 'integer', (c) => c.notNull().references('projects.id').onDelete('cascade'))
        .addColumn('target_project_id', 'integer', (c) => c.notNull().references('projects.id').onDelete('cascade'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('ci_job_token_allowlist_project_id_target_project_id_key', ['project_id', 'target_project_id'])
        .execute();
      await db.schema
        .createIndex('ci_job_token_allowlist_target_project_id')
        .on('ci_job_token_allowlist')
        .column('target_project_id')
        .execute();
    },
  };
}
