import type {
  CompiledQuery,
  DatabaseConnection,
  DatabaseIntrospector,
  Dialect,
  DialectAdapter,
  Driver,
  QueryCompiler,
  QueryResult,
  TransactionSettings,
} from 'kysely';
import { isConnectionLoss, isStalePlan } from './errors.js';

// Wraps a PostgreSQL dialect so that a connection lost under us (database restarted, proxy or
// network reset) costs a request nothing when repeating the work is harmless:
// - acquiring a connection that fails to connect is tried once more (nothing was sent yet);
// - a read outside a transaction is run once more on a fresh connection;
// - a transaction whose BEGIN fails is started once more on a fresh connection;
// - a named statement PostgreSQL refused as stale (pg-statements.ts: a migration changed the type
//   of a column it returns) is run once more, outside a transaction, read or write: the refusal
//   comes before it runs, and the retry prepares it anew.
// Anything else (a write, or any statement inside a transaction that already began) fails as is:
// its outcome is unknown, and repeating it blindly could apply it twice.

const RETRY_DELAY_MS = 200;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function isRead(query: CompiledQuery): boolean {
  const kind = query.query.kind;
  return kind === 'SelectQueryNode' || (kind === 'RawNode' && /^\s*select\b/i.test(query.sql));
}

/** A handle Kysely holds on to; the pooled connection behind it can be swapped while nothing is at stake. */
class ReconnectingConnection implements DatabaseConnection {
  inTransaction = false;

  constructor(
    private readonly driver: ReconnectingDriver,
    public inner: DatabaseConnection,
  ) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    try {
      return await this.inner.executeQuery<R>(query);
    } catch (error) {
      if (!this.inTransaction && isStalePlan(error)) return this.inner.executeQuery<R>(query);
      if (this.inTransaction || !isRead(query) || !isConnectionLoss(error)) throw error;
      await this.reconnect();
      return this.inner.executeQuery<R>(query);
    }
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(query, chunkSize);
  }

  /** Trades the broken connection for a fresh one; pg drops a client that is no longer queryable. */
  async reconnect(): Promise<void> {
    const broken = this.inner;
    this.inner = await this.driver.acquireInner();
    await this.driver.inner.releaseConnection(broken);
  }
}

class ReconnectingDriver implements Driver {
  constructor(readonly inner: Driver) {}

  init(): Promise<void> {
    return this.inner.init();
  }

  async acquireInner(): Promise<DatabaseConnection> {
    try {
      return await this.inner.acquireConnection();
    } catch (error) {
      if (!isConnectionLoss(error)) throw error;
      await sleep(RETRY_DELAY_MS);
      return this.inner.acquireConnection();
    }
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    return new ReconnectingConnection(this, await this.acquireInner());
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const c = connection as ReconnectingConnection;
    try {
      await this.inner.beginTransaction(c.inner, settings);
    } catch (error) {
      if (!isConnectionLoss(error)) throw error;
      // Nothing ran in this transaction yet, so starting it again elsewhere is safe.
      await c.reconnect();
      await this.inner.beginTransaction(c.inner, settings);
    }
    c.inTransaction = true;
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const c = connection as ReconnectingConnection;
    try {
      await this.inner.commitTransaction(c.inner);
    } finally {
      c.inTransaction = false;
    }
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const c = connection as ReconnectingConnection;
    try {
      await this.inner.rollbackTransaction(c.inner);
    } finally {
      c.inTransaction = false;
    }
  }

  async savepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    await this.inner.savepoint?.((connection as ReconnectingConnection).inner, name, compile);
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    await this.inner.rollbackToSavepoint?.((connection as ReconnectingConnection).inner, name, compile);
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    await this.inner.releaseSavepoint?.((connection as ReconnectingConnection).inner, name, compile);
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.inner.releaseConnection((connection as ReconnectingConnection).inner);
  }

  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}

/** The same dialect, with the retries above around its driver. */
export function reconnecting(dialect: Dialect): Dialect {
  return {
    createAdapter: (): DialectAdapter => dialect.createAdapter(),
    createDriver: (): Driver => new ReconnectingDriver(dialect.createDriver()),
    createQueryCompiler: (): QueryCompiler => dialect.createQueryCompiler(),
    createIntrospector: (db: Parameters<Dialect['createIntrospector']>[0]): DatabaseIntrospector => dialect.createIntrospector(db),
  };
}
