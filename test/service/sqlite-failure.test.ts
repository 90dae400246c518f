import { describe, expect, test } from '@jest/globals';
import { asStorageFailure, failureKindOf } from '../../service/store/sqlite-failure.js';

describe("SQLite's errors as storage failures", () => {
  test.each([
    ['SQLITE_FULL', 'full'],
    ['SQLITE_IOERR', 'unwritable'],
    ['SQLITE_IOERR_WRITE', 'unwritable'],
    ['SQLITE_IOERR_FSYNC', 'unwritable'],
    ['SQLITE_IOERR_SHMSIZE', 'unwritable'],
    ['SQLITE_READONLY', 'unwritable'],
    ['SQLITE_READONLY_DBMOVED', 'unwritable'],
    ['SQLITE_CANTOPEN', 'unwritable'],
    ['SQLITE_CORRUPT', 'unwritable'],
    ['SQLITE_NOTADB', 'unwritable'],
    ['SQLITE_BUSY', 'unavailable'],
    ['SQLITE_BUSY_SNAPSHOT', 'unavailable'],
    ['SQLITE_LOCKED', 'unavailable'],
  ])('%s is %s', (code, kind) => {
    expect(failureKindOf(code)).toBe(kind);
  });

  test.each(['SQLITE_CONSTRAINT_PRIMARYKEY', 'SQLITE_ERROR', 'SQLITE_MISUSE', 'SQLITE_IOERRX'])(
    '%s is a bug, not the storage: it stays as it is (a 500)',
    (code) => {
      const error = Object.assign(new Error('x'), { code });
      expect(failureKindOf(code)).toBeUndefined();
      expect(asStorageFailure(error)).toBe(error);
    },
  );

  test('keeps the driver error as the cause', () => {
    const error = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    expect(asStorageFailure(error)).toMatchObject({
      name: 'StorageFailure',
      kind: 'full',
      cause: error,
    });
  });
});
