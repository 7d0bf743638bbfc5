import type { Kysely } from 'kysely';
import type { DB } from './schema.js';

/** The release of each named tag, for the tag JSON's `release`. */
export async function releasesOfTags(db: Kysely<DB>, projectId: number, tagNames: string[]): Promise<Array<{ tag_name: string; description: string }>> {
  if (tagNames.length === 0) return [];
  return db.selectFrom('releases').select(['tag_name', 'description']).where('project_id', '=', projectId).where('tag_name', 'in', tagNames).execute();
}

export async function deleteTagRow(db: Kysely<DB>, id: number): Promise<void> {
  await db.deleteFrom('tags').where('id', '=', id).execute();
}
