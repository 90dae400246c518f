/**
 * Why the storage could not do what was asked, independent of the driver. Both stores translate
 * their driver's errors into this one type, and errors.ts answers it with a problem document:
 *
 * - `unavailable`: the database cannot be reached or did not answer in time (PostgreSQL down,
 *   frozen, refusing connections; SQLite locked past its timeout). 503 with Retry-After.
 * - `full`: the volume has no room left for the write (SQLITE_FULL, PostgreSQL 53100). 507.
 * - `unwritable`: the database cannot be written at all (file deleted or moved, read-only volume,
 *   I/O error). 503 with Retry-After.
 *
 * A write that fails this way was not acknowledged, so the client may retry it.
 */
export type StorageFailureKind = 'unavailable' | 'full' | 'unwritable';

export class StorageFailure extends Error {
  override name = 'StorageFailure';

  constructor(
    readonly kind: StorageFailureKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isStorageFailure(error: unknown): error is StorageFailure {
  return error instanceof StorageFailure;
}
