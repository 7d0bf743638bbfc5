import { Type, type TSchema } from '@sinclair/typebox';
import { linkSchema } from '../entities/link.js';

// Response bodies as src/entities builds them, in the same key order: fast-json-stringify writes
// keys in schema order and drops undeclared ones, so a field missing here would vanish from the
// answer (the response check in the tests compares each entity with these before serialization).
// OpenAPI 3.1 is JSON Schema 2020-12, so nullable fields are plain `type: [..., 'null']`.

/** `type: ['string', 'null']` rather than anyOf: fast-json-stringify serializes it without trying branches. */
const nullable = <T extends TSchema>(schema: T) => Type.Unsafe<T['static'] | null>({ ...schema, type: [schema.type, 'null'] });

const Str = Type.String();
const Int = Type.Integer();
const Time = Type.String({ description: 'ISO 8601 time' });
/** Empty in relinks (no repository, avatars, evidences); kept for GitLab's shape. */
const Empty = Type.Array(Type.String(), { maxItems: 0 });

/** A mark on what GitLab does not have, so generated clients and readers can tell. */
export const RELINKS_OWN = { 'x-relinks': true } as const;

export const Link = Type.Unsafe<unknown>({ ...linkSchema, required: Object.keys(linkSchema.properties), title: 'Link' });

export const UserBasic = Type.Object({
  id: Int,
  username: Str,
  name: Str,
  state: Str,
  locked: Type.Boolean(),
  avatar_url: Type.Null(),
  web_url: Str,
}, { title: 'UserBasic' });

/** Admins and the user themself see the account details too. */
export const User = Type.Object({
  ...UserBasic.properties,
  created_at: Type.Optional(Time),
  bio: Type.Optional(Str),
  public_email: Type.Optional(Type.Null()),
  email: Type.Optional(Str),
  is_admin: Type.Optional(Type.Boolean()),
  namespace_id: Type.Optional(nullable(Int)),
}, { title: 'User' });

export const PersonalAccessToken = Type.Object({
  id: Int,
  name: Str,
  revoked: Type.Boolean(),
  created_at: Time,
  scopes: Type.Array(Str),
  user_id: Int,
  last_used_at: nullable(Time),
  active: Type.Boolean(),
  expires_at: nullable(Type.String({ description: 'YYYY-MM-DD' })),
  token: Type.Optional(Type.String({ description: 'The secret, shown only when the token is created' })),
}, { title: 'PersonalAccessToken' });

export const Namespace = Type.Object({
  id: Int,
  name: Str,
  path: Str,
  kind: Type.Unsafe<'user' | 'group'>({ type: 'string', enum: ['user', 'group'] }),
  full_path: Str,
  parent_id: nullable(Int),
  avatar_url: Type.Null(),
  web_url: Str,
}, { title: 'Namespace' });

export const Group = Type.Object({
  id: Int,
  web_url: Str,
  name: Str,
  path: Str,
  description: Str,
  visibility: Str,
  full_name: Str,
  full_path: Str,
  created_at: Time,
  parent_id: nullable(Int),
}, { title: 'Group' });

const Access = nullable(Type.Object({ access_level: Int, notification_level: Int }));

/** GitLab's BasicProjectDetails, as the job token allowlist lists projects. */
export const BasicProject = Type.Object({
  id: Int,
  description: Str,
  name: Str,
  name_with_namespace: Str,
  path: Str,
  path_with_namespace: Str,
  created_at: Time,
  default_branch: Str,
  tag_list: Empty,
  topics: Empty,
  http_url_to_repo: Str,
  web_url: Str,
  readme_url: Type.Null(),
  forks_count: Int,
  avatar_url: Type.Null(),
  star_count: Int,
  last_activity_at: Time,
  namespace: Namespace,
}, { title: 'BasicProject' });

export const Project = Type.Object(
  {
    ...BasicProject.properties,
    _links: Type.Object({ self: Str, members: Str }),
    visibility: Str,
    creator_id: nullable(Int),
    permissions: Type.Object({ project_access: Access, group_access: Access }),
  },
  { title: 'Project' },
);

export const Member = Type.Object({
  id: Int,
  username: Str,
  name: Str,
  state: Str,
  avatar_url: Type.Null(),
  web_url: Str,
  access_level: Int,
  created_at: Time,
  expires_at: nullable(Str),
}, { title: 'Member' });

const Commit = Type.Object({
  id: Str,
  short_id: Str,
  created_at: Time,
  parent_ids: Empty,
  title: Str,
  message: Str,
  web_url: Str,
});

/** GitLab's Milestone entity. */
export const Milestone = Type.Object({
  id: Int,
  iid: Int,
  project_id: Int,
  title: Str,
  description: Str,
  state: Type.Unsafe<'active' | 'closed'>({ type: 'string', enum: ['active', 'closed'] }),
  created_at: Time,
  updated_at: Time,
  due_date: nullable(Type.String({ description: 'YYYY-MM-DD' })),
  start_date: nullable(Type.String({ description: 'YYYY-MM-DD' })),
  expired: Type.Boolean(),
  web_url: Str,
}, { title: 'Milestone' });

/** A release's milestones: MilestoneWithStats (relinks tracks no issues, so the counts are 0). */
export const MilestoneWithStats = Type.Object({
  ...Milestone.properties,
  issue_stats: Type.Object({ total: Int, closed: Int }),
}, { title: 'MilestoneWithStats' });

export const Release = Type.Object({
  name: Str,
  tag_name: Str,
  description: Str,
  description_html: Type.Optional(Type.String({ description: 'With include_html_description: the description rendered from Markdown, sanitized' })),
  created_at: Time,
  released_at: Time,
  upcoming_release: Type.Boolean(),
  author: nullable(UserBasic),
  commit: nullable(Commit),
  milestones: Type.Optional(Type.Array(MilestoneWithStats, { description: 'Left out when the release has none' })),
  commit_path: nullable(Str),
  tag_path: Str,
  assets: Type.Object({ count: Int, sources: Empty, links: Type.Array(Link) }),
  evidences: Empty,
  _links: Type.Object({
    closed_issues_url: Str,
    closed_merge_requests_url: Str,
    edit_url: Str,
    merged_merge_requests_url: Str,
    opened_issues_url: Str,
    opened_merge_requests_url: Str,
    self: Str,
  }),
}, { title: 'Release' });

export const Tag = Type.Object({
  name: Str,
  message: Str,
  target: Str,
  commit: Commit,
  release: nullable(Type.Object({ tag_name: Str, description: Str })),
  protected: Type.Boolean(),
  created_at: Time,
}, { title: 'Tag' });

export const ProtectedTag = Type.Object(
  {
    name: Str,
    create_access_levels: Type.Array(Type.Object({ id: Int, access_level: Int, access_level_description: Str })),
  },
  { title: 'ProtectedTag' },
);

export const JobToken = Type.Object(
  {
    id: Int,
    token: Type.String({ description: 'The secret, shown only here' }),
    expires_at: Time,
    project_id: Int,
    user_id: Int,
    ref: nullable(Str),
  },
  { ...RELINKS_OWN, title: 'JobToken' },
);

export const ScopeLink = Type.Object({ source_project_id: Int, target_project_id: Int }, { title: 'ScopeLink' });

export const AuditEvent = Type.Object({
  id: Int,
  author_id: Int,
  entity_id: Int,
  entity_type: Type.Literal('Project'),
  details: Type.Object({
    event_name: Str,
    custom_message: Str,
    author_name: Str,
    author_username: Str,
    author_class: Str,
    token_kind: Type.String({ ...RELINKS_OWN, description: 'personal, job or session (a signed-in browser)' }),
    target_id: Int,
    target_type: Str,
    target_details: Str,
    entity_path: Str,
    before: Type.Unknown({ ...RELINKS_OWN, description: 'The release or link before the change (null for a create)' }),
    after: Type.Unknown({ ...RELINKS_OWN, description: 'The release or link after the change (null for a delete)' }),
    correlation_id: Type.Union([Str, Type.Null()], { ...RELINKS_OWN, description: "The X-Request-Id of the change's request (null for events recorded before relinks kept it)" }),
  }),
  created_at: Time,
}, { title: 'AuditEvent' });

export const Message = Type.Object({ message: Str }, { title: 'Message' });

/**
 * GitLab's error bodies: `{"message": "404 Project Not Found"}`, ActiveRecord field errors
 * `{"message": {"url": ["can't be blank"]}}` or a list, Grape's `{"error": "name is missing"}`,
 * and the insufficient-scope triple. One of `message` or `error` is always there.
 */
export const GitLabError = Type.Object(
  {
    message: Type.Optional(
      Type.Union([Str, Type.Array(Str), Type.Record(Str, Type.Array(Str))]),
    ),
    error: Type.Optional(Str),
    error_description: Type.Optional(Str),
    scope: Type.Optional(Str),
  },
  { additionalProperties: false, minProperties: 1, title: 'GitLabError', description: 'GitLab error' },
);

/** A redirect has no body worth reading: the target is in Location. */
export const Redirect = Type.Null({
  description: 'Found: the target is in the Location header',
  headers: { location: Type.String({ description: 'Where the asset or release is' }) },
});

export const NoContent = Type.Null({ description: 'No Content' });

const pageHeader = (description: string) => Type.String({ description });

/** GitLab's pagination headers (src/http/pagination.ts), numbers sent as strings; next and prev are empty at the ends. */
const PAGE_HEADERS = {
  'x-total': pageHeader('Items in all pages'),
  'x-total-pages': pageHeader('Number of pages'),
  'x-page': pageHeader('This page'),
  'x-per-page': pageHeader('Items per page (at most 100)'),
  'x-next-page': pageHeader('The next page, empty on the last'),
  'x-prev-page': pageHeader('The previous page, empty on the first'),
  link: pageHeader('RFC 8288 links: prev, next, first, last'),
};

export const paged = <T extends TSchema>(item: T) => Type.Array(item, { description: 'One page, newest first', headers: PAGE_HEADERS });

/** `x-response-description` describes the answer and leaves the schema GitLabError's, so the document can share one copy. */
export const error = (description: string, own = false) => ({ ...GitLabError, 'x-response-description': description, ...(own ? RELINKS_OWN : {}) });

/** Creates that take an Idempotency-Key (a relinks addition): a retry while the first runs, or a reused key. */
export const idempotencyBusy = error('A request with this Idempotency-Key is still being processed', true);
export const idempotencyReused = error('Idempotency-Key has already been used with different parameters', true);
export const conflict = (what: string) => error(`Conflict: ${what}`);
export const unprocessable = (what: string) => error(`Unprocessable: ${what}`);

/** GitLab's probe shape: `{"status":"ok","master_check":[{"status":"ok"}]}`. */
export const Probe = Type.Object({
  status: Str,
  master_check: Type.Optional(Type.Array(Type.Object({ status: Str, message: Type.Optional(Str) }))),
}, { title: 'Probe' });

export const PlainText = { description: 'OK', content: { 'text/plain': { schema: Type.String() } } };
