import type { Kysely } from 'kysely';
import { deleteLinks, insertLink, lockedLinksOf } from '../store/links.js';
import type { DB, ReleaseLink } from '../store/schema.js';
import { filepathOf } from './link-rules.js';

// relinks' own: a release update with `assets[links]` makes the release's links exactly those given,
// in that order (GitLab MR 50300, never merged). The links are checked first, like a create's.

export interface GivenLink {
  name: string;
  url: string;
  filepath?: string;
  direct_asset_path?: string;
  link_type?: string;
}

/** Inserts links in the order given (ids rise with it: `link_order=given` reads them by id). */
export async function insertGivenLinks(trx: Kysely<DB>, releaseId: number, links: GivenLink[], at: string): Promise<void> {
  for (const link of links) {
    await insertLink(trx, {
      release_id: releaseId,
      name: link.name,
      url: link.url,
      filepath: filepathOf(link) ?? null,
      link_type: link.link_type ?? 'other',
      created_at: at,
      updated_at: at,
    });
  }
}

const sameLink = (had: ReleaseLink, given: GivenLink) =>
  had.name === given.name && had.url === given.url && had.filepath === (filepathOf(given) ?? null) && had.link_type === (given.link_type ?? 'other');

/**
 * Replaces the release's links inside `trx`, whose caller holds the release's row lock. Links that
 * stay as they were, at the same place from the start of the list, are kept with their ids (a
 * repeated update changes nothing); every other one is deleted, and the rest of the list inserted
 * in its order, which is the order `link_order=given` reads them in (by id).
 */
export async function replaceLinks(trx: Kysely<DB>, releaseId: number, given: GivenLink[], at: string): Promise<void> {
  // Locked too: a concurrent update of one of them (which locks only its link) waits for us, or we for it.
  const current = await lockedLinksOf(trx, releaseId);
  let kept = 0;
  while (kept < current.length && kept < given.length && sameLink(current[kept], given[kept])) kept++;
  await deleteLinks(trx, current.slice(kept).map((l) => l.id));
  await insertGivenLinks(trx, releaseId, given.slice(kept), at);
}
