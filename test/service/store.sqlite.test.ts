import { mkdtempSync, rmSync } from 'node:fs';
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

  test('a write gives up with SQLITE_BUSY when the lock is held past the busy timeout', async () => {
    const file = join(dir, 'held.sqlite');
    const store = new SqliteStore(file, { busyTimeoutMs: 100 });
    await store.create('doc', '{"n":0}');
    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE');
    const started = Date.now();
    await expect(store.replace('doc', '{"n":1}')).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    other.exec('ROLLBACK');
    other.close();
    expect((await store.get('doc'))?.dataJson).toBe('{"n":0}');
    await store.close();
  });
});
