import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from '@jest/globals';
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
});
