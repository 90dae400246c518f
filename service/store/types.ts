/**
 * The storage contract shared by the SQLite and PostgreSQL implementations. The HTTP layer only
 * ever talks to this interface, so the same contract suite runs against both stores.
 */

/** A stored document. `dataJson` is the document's data as JSON text, kept verbatim from the write. */
export interface StoredDocument {
  id: string;
  dataJson: string;
  /** Integer revision: 1 on create, +1 on every write. */
  version: number;
  /**
   * Revision tag `"<version>-<random>"`: the random part is new on every write, so a document that
   * is deleted and created again never repeats an earlier tag (CouchDB's `_rev` has the same goal).
   */
  revision: string;
  createdAt: string;
  updatedAt: string;
}

/** Why a write did not happen. */
export type WriteRefusal = 'not-found' | 'exists' | 'precondition-failed';

export type WriteResult =
  { ok: true; document: StoredDocument } | { ok: false; reason: WriteRefusal };

export type DeleteResult =
  { ok: true } | { ok: false; reason: 'not-found' | 'precondition-failed' };

export interface ListPage {
  /** Ids in ascending byte order, at most `limit` of them. */
  items: { id: string; version: number; updatedAt: string }[];
  /** The last id of this page when more may follow, else undefined. */
  lastId: string | undefined;
}

export interface DocumentStore {
  readonly kind: 'sqlite' | 'postgres';
  get(id: string): Promise<StoredDocument | undefined>;
  list(limit: number, afterId?: string): Promise<ListPage>;
  /** Creates the document; refuses with `exists` when the id is taken. */
  create(id: string, dataJson: string): Promise<WriteResult>;
  /**
   * Replaces the data. With `expectedRevision` this is a compare-and-set in one statement: it
   * succeeds only when the stored revision still equals it, else `precondition-failed`.
   */
  replace(id: string, dataJson: string, expectedRevision?: string): Promise<WriteResult>;
  /**
   * Read-modify-write with nothing in between: reads the document, writes the data `change`
   * returns for it (JSON text), and no other write can land between the read and the write, so
   * concurrent modifications all succeed, one after the other. `change` may throw to refuse;
   * nothing is written then and the error is rethrown. `not-found` when there is no document.
   */
  modify(id: string, change: (current: StoredDocument) => string): Promise<WriteResult>;
  remove(id: string, expectedRevision?: string): Promise<DeleteResult>;
  /** Resolves when the storage answers a read. */
  ping(): Promise<void>;
  /**
   * Resolves only when a real write commits (and, where the store can tell, the volume has room
   * for a document); rejects with the cause otherwise. /ready uses it: taking a lock or reading
   * proves nothing about a full or unwritable volume.
   */
  probeWrite(): Promise<void>;
  close(): Promise<void>;
}
