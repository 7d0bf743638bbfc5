import type { Kysely } from 'kysely';

// A release's links in the order they were given (`link_order=given`) are its links by id: this
// index reads them in that order, a page at a time, as (release_id, created_at, id) does for
// GitLab's newest-first order.
export function linkGivenOrder() {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.createIndex('release_links_release_id_id').on('release_links').columns(['release_id', 'id']).execute();
    },
  };
}
