import http from 'node:http';
import { ApiError, badParams, forbidden, notFound, unauthorized } from '../../errors.js';
import { DEFAULT_OTHER_EVENTS, hookEntity, hookLogEntity, OTHER_EVENTS, otherEventsOf, type OtherEvent } from '../../entities/webhook.js';
import { canAdminWebHooks, type ProjectView } from '../../policy.js';
import { now } from '../../store/errors.js';
import type { Page } from '../../store/page.js';
import * as hooks from '../../store/webhooks.js';
import type { WebHook } from '../../store/webhook-schema.js';
import type { Ctx } from '../context.js';
import { visibleProject } from '../projects.js';
import { alertStatus } from './auto-disabling.js';
import { seal } from './secrets.js';
import { BlockedUrl, checkHookUrl } from './url-guard.js';

// GitLab's project hooks API (API::ProjectHooks): Maintainer and up, the token never shown.

/** GitLab's plan limit on a project's hooks. */
export const MAX_HOOKS_PER_PROJECT = 100;
/** relinks' own bounds, so a row stays small: GitLab sets none. */
const MAX_URL_LENGTH = 2048;
const MAX_TOKEN_LENGTH = 1024;
const MAX_CUSTOM_HEADERS = 20;

export const BRANCH_FILTER_STRATEGIES = ['wildcard', 'regex', 'all_branches'] as const;

export interface HookInput {
  url?: string;
  token?: string;
  name?: string;
  description?: string;
  enable_ssl_verification?: boolean;
  releases_events?: boolean;
  push_events_branch_filter?: string;
  branch_filter_strategy?: (typeof BRANCH_FILTER_STRATEGIES)[number];
  custom_headers?: Array<{ key: string; value: string }>;
  /** Every other `*_events` flag: stored and shown, never fired. */
  [flag: string]: unknown;
}

const entity = (hook: WebHook, list = false) => hookEntity(hook, alertStatus(hook, now()), { list });

export async function adminView(ctx: Ctx, projectRef: string): Promise<ProjectView> {
  // GitLab's ProjectHooks API authenticates before it looks at the project.
  if (!ctx.actor.user) throw unauthorized();
  const view = await visibleProject(ctx, projectRef);
  if (!canAdminWebHooks(ctx.actor, view)) throw forbidden();
  return view;
}

/** ActiveRecord's RecordNotFound: "404 Not found". */
export async function existing(ctx: Ctx, view: ProjectView, hookId: number): Promise<WebHook> {
  const hook = await hooks.findHook(ctx.db, view.project.id, hookId);
  if (!hook) throw notFound();
  return hook;
}

const invalidUrl = () => new ApiError(422, { message: 'Invalid url given' });

async function checkUrl(ctx: Ctx, url: string): Promise<void> {
  if (url.trim() === '' || url.length > MAX_URL_LENGTH) throw invalidUrl();
  try {
    await checkHookUrl(url, ctx.config.webhooks.allowLocalRequests, ctx.config.webhooks.lookup);
  } catch (error) {
    if (error instanceof BlockedUrl) throw invalidUrl();
    throw error;
  }
}

// An HTTP header name (RFC 9110 token) and a value without line breaks.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function customHeadersOf(given: Array<{ key: string; value: string }>, kept: Record<string, string>, secretKey: string | undefined): Record<string, string> {
  const headers = { ...kept };
  for (const { key, value } of given) headers[key] = seal(value, secretKey);
  const valid = Object.keys(headers).length <= MAX_CUSTOM_HEADERS && given.every(({ key, value }) => HEADER_NAME.test(key) && key.length <= 255 && !/[\r\n\0]/.test(value) && value.length <= 2048);
  if (!valid) throw new ApiError(422, { message: 'Custom headers validation failed' });
  return headers;
}

function checkBranchFilter(strategy: string, filter: string | null): void {
  if (strategy !== 'regex' || filter === null) return;
  try {
    new RegExp(filter);
  } catch {
    throw new ApiError(422, { message: 'Invalid branch filter given' });
  }
}

function checkToken(token: string | undefined): void {
  if (token !== undefined && (/\n/.test(token) || token.length > MAX_TOKEN_LENGTH)) throw new ApiError(422, { message: { token: ['is invalid'] } });
}

function flagsOf(input: HookInput, current: Record<OtherEvent, boolean>): Record<OtherEvent, boolean> {
  const flags = { ...current };
  for (const name of OTHER_EVENTS) if (typeof input[name] === 'boolean') flags[name] = input[name] as boolean;
  return flags;
}

export async function listHooks(ctx: Ctx, projectRef: string, page: Page) {
  const view = await adminView(ctx, projectRef);
  const { rows, total } = await hooks.listHooks(ctx.db, view.project.id, page);
  return { items: rows.map((h) => entity(h, true)), total };
}

export async function getHook(ctx: Ctx, projectRef: string, hookId: number) {
  const view = await adminView(ctx, projectRef);
  return entity(await existing(ctx, view, hookId));
}

export async function createHook(ctx: Ctx, projectRef: string, input: HookInput & { url: string }) {
  const view = await adminView(ctx, projectRef);
  // GitLab's order: the URL's error first, then the branch filter's, then the custom headers'.
  await checkUrl(ctx, input.url);
  const strategy = input.branch_filter_strategy ?? 'wildcard';
  const filter = strategy === 'all_branches' ? null : (input.push_events_branch_filter ?? null);
  checkBranchFilter(strategy, filter);
  const customHeaders = customHeadersOf(input.custom_headers ?? [], {}, ctx.config.webhooks.secretKey);
  checkToken(input.token);
  const at = now();
  const hook = await ctx.write(async (trx) => {
    if ((await hooks.countHooks(trx, view.project.id)) >= MAX_HOOKS_PER_PROJECT) {
      throw new ApiError(422, { message: { base: [`Maximum number of project hooks (${MAX_HOOKS_PER_PROJECT}) exceeded`] } });
    }
    return hooks.insertHook(trx, {
      project_id: view.project.id,
      url: input.url,
      token: input.token ? seal(input.token, ctx.config.webhooks.secretKey) : null,
      name: input.name ?? null,
      description: input.description ?? null,
      releases_events: input.releases_events ? 1 : 0,
      enable_ssl_verification: input.enable_ssl_verification === false ? 0 : 1,
      other_events: JSON.stringify(flagsOf(input, DEFAULT_OTHER_EVENTS)),
      push_events_branch_filter: filter,
      branch_filter_strategy: strategy,
      custom_headers: JSON.stringify(customHeaders),
      recent_failures: 0,
      disabled_until: null,
      created_at: at,
      updated_at: at,
    });
  });
  return entity(hook);
}

/** The parameters an update may carry; one of them must be there (GitLab: "No parameters provided"). */
const UPDATABLE = ['url', 'token', 'name', 'description', 'enable_ssl_verification', 'releases_events', 'push_events_branch_filter', 'branch_filter_strategy', 'custom_headers', ...OTHER_EVENTS];

export async function updateHook(ctx: Ctx, projectRef: string, hookId: number, input: HookInput) {
  const view = await adminView(ctx, projectRef);
  const hook = await existing(ctx, view, hookId);
  if (!UPDATABLE.some((name) => input[name] !== undefined)) throw new ApiError(400, { message: 'No parameters provided' });
  const url = input.url ?? hook.url;
  const urlChanged = url !== hook.url;
  if (input.url !== undefined) await checkUrl(ctx, url);
  const strategy = input.branch_filter_strategy ?? hook.branch_filter_strategy;
  const filter = strategy === 'all_branches' ? null : input.push_events_branch_filter !== undefined ? input.push_events_branch_filter : hook.push_events_branch_filter;
  checkBranchFilter(strategy, filter);
  // A new URL drops the secrets that went with the old one: the token (GitLab's rule) and the custom
  // headers not given again with it.
  const keptHeaders = urlChanged ? {} : (JSON.parse(hook.custom_headers) as Record<string, string>);
  const customHeaders = customHeadersOf(input.custom_headers ?? [], keptHeaders, ctx.config.webhooks.secretKey);
  checkToken(input.token);
  const token = input.token !== undefined ? (input.token ? seal(input.token, ctx.config.webhooks.secretKey) : null) : urlChanged ? null : hook.token;
  const updated = await ctx.write(async (trx) => {
    if (!(await hooks.lockedHook(trx, hook.id))) throw notFound();
    return hooks.updateHook(trx, hook.id, {
      url,
      token,
      name: input.name ?? hook.name,
      description: input.description ?? hook.description,
      releases_events: input.releases_events === undefined ? hook.releases_events : input.releases_events ? 1 : 0,
      enable_ssl_verification: input.enable_ssl_verification === undefined ? hook.enable_ssl_verification : input.enable_ssl_verification ? 1 : 0,
      other_events: JSON.stringify(flagsOf(input, otherEventsOf(hook))),
      push_events_branch_filter: filter,
      branch_filter_strategy: strategy,
      custom_headers: JSON.stringify(customHeaders),
      updated_at: now(),
    });
  });
  return entity(updated);
}

export async function deleteHook(ctx: Ctx, projectRef: string, hookId: number): Promise<void> {
  const view = await adminView(ctx, projectRef);
  const hook = await existing(ctx, view, hookId);
  await ctx.write((trx) => hooks.deleteHook(trx, hook.id));
}

// The status filter of the events list: an HTTP status code GitLab knows, or a class of them.
const STATUS_CLASSES: Record<string, [number, number]> = { successful: [200, 299], client_failure: [400, 499], server_failure: [500, 599] };
const KNOWN_STATUSES = new Set(Object.keys(http.STATUS_CODES));
/** GitLab shows the events of the past 7 days. */
const EVENTS_WINDOW_MS = 7 * 86_400_000;

export function statusFilter(raw: string | string[] | undefined): Pick<hooks.LogFilter, 'statuses' | 'ranges'> {
  if (raw === undefined) return {};
  const values = (Array.isArray(raw) ? raw : [raw]).flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
  const statuses: string[] = [];
  const ranges: Array<[number, number]> = [];
  for (const value of values) {
    if (STATUS_CLASSES[value]) ranges.push(STATUS_CLASSES[value]);
    else if (KNOWN_STATUSES.has(value)) statuses.push(value);
    else throw badParams('status does not have a valid value');
  }
  return { statuses, ranges };
}

export async function listHookEvents(ctx: Ctx, projectRef: string, hookId: number, status: string | string[] | undefined, page: Page) {
  const filter = statusFilter(status);
  const view = await adminView(ctx, projectRef);
  const hook = await existing(ctx, view, hookId);
  const since = new Date(Date.now() - EVENTS_WINDOW_MS).toISOString();
  const { rows, total } = await hooks.listHookLogs(ctx.db, hook.id, { since, ...filter }, page);
  return { items: rows.map(hookLogEntity), total };
}
