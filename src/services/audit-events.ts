import { auditEventEntity } from '../entities/audit-event.js';
import { unauthorized, forbidden, badParams } from '../errors.js';
import type { Page } from '../store/page.js';
import { canReadAuditEvents } from '../policy.js';
import { listAuditEvents } from '../store/audit.js';
import type { Ctx } from './context.js';
import { visibleProject } from './projects.js';

// Reading the audit log, apart from recording it (services/audit.ts): reading needs projects.ts,
// which records a project's deletion, so in one module the two would import each other.

export interface AuditQuery {
  created_after?: string;
  created_before?: string;
}

const isoOrInvalid = (name: string, value: string | undefined): string | undefined => {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw badParams(`${name} is invalid`);
  return date.toISOString();
};

/** GitLab's order: signed in (401) → project visible (404) → Maintainer and up (403). */
export async function listProjectAuditEvents(ctx: Ctx, projectRef: string, query: AuditQuery, page: Page) {
  if (!ctx.actor.user) throw unauthorized();
  const createdAfter = isoOrInvalid('created_after', query.created_after);
  const createdBefore = isoOrInvalid('created_before', query.created_before);
  const view = await visibleProject(ctx, projectRef);
  if (!canReadAuditEvents(ctx.actor, view)) throw forbidden();
  const { rows, total } = await listAuditEvents(ctx.db, view.project.id, { createdAfter, createdBefore }, page);
  return { items: rows.map((row) => auditEventEntity(row, view.project.full_path)), total };
}
