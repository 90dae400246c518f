import pg from 'pg';
import { StorageFailure, type StorageFailureKind } from './failure.js';

/**
 * SQLSTATE codes (PostgreSQL's errcodes.txt) that mean the database, not the request, failed.
 * Whole classes are matched by their first two characters.
 */
const KIND_BY_SQLSTATE: Record<string, StorageFailureKind> = {
  '08': 'unavailable', // connection exception
  '28': 'unavailable', // invalid authorization (a rotated password): the request is not at fault
  '3D000': 'unavailable', // invalid_catalog_name: the database is gone
  '53100': 'full', // disk_full
  '53': 'unavailable', // insufficient resources: 53000, 53200 out of memory, 53300 too many connections
  '57014': 'unavailable', // query_canceled: statement_timeout passed
  '57P01': 'unavailable', // admin_shutdown
  '57P02': 'unavailable', // crash_shutdown
  '57P03': 'unavailable', // cannot_connect_now: starting up or shutting down
  '57P05': 'unavailable', // idle_session_timeout
  '55P03': 'unavailable', // lock_not_available
  '25006': 'unwritable', // read_only_sql_transaction: a standby, or default_transaction_read_only
  '58030': 'unwritable', // io_error
};

/** Errors of the socket under the driver: the server is down, unreachable or gone. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * node-postgres and pg-pool report lost connections and their own timeouts as plain Errors
 * without a code; these are their messages (pg 8.23 client.js, pg-pool 3 index.js).
 */
const DRIVER_MESSAGES = [
  /^Connection terminated/, // "… unexpectedly", "… due to connection timeout"
  /^timeout exceeded when trying to connect$/, // waited connectionTimeoutMillis for a pooled client
  /^timeout expired$/, // connect() passed connectionTimeoutMillis
  /^Query read timeout$/, // query_timeout passed without an answer (a frozen server)
  /is not queryable$/, // "Client has encountered a connection error and is not queryable"
];

function kindOf(error: unknown): StorageFailureKind | undefined {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    const kind = KIND_BY_SQLSTATE[code] ?? KIND_BY_SQLSTATE[code.slice(0, 2)];
    if (kind) return kind;
    if (SOCKET_CODES.has(code)) return 'unavailable';
  }
  if (typeof message === 'string' && DRIVER_MESSAGES.some((pattern) => pattern.test(message))) {
    return 'unavailable';
  }
  return undefined;
}

/**
 * The StorageFailure a driver error stands for, or the error itself when it is not a storage
 * failure (a bug, a constraint the code should have handled): those stay 500s.
 */
export function asStorageFailure(error: unknown): unknown {
  if (error instanceof StorageFailure) return error;
  const kind = kindOf(error);
  if (kind === undefined) return error;
  const { code, message } = error as { code?: unknown; message?: unknown };
  const text = String(message);
  const described = typeof code === 'string' && !text.includes(code) ? `${code} ${text}` : text;
  return new StorageFailure(kind, `PostgreSQL: ${described}`, { cause: error });
}

/**
 * True unless the server itself answered with an error (a SQLSTATE): then the connection still
 * works and a ROLLBACK will be answered. After a socket error or a timeout nothing will be, so
 * the connection must be dropped instead of waited on again.
 */
export function breaksConnection(error: unknown): boolean {
  return !(error instanceof pg.DatabaseError);
}
