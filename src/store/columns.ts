import type { DB } from './schema.js';

// The queries run as named statements on PostgreSQL (prepared.ts) name their columns instead of
// `select *` / `returning *`. PostgreSQL expands `*` when it (re)plans a statement, so a column
// added by a migration would change a prepared statement's result type, which PostgreSQL refuses
// ("cached plan must not change result type") for as long as the statement lives on its connection;
// with the columns named, it just plans the statement again and the rows keep their shape.

type Column<T extends keyof DB> = keyof DB[T] & string;

/**
 * The columns of `table`, in the order given. Written as an object with every column of the
 * table's interface as a key: one missing, or one the table does not have, fails to compile.
 */
function columnsOf<T extends keyof DB>(all: Record<Column<T>, true>): readonly Column<T>[] {
  return Object.keys(all) as Column<T>[];
}

/** The columns as `alias.column`, for a query that joins several tables. */
export const qualified = <A extends string, C extends string>(alias: A, columns: readonly C[]): readonly `${A}.${C}`[] =>
  columns.map((c) => `${alias}.${c}` as `${A}.${C}`);

export const USER_COLUMNS = columnsOf<'users'>({
  id: true,
  username: true,
  username_key: true,
  name: true,
  email: true,
  email_key: true,
  is_admin: true,
  state: true,
  password_digest: true,
  namespace_id: true,
  created_at: true,
});

export const PROJECT_COLUMNS = columnsOf<'projects'>({
  id: true,
  namespace_id: true,
  name: true,
  path: true,
  full_path: true,
  full_path_key: true,
  description: true,
  visibility: true,
  creator_id: true,
  created_at: true,
  updated_at: true,
});

export const PROTECTED_TAG_COLUMNS = columnsOf<'protected_tags'>({
  id: true,
  project_id: true,
  name: true,
  create_access_level: true,
  created_at: true,
});

export const RELEASE_COLUMNS = columnsOf<'releases'>({
  id: true,
  project_id: true,
  tag_name: true,
  name: true,
  description: true,
  author_id: true,
  released_at: true,
  created_at: true,
  updated_at: true,
});

export const LINK_COLUMNS = columnsOf<'release_links'>({
  id: true,
  release_id: true,
  name: true,
  url: true,
  filepath: true,
  link_type: true,
  created_at: true,
  updated_at: true,
});
