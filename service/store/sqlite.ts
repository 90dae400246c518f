// Why lock waits are retried here and not in SQLite's busy handler: docs/decisions.md.
import { mkdirSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { StorageFailure } from './failure.js';
import { FileIdentity } from './file-identity.js';
import { newRevision, revisionNonce } from './revision.js';
import { asStorageFailure, isBusy } from './sqlite-failure.js';
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
/** The free space below which probeWrite reports the volume full (see the constructor). */
const DEFAULT_MIN_FREE_BYTES = 1024 ** 2;
/**
 * A WAL that grew past this (a reader held a checkpoint back) is cut back to it once SQLite
 * restarts the WAL. Normally the auto-checkpoint keeps it near 1000 pages (4 MB).
 */
const JOURNAL_SIZE_LIMIT_BYTES = 16 * 1024 ** 2;

/**
 * Runs a statement (each is atomic, so a refused attempt changed nothing), and while another
 * process holds the lock, runs it again later: first on the next turns of the event loop, then
 * after 1, 2, 4 … up to 10 ms, so this worker keeps serving reads in the meantime. SQLite's
 * errors leave as StorageFailure where they are about the storage (sqlite-failure.ts).
 */
async function retryWhileBusy<T>(statement: () => T, timeoutMs: number): Promise<T> {
  let deadline: number | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      return statement();
    } catch (error) {
      if (!isBusy(error)) throw asStorageFailure(error);
      deadline ??= Date.now() + timeoutMs;
      if (Date.now() >= deadline) {
        throw new StorageFailure(
          'unavailable',
          `SQLite: the database stayed locked by another connection for ${timeoutMs} ms`,
          { cause: error },
        );
      }
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
 *
 * Every write statement is stepped to its end (`.run()` or `.all()`, never `.get()`): an
 * autocommit statement commits when it finishes, and `.get()` stops after the first row and
 * resets the statement, which commits but drops the commit's error (a full disk, an I/O error)
 * and skips the WAL hook, so the WAL would never be checkpointed. A write resolves only after
 * its commit succeeded and the database file is still the one at the path (file-identity.ts).
 */
export class SqliteStore implements DocumentStore {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly statements: ReturnType<SqliteStore['prepare']>;
  private readonly busyTimeoutMs: number;
  private readonly minFreeBytes: number;
  /** Undefined for an in-memory database, which no path names. */
  private readonly identity: FileIdentity | undefined;
  /** Set while the last check found the file gone: writes are then checked before they run. */
  private fileMissing = false;

  /**
   * `minFreeBytes`: probeWrite reports the volume full below this much free space. A tiny probe
   * write still fits long after a document no longer does, so free space is what tells; the
   * service passes its body limit, the largest document it accepts.
   */
  constructor(
    readonly file: string,
    options: { busyTimeoutMs?: number; minFreeBytes?: number } = {},
  ) {
    this.busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    this.minFreeBytes = options.minFreeBytes ?? DEFAULT_MIN_FREE_BYTES;
    const inMemory = file === ':memory:' || file === '';
    if (!inMemory) mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.identity = inMemory ? undefined : new FileIdentity(file);
    // Several workers open the same file at once: while setting up, wait for a lock instead of
    // failing with SQLITE_BUSY.
    this.db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
    this.db.pragma('journal_mode = WAL');
    // In WAL mode NORMAL keeps every committed transaction across a process crash (kill -9); only
    // an operating-system crash or power loss can lose the last commits. FULL would fsync each
    // write and cost most of the write throughput.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT_BYTES}`);
    // A large WAL left by an earlier run is checkpointed now, before requests arrive, rather than
    // on the event loop by the first write. PASSIVE: it never waits for another worker.
    // Only an optimisation: on a full volume it fails, and the WAL still holds every commit.
    if (!inMemory) {
      try {
        this.db.pragma('wal_checkpoint(PASSIVE)');
      } catch {
        // the next auto-checkpoint tries again
      }
    }
    this.db.exec(`CREATE TABLE IF NOT EXISTS documents (
      id TEXT PRIMARY KEY,
      data TEXT NOT NULL,
      version INTEGER NOT NULL,
      revision TEXT NOT NULL,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL
    ) WITHOUT ROWID`);
    // One row that /ready rewrites to prove that a write commits (probeWrite).
    this.db.exec(`CREATE TABLE IF NOT EXISTS write_probe (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      at TEXT NOT NULL
    )`);
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
      probe: db.prepare<[string]>(
        'INSERT INTO write_probe (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at',
      ),
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
    return this.write((): WriteResult => {
      const now = new Date().toISOString();
      const [row] = this.statements.insert.all(id, dataJson, newRevision(1), now, now);
      return row ? { ok: true, document: toDocument(row) } : { ok: false, reason: 'exists' };
    });
  }

  replace(id: string, dataJson: string, expectedRevision?: string): Promise<WriteResult> {
    return this.write((): WriteResult => {
      const params = { id, data: dataJson, nonce: revisionNonce(), now: new Date().toISOString() };
      const [row] =
        expectedRevision === undefined
          ? this.statements.update.all(params)
          : this.statements.updateIf.all({ ...params, expected: expectedRevision });
      return row
        ? { ok: true, document: toDocument(row) }
        : { ok: false, reason: this.refusal(id) };
    });
  }

  remove(id: string, expectedRevision?: string): Promise<DeleteResult> {
    return this.write((): DeleteResult => {
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
    return this.write(() => modifyLocked.immediate(id, change));
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

  /**
   * A write that resolves only if it committed into the file the path still names. Once a check
   * failed, writes are checked before they run as well, so from then on a refused write did not
   * happen; only the one that noticed may have gone into the moved or deleted file. Checking
   * before every write would cost a second stat() (3-4 µs, bench/sqlite-writes.ts) on all of them.
   */
  private write<T>(statement: () => T): Promise<T> {
    return this.whileBusy(() => {
      if (this.fileMissing) this.assertFileInPlace();
      let result: T;
      try {
        result = statement();
      } catch (error) {
        // Any error (even "no such table") is the file's fault when the file is not the one opened.
        if (!isBusy(error)) this.assertFileInPlace(error);
        throw error;
      }
      this.assertFileInPlace();
      return result;
    });
  }

  private assertFileInPlace(cause?: unknown): void {
    if (!this.identity) return;
    this.fileMissing = !this.identity.holds();
    if (this.fileMissing) {
      throw new StorageFailure(
        'unwritable',
        `SQLite: the database file ${this.file} was deleted, moved or replaced while open; ` +
          'writes are refused until it is back (or the service restarts on a new file)',
        { cause },
      );
    }
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

  /**
   * Resolves only if the volume has room for a document of the largest accepted size and a real
   * write commits into the file at the path. Taking a lock alone writes nothing, and a one-row
   * write still fits when a document no longer does, hence both.
   */
  probeWrite(): Promise<void> {
    return this.write(() => {
      if (this.identity) this.assertRoomForADocument();
      this.statements.probe.run(new Date().toISOString());
    });
  }

  private assertRoomForADocument(): void {
    let free: number;
    try {
      const volume = statfsSync(dirname(this.file));
      free = volume.bavail * volume.bsize;
    } catch (error) {
      throw new StorageFailure('unwritable', `cannot inspect the volume of ${this.file}`, {
        cause: error,
      });
    }
    if (free < this.minFreeBytes) {
      throw new StorageFailure(
        'full',
        `the volume of ${this.file} has ${free} bytes free, less than the ${this.minFreeBytes} a write may need`,
      );
    }
  }

  close(): Promise<void> {
    if (this.db.open) this.db.close();
    return Promise.resolve();
  }
}
