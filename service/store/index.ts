import type { PostgresTimeouts } from './postgres.js';
import type { DocumentStore } from './types.js';

export type { DocumentStore, StoredDocument } from './types.js';

/** `postgres://…` or `postgresql://…` selects the shared store; anything else is a SQLite file path. */
export function isPostgresUrl(databaseUrl: string): boolean {
  return /^postgres(ql)?:\/\//i.test(databaseUrl);
}

/**
 * Only the selected store's driver is loaded: an instance on SQLite never loads pg, and one on
 * PostgreSQL never loads the native SQLite addon (smaller heap, faster start). `minFreeBytes`:
 * below this much free space a SQLite volume counts as full for /ready (the body limit).
 */
export async function openStore(
  databaseUrl: string,
  options: { minFreeBytes?: number; postgresTimeouts?: PostgresTimeouts } = {},
): Promise<DocumentStore> {
  if (isPostgresUrl(databaseUrl)) {
    const { PostgresStore } = await import('./postgres.js');
    return PostgresStore.open(databaseUrl, { timeouts: options.postgresTimeouts });
  }
  const { SqliteStore } = await import('./sqlite.js');
  return new SqliteStore(databaseUrl.replace(/^sqlite:(\/\/)?/i, ''), options);
}
