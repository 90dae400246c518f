import { describe, expect, test } from '@jest/globals';
import pg from 'pg';
import { StorageFailure } from '../../service/store/failure.js';
import { asStorageFailure, breaksConnection } from '../../service/store/postgres-failure.js';

/** An error as PostgreSQL reports it: a DatabaseError carrying a SQLSTATE. */
function serverError(code: string, message = 'from the server'): pg.DatabaseError {
  const error = new pg.DatabaseError(message, 0, 'error');
  error.code = code;
  return error;
}

function socketError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code });
}

describe('PostgreSQL errors as storage failures', () => {
  test.each([
    ['08006 connection_failure', serverError('08006'), 'unavailable'],
    ['57P01 admin_shutdown', serverError('57P01'), 'unavailable'],
    ['57P02 crash_shutdown', serverError('57P02'), 'unavailable'],
    ['57P03 cannot_connect_now', serverError('57P03'), 'unavailable'],
    ['53300 too_many_connections', serverError('53300'), 'unavailable'],
    ['57014 statement_timeout', serverError('57014'), 'unavailable'],
    ['28P01 password rotated', serverError('28P01'), 'unavailable'],
    ['53100 disk_full', serverError('53100'), 'full'],
    ['25006 read-only transaction', serverError('25006'), 'unwritable'],
    ['ECONNREFUSED', socketError('ECONNREFUSED'), 'unavailable'],
    ['ECONNRESET', socketError('ECONNRESET'), 'unavailable'],
    ['a lost connection', new Error('Connection terminated unexpectedly'), 'unavailable'],
    [
      'a connect timeout',
      new Error('Connection terminated due to connection timeout'),
      'unavailable',
    ],
    ['a full pool', new Error('timeout exceeded when trying to connect'), 'unavailable'],
    ['a frozen server', new Error('Query read timeout'), 'unavailable'],
  ])('%s is %s', (_name, error, kind) => {
    const failure = asStorageFailure(error);
    expect(failure).toBeInstanceOf(StorageFailure);
    expect(failure).toMatchObject({ kind, cause: error });
  });

  test('leaves errors that are not the database failing alone (they stay 500s)', () => {
    for (const error of [
      serverError('23505'), // unique_violation: a bug in the store if it ever escapes
      serverError('42P01'), // undefined_table
      new TypeError('x is not a function'),
      'a string',
    ]) {
      expect(asStorageFailure(error)).toBe(error);
    }
  });

  test('keeps a connection whose server answered with an error, drops one that did not answer', () => {
    expect(breaksConnection(serverError('57014'))).toBe(false);
    expect(breaksConnection(serverError('53100'))).toBe(false);
    expect(breaksConnection(new Error('Query read timeout'))).toBe(true);
    expect(breaksConnection(socketError('EPIPE'))).toBe(true);
  });
});
