import type { Namespace, Project, ProtectedTag, User } from './store/schema.js';

// The single place that decides who may do what. Services ask; routes never check by hand.

export const AccessLevel = { NONE: 0, GUEST: 10, REPORTER: 20, DEVELOPER: 30, MAINTAINER: 40, OWNER: 50 } as const;
export const ACCESS_LEVELS = [10, 20, 30, 40, 50];

export const Visibility = { PRIVATE: 0, INTERNAL: 10, PUBLIC: 20 } as const;
export const VISIBILITY_NAMES: Record<number, string> = { 0: 'private', 10: 'internal', 20: 'public' };
export const visibilityLevel = (name: string): number => ({ private: 0, internal: 10, public: 20 })[name] ?? 0;

export interface Actor {
  user: User | null;
  /** Token scopes; anonymous requests have none. */
  scopes: readonly string[];
  kind: 'anonymous' | 'personal' | 'job' | 'session';
  /** For a job token: the project whose pipeline it was issued to. */
  jobProjectId?: number;
  /** For a job token: the commit (or branch) its job runs for, when the pipeline said so. */
  jobRef?: string;
}

export const anonymous: Actor = { user: null, scopes: [], kind: 'anonymous' };

/** A project as one actor sees it: the row plus the actor's effective (inherited) access level. */
export interface ProjectView {
  project: Project;
  access: number;
  /** A job token on a public project outside its scope: there it is a stranger that may only read. */
  outsideJobScope?: boolean;
}

const isAdmin = (actor: Actor, view?: ProjectView) => actor.user?.is_admin === 1 && !view?.outsideJobScope;

export function canReadProject(actor: Actor, view: ProjectView): boolean {
  const { project, access } = view;
  if (isAdmin(actor, view)) return true;
  if (project.visibility === Visibility.PUBLIC) return true;
  if (project.visibility === Visibility.INTERNAL && actor.user && !view.outsideJobScope) return true;
  return access >= AccessLevel.GUEST;
}

export const canReadReleases = canReadProject;

export function canReadCode(actor: Actor, view: ProjectView): boolean {
  if (isAdmin(actor, view) || view.project.visibility !== Visibility.PRIVATE) return canReadProject(actor, view);
  return view.access >= AccessLevel.REPORTER;
}

export function canWriteReleases(actor: Actor, view: ProjectView): boolean {
  return isAdmin(actor, view) || view.access >= AccessLevel.DEVELOPER;
}

export function canAdminProject(actor: Actor, view: ProjectView): boolean {
  return isAdmin(actor, view) || view.access >= AccessLevel.MAINTAINER;
}

/** Project audit events: Maintainer and up, as on GitLab. */
export function canReadAuditEvents(actor: Actor, view: ProjectView): boolean {
  return canAdminProject(actor, view);
}

export function canDeleteProject(actor: Actor, view: ProjectView): boolean {
  return isAdmin(actor, view) || view.access >= AccessLevel.OWNER;
}

/** A group as GitLab shows it: public to all, internal to signed-in users, private to members and admins. */
export function canReadGroup(actor: Actor, group: Namespace, access: number): boolean {
  if (isAdmin(actor)) return true;
  if (group.visibility === Visibility.PUBLIC) return true;
  if (group.visibility === Visibility.INTERNAL && actor.user) return true;
  return access >= AccessLevel.GUEST;
}

/** Creating a group or project inside a namespace: admins, and Maintainers of the namespace and up. */
export function canCreateInNamespace(actor: Actor, access: number): boolean {
  return isAdmin(actor) || access >= AccessLevel.MAINTAINER;
}

/** Handing out a role: only up to one's own (so only owners give the owner role), or as an admin. */
export function canGrantAccess(actor: Actor, ownAccess: number, level: number): boolean {
  return isAdmin(actor) || level <= ownAccess;
}

export function canAdminUsers(actor: Actor): boolean {
  return isAdmin(actor);
}

/** GitLab's wildcard: `*` matches any run of characters, everything else is literal. */
export function tagMatches(pattern: string, tag: string): boolean {
  if (!pattern.includes('*')) return pattern === tag;
  const regex = new RegExp('^' + pattern.split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
  return regex.test(tag);
}

/**
 * May the actor create (and so release, or change the links of a release of) this tag?
 * Unprotected tags need Developer; a protected one needs the level one of its matching rules allows.
 */
export function canCreateTag(actor: Actor, view: ProjectView, protectedTags: readonly ProtectedTag[], tag: string): boolean {
  if (isAdmin(actor, view)) return true;
  if (view.access < AccessLevel.DEVELOPER) return false;
  const rules = protectedTags.filter((p) => tagMatches(p.name, tag));
  if (rules.length === 0) return true;
  return rules.some((r) => r.create_access_level > AccessLevel.NONE && view.access >= r.create_access_level);
}

/** Minting a CI/CD job token for a project: whoever may run its pipelines, Developer and up. */
export function canCreateJobToken(actor: Actor, view: ProjectView): boolean {
  return actor.kind === 'personal' && (isAdmin(actor, view) || view.access >= AccessLevel.DEVELOPER);
}

/** Ending a job token early: the user it acts as, or a Maintainer of its project. */
export function canEndJobToken(actor: Actor, view: ProjectView, tokenUserId: number): boolean {
  return actor.user?.id === tokenUserId || canAdminProject(actor, view);
}

/**
 * Deleting a tag: GitLab's TagPolicy enables `delete_tag` for whoever has `admin_tag` (Developer)
 * and, on a protected tag, only for Maintainers and up, whatever the rule's create level says.
 */
export function canDeleteTag(actor: Actor, view: ProjectView, protectedTags: readonly ProtectedTag[], tag: string): boolean {
  if (isAdmin(actor, view)) return true;
  if (view.access < AccessLevel.DEVELOPER) return false;
  return !isProtectedTag(protectedTags, tag) || view.access >= AccessLevel.MAINTAINER;
}

export const isProtectedTag = (protectedTags: readonly ProtectedTag[], tag: string): boolean =>
  protectedTags.some((p) => tagMatches(p.name, tag));

/** Milestones: whoever sees the project reads them; Reporters and up plan them (GitLab's admin_milestone). */
export const canReadMilestones = canReadProject;
export function canAdminMilestones(actor: Actor, view: ProjectView): boolean {
  return isAdmin(actor, view) || view.access >= AccessLevel.REPORTER;
}

/** Packages: Reporter and up read them on a private project, anyone who sees a public one. */
export const canReadPackages = canReadCode;
/** Publishing a package file: Developer and up (a CI job token acts as its user). */
export function canPublishPackages(actor: Actor, view: ProjectView): boolean {
  return isAdmin(actor, view) || view.access >= AccessLevel.DEVELOPER;
}
/** Deleting packages and package files: Maintainer and up. */
export function canDestroyPackages(actor: Actor, view: ProjectView): boolean {
  return canAdminProject(actor, view);
}
/** Project uploads: any member (Guest and up) adds one; whoever sees the project reads them. */
export function canUploadFiles(actor: Actor, view: ProjectView): boolean {
  return actor.user !== null && (isAdmin(actor, view) || view.access >= AccessLevel.GUEST);
}
export const canReadUploads = canReadProject;
export function canDeleteUploads(actor: Actor, view: ProjectView): boolean {
  return canAdminProject(actor, view);
}
/** Project webhooks (list, read, change, test, their events): Maintainer and up, as GitLab's admin_web_hook. */
export function canAdminWebHooks(actor: Actor, view: ProjectView): boolean {
  return canAdminProject(actor, view);
}
