import { ApiError } from '../errors.js';
import type { Milestone } from '../store/milestone-schema.js';
import { milestonesByIds, milestonesByTitles } from '../store/milestones.js';
import type { Ctx } from './context.js';

// A release's `milestones` (titles) and `milestone_ids`, read as GitLab 17 reads them: each is a
// list or a comma-separated string (glab sends "v1,v2"), each item split at commas and stripped
// (CommaSeparatedToArray); ids are then read as Ruby's to_i reads them ("12abc" is 12, "x" is 0).

export interface MilestoneParams {
  milestones?: string[];
  milestone_ids?: string[];
}

/** Ruby's String#strip: ASCII white space and NUL, at both ends. */
const strip = (text: string) => text.replace(/^[\t\n\v\f\r \0]+|[\t\n\v\f\r \0]+$/g, '');

/** Ruby's split(','): empty fields at the end are dropped, those before kept. */
function splitCommas(text: string): string[] {
  const fields = text.split(',');
  while (fields.length && fields[fields.length - 1] === '') fields.pop();
  return fields;
}

export const commaSeparated = (values: string[]): string[] => values.flatMap((v) => splitCommas(v).map(strip));

/** Ruby's to_i, as the digits of the integer it gives (it has no bound, so neither does this). */
export function rubyInteger(text: string): string {
  const m = /^[\t\n\v\f\r ]*([+-]?)(\d+(?:_\d+)*)/.exec(text);
  if (!m) return '0';
  const value = BigInt(m[2].replace(/_/g, ''));
  return (m[1] === '-' ? -value : value).toString();
}

const MAX_ID = 2147483647n;

/**
 * The project's milestones a release is to have, or undefined when the request names none (an
 * update then leaves them as they are); `[]` removes them. GitLab's 400 names what it lacks, in the
 * order asked, repeats included (Ruby's Array#-).
 */
export async function milestonesAsked(ctx: Ctx, projectId: number, params: MilestoneParams): Promise<Milestone[] | undefined> {
  if (params.milestones !== undefined) {
    const titles = commaSeparated(params.milestones);
    const found = await milestonesByTitles(ctx.db, projectId, [...new Set(titles)]);
    const missing = titles.filter((t) => !found.some((m) => m.title === t));
    if (missing.length) throw new ApiError(400, { message: `Milestone(s) not found: ${missing.join(', ')}` });
    return found;
  }
  if (params.milestone_ids !== undefined) {
    const ids = commaSeparated(params.milestone_ids).map(rubyInteger);
    const lookable = [...new Set(ids)].map(BigInt).filter((id) => id > 0n && id <= MAX_ID).map(Number);
    const found = await milestonesByIds(ctx.db, projectId, lookable);
    const missing = ids.filter((id) => !found.some((m) => String(m.id) === id));
    if (missing.length) throw new ApiError(400, { message: `Milestone id(s) not found: ${missing.join(', ')}` });
    return found;
  }
  return undefined;
}
