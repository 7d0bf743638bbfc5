import type { Kysely } from 'kysely';
import { notFound } from '../errors.js';
import { Visibility, type Actor, type ProjectView } from '../policy.js';
import { isAllowlisted } from '../store/job-tokens.js';
import type { DB } from '../store/schema.js';

/**
 * The project as a job token sees it. Its own project, and projects whose allowlist names its
 * project, as its user; a public project outside that scope as a stranger (reads only); any
 * other project not at all: 404 Project Not Found, so the token learns nothing about it.
 */
export async function jobScopedView(db: Kysely<DB>, actor: Actor, view: ProjectView): Promise<ProjectView> {
  if (actor.kind !== 'job' || actor.jobProjectId === undefined) return view;
  const { project } = view;
  if (project.id === actor.jobProjectId || (await isAllowlisted(db, project.id, actor.jobProjectId))) return view;
  if (project.visibility !== Visibility.PUBLIC) throw notFound('Project');
  return { project, access: 0, outsideJobScope: true };
}
