import type { KyselyPlugin, OperationNode, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';

// Who a token belongs to and what it may do come from two tables. Caches of them (the token cache
// in services/tokens.ts) stay valid only while `authGeneration()` does not move: this plugin,
// installed on every store's Kysely instance, moves it on each write to those tables — whoever
// writes them, through whichever function — when the statement is sent and again when it returns.
// A transaction's writes become visible to other connections only at COMMIT, so Store.write also
// moves it after a commit that wrote them (see noteCommit).

const WATCHED = new Set(['users', 'personal_access_tokens']);
/** Columns whose change does not alter what a token may do (bookkeeping the cache keeps itself). */
const HARMLESS = new Set(['last_used_at']);

let generation = 0;

export const authGeneration = (): number => generation;

interface Named extends OperationNode {
  table?: OperationNode;
  identifier?: { name?: string };
  node?: OperationNode;
  froms?: readonly OperationNode[];
}

function tableName(node: OperationNode | undefined): string | undefined {
  const n = node as Named | undefined;
  if (!n) return undefined;
  if (n.kind === 'AliasNode') return tableName(n.node);
  if (n.kind === 'TableNode') return tableName(n.table);
  if (n.kind === 'SchemableIdentifierNode') return n.identifier?.name;
  return undefined;
}

interface WriteNode extends OperationNode {
  table?: OperationNode;
  into?: OperationNode;
  from?: { froms?: readonly OperationNode[] };
  updates?: readonly { column?: { column?: { name?: string } } }[];
  sqlFragments?: readonly string[];
}

function changesAuth(root: RootOperationNode): boolean {
  const node = root as WriteNode;
  switch (node.kind) {
    case 'UpdateQueryNode': {
      if (!WATCHED.has(tableName(node.table) ?? '')) return false;
      const columns = (node.updates ?? []).map((u) => u.column?.column?.name ?? '');
      return !columns.every((c) => HARMLESS.has(c));
    }
    case 'DeleteQueryNode':
      return (node.from?.froms ?? []).some((f) => WATCHED.has(tableName(f) ?? ''));
    case 'InsertQueryNode':
      return WATCHED.has(tableName(node.into) ?? '');
    case 'RawNode': {
      const text = (node.sqlFragments ?? []).join(' ').toLowerCase();
      return /\b(update|delete|insert|replace|drop|alter)\b/.test(text) && /\b(users|personal_access_tokens)\b/.test(text);
    }
    default:
      // Schema changes (migrations) and anything unforeseen that writes: assume the worst.
      return !['SelectQueryNode', 'InsertQueryNode', 'UpdateQueryNode', 'DeleteQueryNode'].includes(node.kind) && node.kind !== 'CreateIndexNode';
  }
}

const pending = new WeakSet<object>();

export const authChangesPlugin: KyselyPlugin = {
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (args.node.kind !== 'SelectQueryNode' && changesAuth(args.node)) {
      generation++;
      pending.add(args.queryId);
    }
    return args.node;
  },
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    if (pending.has(args.queryId)) generation++;
    return args.result;
  },
};

/**
 * Wraps a store's write so that a committed unit that wrote users or tokens moves the generation
 * once more after COMMIT: a lookup on another connection between the statement and the commit
 * still saw the old row, and must not keep it.
 */
export function noteCommit<T>(run: () => Promise<T>): Promise<T> {
  const before = generation;
  return run().finally(() => {
    if (generation !== before) generation++;
  });
}
