import type { Generated, Insertable, Selectable, Updateable } from 'kysely';
import type { MilestonesTable, ReleaseMilestonesTable } from './milestone-schema.js';
import type { BlobChunksTable, BlobsTable, DownloadCountsTable, PackageFilesTable, PackagesTable, UploadsTable } from './file-schema.js';
import type { WebHookDeliveriesTable, WebHookEventsTable, WebHookLogsTable, WebHooksTable } from './webhook-schema.js';
import type { SignInFailuresTable, WebSessionsTable } from './session-schema.js';

// Booleans are 0/1 integers and times are ISO 8601 strings so both stores hold identical values.

export interface UsersTable {
  id: Generated<number>;
  username: string;
  username_key: string;
  name: string;
  email: string;
  email_key: string;
  is_admin: number;
  state: string;
  password_digest: string | null;
  namespace_id: number | null;
  created_at: string;
}

export interface NamespacesTable {
  id: Generated<number>;
  name: string;
  path: string;
  full_path: string;
  full_path_key: string;
  kind: 'user' | 'group';
  parent_id: number | null;
  owner_id: number | null;
  visibility: number;
  description: string;
  /** Ancestor ids and own id as "1/4/9/", so one LIKE-free lookup finds inherited memberships. */
  traversal_ids: string;
  created_at: string;
}

export interface ProjectsTable {
  id: Generated<number>;
  namespace_id: number;
  name: string;
  path: string;
  full_path: string;
  full_path_key: string;
  description: string;
  visibility: number;
  creator_id: number | null;
  created_at: string;
  updated_at: string;
}

export interface MembersTable {
  id: Generated<number>;
  source_type: 'Project' | 'Namespace';
  source_id: number;
  user_id: number;
  access_level: number;
  expires_at: string | null;
  created_at: string;
}

export interface PersonalAccessTokensTable {
  id: Generated<number>;
  user_id: number;
  name: string;
  token_digest: string;
  scopes: string;
  expires_at: string | null;
  revoked: number;
  last_used_at: string | null;
  created_at: string;
}

export interface TagsTable {
  id: Generated<number>;
  project_id: number;
  name: string;
  target: string;
  message: string;
  created_at: string;
}

export interface ProtectedTagsTable {
  id: Generated<number>;
  project_id: number;
  name: string;
  create_access_level: number;
  created_at: string;
}

export interface ReleasesTable {
  id: Generated<number>;
  project_id: number;
  tag_name: string;
  name: string;
  description: string;
  author_id: number | null;
  released_at: string;
  created_at: string;
  updated_at: string;
}

export interface ReleaseLinksTable {
  id: Generated<number>;
  release_id: number;
  name: string;
  url: string;
  filepath: string | null;
  link_type: string;
  created_at: string;
  updated_at: string;
}

export interface DB {
  users: UsersTable;
  namespaces: NamespacesTable;
  projects: ProjectsTable;
  members: MembersTable;
  personal_access_tokens: PersonalAccessTokensTable;
  tags: TagsTable;
  protected_tags: ProtectedTagsTable;
  releases: ReleasesTable;
  release_links: ReleaseLinksTable;
  ci_job_tokens: CiJobTokensTable;
  ci_job_token_allowlist: CiJobTokenAllowlistTable;
  audit_events: AuditEventsTable;
  idempotency_keys: IdempotencyKeysTable;
  milestones: MilestonesTable;
  release_milestones: ReleaseMilestonesTable;
  blobs: BlobsTable;
  blob_chunks: BlobChunksTable;
  packages: PackagesTable;
  package_files: PackageFilesTable;
  uploads: UploadsTable;
  download_counts: DownloadCountsTable;
  web_hooks: WebHooksTable;
  web_hook_events: WebHookEventsTable;
  web_hook_deliveries: WebHookDeliveriesTable;
  web_hook_logs: WebHookLogsTable;
  web_sessions: WebSessionsTable;
  sign_in_failures: SignInFailuresTable;
}

export type User = Selectable<UsersTable>;
export type Namespace = Selectable<NamespacesTable>;
export type Project = Selectable<ProjectsTable>;
export type Member = Selectable<MembersTable>;
export type PersonalAccessToken = Selectable<PersonalAccessTokensTable>;
export type Tag = Selectable<TagsTable>;
export type ProtectedTag = Selectable<ProtectedTagsTable>;
export type Release = Selectable<ReleasesTable>;
export type ReleaseLink = Selectable<ReleaseLinksTable>;
export type NewReleaseLink = Insertable<ReleaseLinksTable>;
export type ReleaseLinkUpdate = Updateable<ReleaseLinksTable>;

/** Who changed which release or link, with the values before and after (JSON text, null when absent). */
export interface AuditEventsTable {
  id: Generated<number>;
  project_id: number;
  author_id: number | null;
  author_name: string;
  author_username: string;
  token_kind: string;
  event_name: string;
  target_type: string;
  target_id: number;
  target_details: string;
  before_json: string | null;
  after_json: string | null;
  /** The X-Request-Id of the request that made the change. */
  request_id: string | null;
  created_at: string;
}

/** The response of a create sent with an Idempotency-Key, replayed to retries for a day. */
export interface IdempotencyKeysTable {
  id: Generated<number>;
  user_id: number;
  scope: string;
  key: string;
  fingerprint: string;
  status: number;
  response: string;
  created_at: string;
  expires_at: string;
}

export type AuditEvent = Selectable<AuditEventsTable>;
export type NewAuditEvent = Insertable<AuditEventsTable>;
export type IdempotencyKey = Selectable<IdempotencyKeysTable>;

/** A CI/CD job token: acts as its user, for its project (and projects whose allowlist names it). */
export interface CiJobTokensTable {
  id: Generated<number>;
  project_id: number;
  user_id: number;
  token_digest: string;
  ref: string | null;
  expires_at: string;
  ended_at: string | null;
  created_at: string;
}

/** `project_id` lets job tokens of `target_project_id` in. */
export interface CiJobTokenAllowlistTable {
  id: Generated<number>;
  project_id: number;
  target_project_id: number;
  created_at: string;
}

export type CiJobToken = Selectable<CiJobTokensTable>;
export type CiJobTokenAllowlistEntry = Selectable<CiJobTokenAllowlistTable>;
