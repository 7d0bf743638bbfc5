import { randomUUID } from 'node:crypto';
import { ApiError } from '../../errors.js';
import { now } from '../../store/errors.js';
import type { Ctx } from '../context.js';
import { attempt } from './attempt.js';
import { adminView, existing } from './hooks.js';
import { releaseHookData } from './payload.js';
import { recordAttempt } from './record.js';

// GitLab's "test" call (API::Hooks::TriggerTest, TestHooks::ProjectService): sends a sample of the
// event now, even to a disabled hook, logs it like any delivery, and answers 201 when the receiver
// answered 2xx, 422 with what it said (or why nothing came) otherwise. A success enables a
// disabled hook again. The sample of releases_events is the project's newest release as created.

export const TRIGGERS = [
  'push_events', 'tag_push_events', 'issues_events', 'confidential_issues_events', 'note_events', 'merge_requests_events',
  'job_events', 'pipeline_events', 'wiki_page_events', 'releases_events', 'emoji_events', 'resource_access_token_events',
] as const;
export type Trigger = (typeof TRIGGERS)[number];

// What GitLab says when the project has nothing to make a sample of; relinks keeps none of these.
const NO_SAMPLE: Record<Exclude<Trigger, 'releases_events'>, string> = {
  push_events: 'Ensure the project has at least one commit.',
  tag_push_events: 'Ensure the project has at least one commit.',
  issues_events: 'Ensure the project has issues.',
  confidential_issues_events: 'Ensure the project has issues.',
  note_events: 'Ensure the project has notes.',
  merge_requests_events: 'Ensure the project has merge requests.',
  job_events: 'Ensure the project has CI jobs.',
  pipeline_events: 'Ensure the project has CI pipelines.',
  wiki_page_events: 'Ensure the wiki is enabled and has pages.',
  emoji_events: 'Ensure the project has notes.',
  resource_access_token_events: 'Testing not available for this hook',
};

export async function testHook(ctx: Ctx, projectRef: string, hookId: number, trigger: Trigger) {
  const view = await adminView(ctx, projectRef);
  const hook = await existing(ctx, view, hookId);
  if (trigger !== 'releases_events') throw new ApiError(422, { message: NO_SAMPLE[trigger] });
  const release = await ctx.db
    .selectFrom('releases')
    .selectAll()
    .where('project_id', '=', view.project.id)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!release) throw new ApiError(422, { message: 'Ensure the project has releases.' });
  const payload = JSON.stringify(await releaseHookData(ctx.db, ctx.config.externalUrl, view.project, release, 'create'));
  const settings = ctx.config.webhooks;
  const result = await attempt(
    {
      trigger: 'release_hooks',
      url: hook.url,
      token: hook.token,
      customHeaders: hook.custom_headers,
      verifyTls: hook.enable_ssl_verification === 1,
      payload,
      idempotencyKey: randomUUID(),
      eventUuid: randomUUID(),
      requestId: ctx.requestId ?? null,
      externalUrl: ctx.config.externalUrl,
    },
    settings,
  );
  await ctx.write((trx) => recordAttempt(trx, hook.id, result, settings, Date.parse(now())));
  const { status, body, error } = result.answer;
  if (status !== null && status >= 200 && status < 300) return { message: '201 Created' };
  throw new ApiError(422, { message: status === null ? (error ?? 'internal error') : body });
}
