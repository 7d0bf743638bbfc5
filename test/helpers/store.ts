import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

// Each test server gets a store of its own: a fresh SQLite file, or a fresh PostgreSQL schema
// dropped afterwards, so files and runs never see each other's rows.

export type StoreKind = 'sqlite' | 'postgres';

export const storeKind = (): StoreKind => (process.env.RELINKS_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite');

export const postgresBaseUrl = () => process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

export interface TestStore {
  kind: StoreKind;
  databaseUrl: string;
  drop(): Promise<void>;
}

export async function createTestStore(kind: StoreKind = storeKind()): Promise<TestStore> {
  const id = `${process.pid}_${randomBytes(4).toString('hex')}`;
  if (kind === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relinks-test-'));
    return {
      kind,
      databaseUrl: `sqlite:${path.join(dir, 'relinks.db')}`,
      async drop() {
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const schema = `t_${id}`;
  const client = new pg.Client({ connectionString: postgresBaseUrl() });
  await client.connect();
  await client.query(`create schema ${schema}`);
  await client.end();
  const url = new URL(postgresBaseUrl());
  url.searchParams.set('schema', schema);
  return {
    kind,
    databaseUrl: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: postgresBaseUrl() });
      await c.connect();
      await c.query(`drop schema if exists ${schema} cascade`);
      await c.end();
    },
  };
}
