import type { Kysely } from 'kysely';
import type { Dialect } from '../db.js';
import { idColumn } from './columns.js';

// Schema for users, namespaces, projects, members, tokens, tags, releases and links.
// Times are ISO text and flags 0/1 integers: identical on SQLite and PostgreSQL.

export function init(dialect: Dialect) {
  const id = idColumn(dialect);

  return {
    async up(db: Kysely<unknown>) {
      await id(db.schema.createTable('users'))
        .addColumn('username', 'text', (c) => c.notNull())
        .addColumn('username_key', 'text', (c) => c.notNull().unique())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('email_key', 'text', (c) => c.notNull().unique())
        .addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('state', 'text', (c) => c.notNull().defaultTo('active'))
        .addColumn('password_digest', 'text')
        .addColumn('namespace_id', 'integer')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();

      await id(db.schema.createTable('namespaces'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('full_path', 'text', (c) => c.notNull())
        .addColumn('full_path_key', 'text', (c) => c.notNull().unique())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('parent_id', 'integer', (c) => c.references('namespaces.id').onDelete('cascade'))
        .addColumn('owner_id', 'integer', (c) => c.references('users.id').onDelete('cascade'))
        .addColumn('visibility', 'integer', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('traversal_ids', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();

      await id(db.schema.createTable('projects'))
        .addColumn('namespace_id', 'integer', (c) => c.notNull().references('namespaces.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('full_path', 'text', (c) => c.notNull())
        .addColumn('full_path_key', 'text', (c) => c.notNull().unique())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('visibility', 'integer', (c) => c.notNull())
        .addColumn('creator_id', 'integer', (c) => c.references('users.id').onDelete('set null'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('projects_namespace_id').on('projects').column('namespace_id').execute();

      await id(db.schema.createTable('members'))
        .addColumn('source_type', 'text', (c) => c.notNull())
        .addColumn('source_id', 'integer', (c) => c.notNull())
        .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('access_level', 'integer', (c) => c.notNull())
        .addColumn('expires_at', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('members_source_user_key', ['source_type', 'source_id', 'user_id'])
        .execute();
      await db.schema.createIndex('members_user_id').on('members').columns(['user_id', 'source_type', 'source_id']).execute();

      await id(db.schema.createTable('personal_access_tokens'))
        .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('token_digest', 'text', (c) => c.notNull().unique())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text')
        .addColumn('revoked', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('last_used_at', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('personal_access_tokens_user_id').on('personal_access_tokens').column('user_id').execute();

      await id(db.schema.createTable('tags'))
        .addColumn('project_id', 'integer', (c) => c.notNull().references('projects.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('tags_project_id_name_key', ['project_id', 'name'])
        .execute();

      await id(db.schema.createTable('protected_tags'))
        .addColumn('project_id', 'integer', (c) => c.notNull().references('projects.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('create_access_level', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('protected_tags_project_id_name_key', ['project_id', 'name'])
        .execute();

      await id(db.schema.createTable('releases'))
        .addColumn('project_id', 'integer', (c) => c.notNull().references('projects.id').onDelete('cascade'))
        .addColumn('tag_name', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('author_id', 'integer', (c) => c.references('users.id').onDelete('set null'))
        .addColumn('released_at', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('releases_project_id_tag_name_key', ['project_id', 'tag_name'])
        .execute();
      await db.schema
        .createIndex('releases_project_id_released_at')
        .on('releases')
        .columns(['project_id', 'released_at', 'id'])
        .execute();

      // The three unique indexes are the link uniqueness rule: a race between two creates ends in 400, not a duplicate.
      await id(db.schema.createTable('release_links'))
        .addColumn('release_id', 'integer', (c) => c.notNull().references('releases.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('filepath', 'text')
        .addColumn('link_type', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('release_links_release_id_name_key', ['release_id', 'name'])
        .addUniqueConstraint('release_links_release_id_url_key', ['release_id', 'url'])
        .addUniqueConstraint('release_links_release_id_filepath_key', ['release_id', 'filepath'])
        .execute();
      await db.schema
        .createIndex('release_links_release_id_created_at')
        .on('release_links')
        .columns(['release_id', 'created_at', 'id'])
        .execute();
    },
  };
}
