import { StorageFailure, type StorageFailureKind } from './failure.js';

/** SQLite's result code (`SQLITE_IOERR_WRITE`, …) as better-sqlite3 reports it, if any. */
export function sqliteCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}

/** Whether the error is SQLITE_BUSY or one of its extended codes (SQLITE_BUSY_SNAPSHOT, …). */
export function isBusy(error: unknown): boolean {
  return sqliteCode(error)?.startsWith('SQLITE_BUSY') === true;
}

/**
 * The kind of storage failure a SQLite error means, or undefined for errors that are not about
 * the storage (a constraint, a misuse: bugs, answered as 500). Extended codes share their primary
 * code's prefix: SQLITE_IOERR_WRITE, SQLITE_READONLY_DBMOVED, SQLITE_CANTOPEN_ISDIR, …
 */
export function failureKindOf(code: string): StorageFailureKind | undefined {
  if (code === 'SQLITE_FULL') return 'full';
  if (/^SQLITE_(IOERR|READONLY|CANTOPEN|CORRUPT|NOTADB)(_|$)/.test(code)) return 'unwritable';
  if (/^SQLITE_(BUSY|LOCKED)(_|$)/.test(code)) return 'unavailable';
  return undefined;
}

/** The driver error as a StorageFailure when it is one (the original stays as its cause). */
export function asStorageFailure(error: unknown): unknown {
  if (error instanceof StorageFailure) return error;
  const code = sqliteCode(error);
  const kind = code === undefined ? undefined : failureKindOf(code);
  if (kind === undefined) return error;
  return new StorageFailure(kind, `SQLite: ${code} (${(error as Error).message})`, {
    cause: error,
  });
}
