import { PostgresStore } from './postgres.js';
import { SqliteStore } from './sqlite.js';
import type { DocumentStore } from './types.js';

export type { DocumentStore, StoredDocument } from './types.js';

/** `postgres://…` or `postgresql://…` selects the shared store; anything else is a SQLite file path. */
export function isPostgresUrl(databaseUrl: string): boolean {
  return /^postgres(ql)?:\/\//i.test(databaseUrl);
}

export async function openStore(databaseUrl: string): Promise<DocumentStore> {
  if (isPostgresUrl(databaseUrl)) return PostgresStore.open(databaseUrl);
  return new SqliteStore(databaseUrl.replace(/^sqlite:(\/\/)?/i, ''));
}
