import pg from 'pg';
import { asStorageFailure, breaksConnection } from './postgres-failure.js';
import { newRevision, revisionNonce } from './revision.js';
import type {
  DeleteResult,
  DocumentStore,
  ListPage,
  StoredDocument,
  WriteResult,
} from './types.js';

interface Row {
  id: string;
  data: string;
  version: number;
  revision: string;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, data, version, revision, created_at, updated_at';

/** Any constant works; it only has to be the same in every instance that shares the database. */
const SCHEMA_LOCK_KEY = 'challenge-deploy:documents-schema';

/** One row that /ready rewrites to prove that a write commits (probeWrite). */
const WRITE_PROBE_TABLE = `CREATE TABLE IF NOT EXISTS write_probe (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  at TIMESTAMPTZ NOT NULL
)`;

export interface PostgresTimeouts {
  /** Waiting for a connection: a new one's handshake, or a free one from the pool. */
  connectMs: number;
  /**
   * One statement: PostgreSQL cancels it after this (statement_timeout, which also bounds a wait
   * for a row lock), and the client stops waiting after this too (query_timeout), which is what
   * notices a frozen server that cancels nothing.
   */
  queryMs: number;
}

export const DEFAULT_POSTGRES_TIMEOUTS: PostgresTimeouts = { connectMs: 3000, queryMs: 5000 };

export interface PostgresOptions {
  poolSize?: number;
  timeouts?: PostgresTimeouts;
}

/** What `change` threw inside modify(): the caller's refusal, rethrown after the ROLLBACK. */
class ChangeRefused extends Error {
  constructor(readonly reason: unknown) {
    super('the change was refused');
  }
}

/** Runs a store operation and reports a failing database as a StorageFailure. */
async function translated<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw asStorageFailure(error);
  }
}

function toDocument(row: Row): StoredDocument {
  return {
    id: row.id,
    dataJson: row.data,
    version: row.version,
    revision: row.revision,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/**
 * The shared store for a fleet behind a load balancer. Every conditional write is one UPDATE or
 * DELETE whose WHERE clause carries the expected revision: PostgreSQL row locks make a second
 * concurrent writer re-check that clause against the first writer's result, so exactly one wins.
 */
export class PostgresStore implements DocumentStore {
  readonly kind = 'postgres' as const;
  private readonly pool: pg.Pool;

  private constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  static async open(
    connectionString: string,
    { poolSize = 10, timeouts = DEFAULT_POSTGRES_TIMEOUTS }: PostgresOptions = {},
  ): Promise<PostgresStore> {
    const pool = new pg.Pool({
      connectionString,
      max: poolSize,
      connectionTimeoutMillis: timeouts.connectMs,
      statement_timeout: timeouts.queryMs,
      query_timeout: timeouts.queryMs,
      // A client that dies inside a transaction must not keep its row lock for long.
      idle_in_transaction_session_timeout: timeouts.queryMs * 2,
      // Notices a peer that vanished without closing (a host gone, a cut network) on an idle
      // pooled connection, after 10 s rather than Linux's default of two hours.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    // An idle client that loses its connection emits 'error' on the pool; without a listener
    // that would crash the process. The next query simply gets a fresh connection.
    pool.on('error', () => undefined);
    const store = new PostgresStore(pool);
    try {
      await translated(() => store.createSchema());
    } catch (error) {
      await pool.end();
      throw error;
    }
    return store;
  }

  /**
   * Idempotent and safe when several instances start at once: CREATE TABLE IF NOT EXISTS alone
   * can still fail with a unique violation on pg_type when two sessions race, so the DDL runs in
   * a transaction that holds an advisory lock.
   */
  private async createSchema(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [SCHEMA_LOCK_KEY]);
      await client.query(`CREATE TABLE IF NOT EXISTS documents (
        id TEXT COLLATE "C" PRIMARY KEY,
        data TEXT NOT NULL,
        version INTEGER NOT NULL,
        revision TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL
      )`);
      await client.query(WRITE_PROBE_TABLE);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  get(id: string): Promise<StoredDocument | undefined> {
    return translated(async () => {
      const { rows } = await this.pool.query<Row>({
        name: 'documents-get',
        text: `SELECT ${COLUMNS} FROM documents WHERE id = $1`,
        values: [id],
      });
      return rows[0] && toDocument(rows[0]);
    });
  }

  list(limit: number, afterId?: string): Promise<ListPage> {
    return translated(() => this.listNow(limit, afterId));
  }

  private async listNow(limit: number, afterId?: string): Promise<ListPage> {
    const { rows } = await this.pool.query<Pick<Row, 'id' | 'version' | 'updated_at'>>(
      afterId === undefined
        ? {
            text: 'SELECT id, version, updated_at FROM documents ORDER BY id LIMIT $1',
            values: [limit],
          }
        : {
            text: 'SELECT id, version, updated_at FROM documents WHERE id > $1 ORDER BY id LIMIT $2',
            values: [afterId, limit],
          },
    );
    const items = rows.map((r) => ({
      id: r.id,
      version: r.version,
      updatedAt: r.updated_at.toISOString(),
    }));
    return { items, lastId: items.length === limit ? items[items.length - 1]?.id : undefined };
  }

  create(id: string, dataJson: string): Promise<WriteResult> {
    return translated(() => this.createNow(id, dataJson));
  }

  private async createNow(id: string, dataJson: string): Promise<WriteResult> {
    const now = new Date();
    const { rows } = await this.pool.query<Row>({
      name: 'documents-insert',
      text: `INSERT INTO documents (id, data, version, revision, created_at, updated_at)
             VALUES ($1, $2, 1, $3, $4, $4) ON CONFLICT (id) DO NOTHING RETURNING ${COLUMNS}`,
      values: [id, dataJson, newRevision(1), now],
    });
    return rows[0] ? { ok: true, document: toDocument(rows[0]) } : { ok: false, reason: 'exists' };
  }

  replace(id: string, dataJson: string, expectedRevision?: string): Promise<WriteResult> {
    return translated(() => this.replaceNow(id, dataJson, expectedRevision));
  }

  private async replaceNow(
    id: string,
    dataJson: string,
    expectedRevision?: string,
  ): Promise<WriteResult> {
    const { rows } = await this.pool.query<Row>({
      text: `UPDATE documents SET data = $2, version = version + 1,
               revision = (version + 1)::text || '-' || $3, updated_at = $4
             WHERE id = $1 AND ($5::text IS NULL OR revision = $5) RETURNING ${COLUMNS}`,
      values: [id, dataJson, revisionNonce(), new Date(), expectedRevision ?? null],
    });
    if (rows[0]) return { ok: true, document: toDocument(rows[0]) };
    return { ok: false, reason: await this.refusal(id) };
  }

  /**
   * The read and the write in one transaction that holds the row lock (SELECT … FOR UPDATE), so
   * concurrent modifications of one document queue up instead of failing each other's
   * compare-and-set.
   */
  modify(id: string, change: (current: StoredDocument) => string): Promise<WriteResult> {
    return translated(async () => {
      const client = await this.pool.connect();
      let broken: Error | undefined;
      try {
        return await this.modifyLocked(client, id, change);
      } catch (error) {
        if (breaksConnection(error) && !(error instanceof ChangeRefused)) broken = error as Error;
        else await client.query('ROLLBACK').catch((lost: unknown) => (broken = lost as Error));
        if (error instanceof ChangeRefused) throw error.reason;
        throw error;
      } finally {
        // A connection that failed or stopped answering is closed, not handed out again.
        client.release(broken);
      }
    });
  }

  private async modifyLocked(
    client: pg.PoolClient,
    id: string,
    change: (current: StoredDocument) => string,
  ): Promise<WriteResult> {
    await client.query('BEGIN');
    const { rows } = await client.query<Row>({
      name: 'documents-get-for-update',
      text: `SELECT ${COLUMNS} FROM documents WHERE id = $1 FOR UPDATE`,
      values: [id],
    });
    if (!rows[0]) {
      await client.query('ROLLBACK');
      return { ok: false, reason: 'not-found' };
    }
    let dataJson: string;
    try {
      dataJson = change(toDocument(rows[0]));
    } catch (reason) {
      throw new ChangeRefused(reason);
    }
    const updated = await client.query<Row>({
      name: 'documents-update-locked',
      text: `UPDATE documents SET data = $2, version = version + 1,
               revision = (version + 1)::text || '-' || $3, updated_at = $4
             WHERE id = $1 RETURNING ${COLUMNS}`,
      values: [id, dataJson, revisionNonce(), new Date()],
    });
    await client.query('COMMIT');
    return { ok: true, document: toDocument(updated.rows[0]!) };
  }

  remove(id: string, expectedRevision?: string): Promise<DeleteResult> {
    return translated(() => this.removeNow(id, expectedRevision));
  }

  private async removeNow(id: string, expectedRevision?: string): Promise<DeleteResult> {
    const { rowCount } = await this.pool.query(
      'DELETE FROM documents WHERE id = $1 AND ($2::text IS NULL OR revision = $2)',
      [id, expectedRevision ?? null],
    );
    if (rowCount) return { ok: true };
    return { ok: false, reason: await this.refusal(id) };
  }

  private async refusal(id: string): Promise<'not-found' | 'precondition-failed'> {
    const { rowCount } = await this.pool.query('SELECT 1 FROM documents WHERE id = $1', [id]);
    return rowCount ? 'precondition-failed' : 'not-found';
  }

  ping(): Promise<void> {
    return translated(async () => {
      await this.pool.query('SELECT 1');
    });
  }

  /** One upsert of the single row of write_probe: it commits only if PostgreSQL can write. */
  probeWrite(): Promise<void> {
    return translated(async () => {
      await this.pool.query(
        'INSERT INTO write_probe (id, at) VALUES (1, now()) ON CONFLICT (id) DO UPDATE SET at = excluded.at',
      );
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
