import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
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
  created_at: string;
  updated_at: string;
}

const COLUMNS = 'id, data, version, revision, created_at, updated_at';

function toDocument(row: Row): StoredDocument {
  return {
    id: row.id,
    dataJson: row.data,
    version: row.version,
    revision: row.revision,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** How long a statement waits for another worker's lock before it fails with SQLITE_BUSY. */
const DEFAULT_BUSY_TIMEOUT_MS = 5000;

function isBusy(error: unknown): boolean {
  // SQLITE_BUSY and its extended codes (SQLITE_BUSY_SNAPSHOT, …)
  return (
    (error as { code?: unknown } | undefined)?.code?.toString().startsWith('SQLITE_BUSY') === true
  );
}

/**
 * Runs a statement (each is atomic, so a refused attempt changed nothing), and while another
 * process holds the lock, runs it again later: first on the next turns of the event loop, then
 * after 1, 2, 4 … up to 10 ms, so this worker keeps serving reads in the meantime.
 */
async function retryWhileBusy<T>(statement: () => T, timeoutMs: number): Promise<T> {
  let deadline: number | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      return statement();
    } catch (error) {
      deadline ??= Date.now() + timeoutMs;
      if (!isBusy(error) || Date.now() >= deadline) throw error;
    }
    await new Promise((resolve) =>
      attempt <= 8 ? setImmediate(resolve) : setTimeout(resolve, Math.min(2 ** (attempt - 9), 10)),
    );
  }
}

/**
 * The embedded store. better-sqlite3 is synchronous, so every statement here is atomic within the
 * process; across processes (WEB_CONCURRENCY workers) SQLite's own locking makes each single
 * statement atomic, and WAL lets readers proceed while one writer commits.
 */
export class SqliteStore implements DocumentStore {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly statements: ReturnType<SqliteStore['prepare']>;

  private readonly busyTimeoutMs: number;

  constructor(
    readonly file: string,
    options: { busyTimeoutMs?: number } = {},
  ) {
    this.busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    // Several workers open the same file at once: while setting up, wait for a lock instead of
    // failing with SQLITE_BUSY.
    this.db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
    this.db.pragma('journal_mode = WAL');
    // In WAL mode NORMAL keeps every committed transaction across a process crash (kill -9); only
    // an operating-system crash or power loss can lose the last commits. FULL would fsync each
    // write and cost most of the write throughput.
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS documents (
      id TEXT PRIMARY KEY,
      data TEXT NOT NULL,
      version INTEGER NOT NULL,
      revision TEXT NOT NULL,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL
    ) WITHOUT ROWID`);
    this.statements = this.prepare();
    // From here on a busy lock is waited for in retryWhileBusy, without blocking the event loop:
    // SQLite's own busy handler sleeps in the thread, from 1 ms up to 100 ms at a time, while a
    // write of another worker holds the lock for a few tens of microseconds.
    this.db.pragma('busy_timeout = 0');
  }

  private prepare() {
    const db = this.db;
    return {
      get: db.prepare<[string], Row>(`SELECT ${COLUMNS} FROM documents WHERE id = ?`),
      listFirst: db.prepare<[number], Pick<Row, 'id' | 'version' | 'updated_at'>>(
        'SELECT id, version, updated_at FROM documents ORDER BY id LIMIT ?',
      ),
      listAfter: db.prepare<[string, number], Pick<Row, 'id' | 'version' | 'updated_at'>>(
        'SELECT id, version, updated_at FROM documents WHERE id > ? ORDER BY id LIMIT ?',
      ),
      insert: db.prepare<[string, string, string, string, string], Row>(
        `INSERT INTO documents (id, data, version, revision, created_at, updated_at)
         VALUES (?, ?, 1, ?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING ${COLUMNS}`,
      ),
      // The new revision is computed from the version read in the same statement, so the
      // compare-and-set on `revision` and the increment cannot interleave with another writer.
      update: db.prepare<{ id: string; data: string; nonce: string; now: string }, Row>(
        `UPDATE documents SET data = :data, version = version + 1,
           revision = (version + 1) || '-' || :nonce, updated_at = :now
         WHERE id = :id RETURNING ${COLUMNS}`,
      ),
      updateIf: db.prepare<
        { id: string; data: string; nonce: string; now: string; expected: string },
        Row
      >(
        `UPDATE documents SET data = :data, version = version + 1,
           revision = (version + 1) || '-' || :nonce, updated_at = :now
         WHERE id = :id AND revision = :expected RETURNING ${COLUMNS}`,
      ),
      exists: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM documents WHERE id = ?'),
      delete: db.prepare<[string]>('DELETE FROM documents WHERE id = ?'),
      deleteIf: db.prepare<[string, string]>('DELETE FROM documents WHERE id = ? AND revision = ?'),
      ping: db.prepare<[], { one: number }>('SELECT 1 AS one'),
    };
  }

  get(id: string): Promise<StoredDocument | undefined> {
    return this.whileBusy(() => {
      const row = this.statements.get.get(id);
      return row && toDocument(row);
    });
  }

  list(limit: number, afterId?: string): Promise<ListPage> {
    return this.whileBusy(() => {
      const rows =
        afterId === undefined
          ? this.statements.listFirst.all(limit)
          : this.statements.listAfter.all(afterId, limit);
      const items = rows.map((r) => ({ id: r.id, version: r.version, updatedAt: r.updated_at }));
      return { items, lastId: items.length === limit ? items[items.length - 1]?.id : undefined };
    });
  }

  create(id: string, dataJson: string): Promise<WriteResult> {
    return this.whileBusy((): WriteResult => {
      const now = new Date().toISOString();
      const row = this.statements.insert.get(id, dataJson, newRevision(1), now, now);
      return row ? { ok: true, document: toDocument(row) } : { ok: false, reason: 'exists' };
    });
  }

  replace(id: string, dataJson: string, expectedRevision?: string): Promise<WriteResult> {
    return this.whileBusy((): WriteResult => {
      const params = { id, data: dataJson, nonce: revisionNonce(), now: new Date().toISOString() };
      const row =
        expectedRevision === undefined
          ? this.statements.update.get(params)
          : this.statements.updateIf.get({ ...params, expected: expectedRevision });
      return row
        ? { ok: true, document: toDocument(row) }
        : { ok: false, reason: this.refusal(id) };
    });
  }

  remove(id: string, expectedRevision?: string): Promise<DeleteResult> {
    return this.whileBusy((): DeleteResult => {
      const { changes } =
        expectedRevision === undefined
          ? this.statements.delete.run(id)
          : this.statements.deleteIf.run(id, expectedRevision);
      return changes > 0 ? { ok: true } : { ok: false, reason: this.refusal(id) };
    });
  }

  /**
   * The read, `change` and the write run in one IMMEDIATE transaction: it takes the write lock
   * before reading, so no other worker's write can land in between (and this process, being
   * synchronous, runs nothing else meanwhile). COMMIT runs as its own statement, so a commit
   * that fails (a full disk) throws instead of passing for a success.
   */
  modify(id: string, change: (current: StoredDocument) => string): Promise<WriteResult> {
    this.modifyLocked ??= this.prepareModify();
    const modifyLocked = this.modifyLocked;
    return this.whileBusy(() => modifyLocked.immediate(id, change));
  }

  private modifyLocked?: ReturnType<SqliteStore['prepareModify']>;

  private prepareModify() {
    const read = this.db.prepare<[string], Row>(`SELECT ${COLUMNS} FROM documents WHERE id = ?`);
    const write = this.db.prepare<{ id: string; data: string; nonce: string; now: string }, Row>(
      `UPDATE documents SET data = :data, version = version + 1,
         revision = (version + 1) || '-' || :nonce, updated_at = :now
       WHERE id = :id RETURNING ${COLUMNS}`,
    );
    return this.db.transaction(
      (id: string, change: (current: StoredDocument) => string): WriteResult => {
        const row = read.get(id);
        if (!row) return { ok: false, reason: 'not-found' };
        const data = change(toDocument(row));
        const params = { id, data, nonce: revisionNonce(), now: new Date().toISOString() };
        return { ok: true, document: toDocument(write.all(params)[0]!) };
      },
    );
  }

  private whileBusy<T>(statement: () => T): Promise<T> {
    return retryWhileBusy(statement, this.busyTimeoutMs);
  }

  /** After a write changed nothing: was the document missing, or was its revision stale? */
  private refusal(id: string): 'not-found' | 'precondition-failed' {
    return this.statements.exists.get(id) ? 'precondition-failed' : 'not-found';
  }

  ping(): Promise<void> {
    return this.whileBusy(() => {
      this.statements.ping.get();
    });
  }

  close(): Promise<void> {
    if (this.db.open) this.db.close();
    return Promise.resolve();
  }
}
