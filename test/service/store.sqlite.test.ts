import { copyFileSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from '@jest/globals';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../service/store/sqlite.js';
import { describeStoreContract } from './support/store-contract.js';

const dir = mkdtempSync(join(tmpdir(), 'store-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeStoreContract('SQLite', () =>
  Promise.resolve(new SqliteStore(join(dir, 'contract.sqlite'))),
);

describe('SQLite store files', () => {
  test('creates the directory of its file and keeps documents across reopening', async () => {
    const file = join(dir, 'nested', 'deeper', 'documents.sqlite');
    const first = new SqliteStore(file);
    await first.create('kept', '{"kept":true}');
    await first.close();
    const second = new SqliteStore(file);
    expect((await second.get('kept'))?.dataJson).toBe('{"kept":true}');
    await second.close();
  });

  test('two connections to one file see each other and still compare-and-set atomically', async () => {
    const file = join(dir, 'shared.sqlite');
    const a = new SqliteStore(file);
    const b = new SqliteStore(file);
    const created = await a.create('shared', '{"n":0}');
    if (!created.ok) throw new Error('create failed');
    const fromA = await a.replace('shared', '{"n":1}', created.document.revision);
    const fromB = await b.replace('shared', '{"n":2}', created.document.revision);
    expect(fromA.ok).toBe(true);
    expect(fromB).toEqual({ ok: false, reason: 'precondition-failed' });
    expect((await b.get('shared'))?.dataJson).toBe('{"n":1}');
    await a.close();
    await b.close();
  });

  test('modifications through two connections to one file all apply', async () => {
    const file = join(dir, 'modified.sqlite');
    const connections = [new SqliteStore(file), new SqliteStore(file)];
    await connections[0]!.create('shared', '{}');
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        connections[i % 2]!.modify('shared', (current) =>
          JSON.stringify({ ...(JSON.parse(current.dataJson) as object), [`k${i}`]: i }),
        ),
      ),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    const stored = await connections[1]!.get('shared');
    expect(Object.keys(JSON.parse(stored!.dataJson) as object)).toHaveLength(40);
    for (const connection of connections) await connection.close();
  });

  test('a write that finds another process holding the lock waits for it without blocking reads', async () => {
    const file = join(dir, 'locked.sqlite');
    const store = new SqliteStore(file);
    await store.create('doc', '{"n":0}');
    // Another worker in the middle of a write transaction.
    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE');
    other.prepare("UPDATE documents SET data = '{\"n\":1}' WHERE id = 'doc'").run();

    const events: string[] = [];
    const write = store.replace('doc', '{"n":2}').then((result) => {
      events.push('write done');
      return result;
    });
    // The event loop is free while the write waits: timers fire and reads are answered.
    await new Promise((resolve) => setTimeout(resolve, 50));
    events.push(`read ${(await store.get('doc'))?.dataJson}`);
    other.exec('COMMIT');
    other.close();
    const result = await write;

    expect(events).toEqual(['read {"n":0}', 'write done']);
    expect(result).toMatchObject({ ok: true, document: { dataJson: '{"n":2}', version: 2 } });
    await store.close();
  });

  test('a write gives up as storage unavailable when the lock is held past the busy timeout', async () => {
    const file = join(dir, 'held.sqlite');
    const store = new SqliteStore(file, { busyTimeoutMs: 100 });
    await store.create('doc', '{"n":0}');
    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE');
    const started = Date.now();
    await expect(store.replace('doc', '{"n":1}')).rejects.toMatchObject({
      name: 'StorageFailure',
      kind: 'unavailable',
      cause: { code: 'SQLITE_BUSY' },
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    other.exec('ROLLBACK');
    other.close();
    expect((await store.get('doc'))?.dataJson).toBe('{"n":0}');
    await store.close();
  });
});

describe('SQLite store when its file goes away', () => {
  test('refuses every write while the file is deleted, and writes again once it is back', async () => {
    const file = join(dir, 'moved', 'documents.sqlite');
    const store = new SqliteStore(file);
    await store.create('before', '{"n":0}');
    renameSync(file, `${file}.aside`);

    const unwritable = { name: 'StorageFailure', kind: 'unwritable' };
    // The write that notices may have gone into the moved file; the ones after it do not run.
    await expect(store.create('noticed', '{"n":1}')).rejects.toMatchObject(unwritable);
    await expect(store.create('during', '{"n":1}')).rejects.toMatchObject(unwritable);
    await expect(store.replace('before', '{"n":2}')).rejects.toMatchObject(unwritable);
    await expect(store.remove('before')).rejects.toMatchObject(unwritable);
    await expect(store.probeWrite()).rejects.toMatchObject(unwritable);

    renameSync(`${file}.aside`, file);
    await expect(store.probeWrite()).resolves.toBeUndefined();
    expect(await store.create('after', '{"n":3}')).toMatchObject({ ok: true });
    await store.close();

    // What a restart sees: every write that resolved, none that was refused.
    const reopened = new SqliteStore(file);
    expect((await reopened.get('before'))?.dataJson).toBe('{"n":0}');
    expect(await reopened.get('during')).toBeUndefined();
    expect((await reopened.get('after'))?.dataJson).toBe('{"n":3}');
    await reopened.close();
  });

  test('refuses writes when another file has taken its path (a backup restored over it)', async () => {
    const file = join(dir, 'replaced', 'documents.sqlite');
    const store = new SqliteStore(file);
    await store.create('old', '{}');
    copyFileSync(file, `${file}.restored`);
    renameSync(`${file}.restored`, file);
    await expect(store.create('lost', '{}')).rejects.toMatchObject({ kind: 'unwritable' });
    await store.close();
  });
});

describe('SQLite store write probe', () => {
  test('commits a real write when the volume has room', async () => {
    const file = join(dir, 'probe.sqlite');
    const store = new SqliteStore(file);
    await store.probeWrite();
    await store.close();
    const db = new Database(file, { readonly: true });
    expect(db.prepare('SELECT count(*) AS n FROM write_probe').get()).toEqual({ n: 1 });
    db.close();
  });

  test('reports the volume full when it has less room than a document may need', async () => {
    const store = new SqliteStore(join(dir, 'probe-full.sqlite'), {
      minFreeBytes: Number.MAX_SAFE_INTEGER,
    });
    await expect(store.probeWrite()).rejects.toMatchObject({ kind: 'full' });
    await store.close();
  });
});

describe('SQLite WAL under writes', () => {
  test('stays bounded: writes step to completion, so SQLite checkpoints as it goes', async () => {
    const file = join(dir, 'wal', 'documents.sqlite');
    const store = new SqliteStore(file);
    const data = JSON.stringify({ pad: 'x'.repeat(64 * 1024) });
    // 40 MB of documents through every kind of write (create, replace, conditional replace).
    for (let i = 0; i < 200; i++) {
      const created = await store.create(`doc-${i}`, data);
      if (!created.ok) throw new Error('create failed');
      await store.replace(`doc-${i}`, data);
      await store.replace(`doc-${i}`, data, (await store.get(`doc-${i}`))!.revision);
    }
    // The auto-checkpoint runs at 1,000 pages (4 MB); anything near the 40 MB written means
    // checkpoints did not run.
    expect(statSync(`${file}-wal`).size).toBeLessThan(8 * 1024 ** 2);
    await store.close();
  });
});
