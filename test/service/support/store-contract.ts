import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { DocumentStore } from '../../../service/store/index.js';

/**
 * The behaviour every DocumentStore must have. Each store's test file calls this with a factory
 * that opens a fresh, empty store.
 */
export function describeStoreContract(name: string, open: () => Promise<DocumentStore>): void {
  describe(`${name} store contract`, () => {
    let store: DocumentStore;
    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
      await store?.close();
    });

    test('answers undefined for a document that was never written', async () => {
      expect(await store.get('never-written')).toBeUndefined();
    });

    test('creates a document at version 1 with equal timestamps and keeps its JSON verbatim', async () => {
      const json = '{"key":"välue ✓","n":[1,2.5,null]}';
      const result = await store.create('created', json);
      expect(result.ok).toBe(true);
      const doc = await store.get('created');
      expect(doc).toMatchObject({ id: 'created', dataJson: json, version: 1 });
      expect(doc?.revision).toMatch(/^1-[0-9a-f]{16}$/);
      expect(doc?.createdAt).toBe(doc?.updatedAt);
      expect(Date.parse(doc!.createdAt)).not.toBeNaN();
    });

    test('refuses to create an id that exists and leaves the stored document alone', async () => {
      await store.create('taken', '{"first":true}');
      const second = await store.create('taken', '{"first":false}');
      expect(second).toEqual({ ok: false, reason: 'exists' });
      expect((await store.get('taken'))?.dataJson).toBe('{"first":true}');
    });

    test('replacing increments the version, renews the revision and keeps createdAt', async () => {
      const created = await store.create('replaced', '{"v":1}');
      if (!created.ok) throw new Error('create failed');
      await new Promise((r) => setTimeout(r, 5));
      const replaced = await store.replace('replaced', '{"v":2}');
      if (!replaced.ok) throw new Error('replace failed');
      expect(replaced.document).toMatchObject({ version: 2, dataJson: '{"v":2}' });
      expect(replaced.document.revision).toMatch(/^2-/);
      expect(replaced.document.createdAt).toBe(created.document.createdAt);
      expect(replaced.document.updatedAt > created.document.updatedAt).toBe(true);
      expect(await store.get('replaced')).toEqual(replaced.document);
    });

    test('replacing or removing a missing document reports not-found', async () => {
      expect(await store.replace('missing', '{}')).toEqual({ ok: false, reason: 'not-found' });
      expect(await store.replace('missing', '{}', '1-00')).toEqual({
        ok: false,
        reason: 'not-found',
      });
      expect(await store.remove('missing')).toEqual({ ok: false, reason: 'not-found' });
    });

    test('a conditional replace succeeds on the current revision and refuses a stale one', async () => {
      const created = await store.create('conditional', '{"v":1}');
      if (!created.ok) throw new Error('create failed');
      const first = await store.replace('conditional', '{"v":2}', created.document.revision);
      expect(first.ok).toBe(true);
      const stale = await store.replace('conditional', '{"v":3}', created.document.revision);
      expect(stale).toEqual({ ok: false, reason: 'precondition-failed' });
      expect((await store.get('conditional'))?.dataJson).toBe('{"v":2}');
    });

    test('a conditional remove refuses a stale revision and removes on the current one', async () => {
      const created = await store.create('removable', '{}');
      if (!created.ok) throw new Error('create failed');
      expect(await store.remove('removable', '1-0000000000000000')).toEqual({
        ok: false,
        reason: 'precondition-failed',
      });
      expect(await store.remove('removable', created.document.revision)).toEqual({ ok: true });
      expect(await store.get('removable')).toBeUndefined();
    });

    test('a document deleted and created again never repeats an earlier revision', async () => {
      const first = await store.create('reborn', '{"same":true}');
      await store.remove('reborn');
      const second = await store.create('reborn', '{"same":true}');
      if (!first.ok || !second.ok) throw new Error('create failed');
      expect(second.document.version).toBe(1);
      expect(second.document.revision).not.toBe(first.document.revision);
    });

    test('of many concurrent writers holding the same revision exactly one wins', async () => {
      const created = await store.create('contended', '{"writer":-1}');
      if (!created.ok) throw new Error('create failed');
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.replace('contended', JSON.stringify({ writer: i }), created.document.revision),
        ),
      );
      const winners = results.filter((r) => r.ok);
      expect(winners).toHaveLength(1);
      expect(results.filter((r) => !r.ok && r.reason === 'precondition-failed')).toHaveLength(19);
      const stored = await store.get('contended');
      expect(stored?.version).toBe(2);
      expect(winners[0]?.ok && winners[0].document.dataJson).toBe(stored?.dataJson);
    });

    test('modify writes what the change makes of the stored document, as a new version', async () => {
      await store.create('modified', '{"n":1}');
      const result = await store.modify('modified', (current) => {
        const data = JSON.parse(current.dataJson) as { n: number };
        return JSON.stringify({ n: data.n + 1, version: current.version });
      });
      expect(result.ok && result.document).toMatchObject({ dataJson: '{"n":2,"version":1}' });
      expect(await store.get('modified')).toMatchObject({
        dataJson: '{"n":2,"version":1}',
        version: 2,
      });
      expect(await store.modify('never-there', () => '{}')).toEqual({
        ok: false,
        reason: 'not-found',
      });
    });

    test('a change that throws writes nothing and its error reaches the caller', async () => {
      await store.create('refused', '{"n":1}');
      const refusal = new Error('refused by the change');
      await expect(
        store.modify('refused', () => {
          throw refusal;
        }),
      ).rejects.toBe(refusal);
      expect(await store.get('refused')).toMatchObject({ dataJson: '{"n":1}', version: 1 });
      // and the store still works afterwards (nothing left locked or half-done)
      expect((await store.modify('refused', () => '{"n":2}')).ok).toBe(true);
    });

    test('of 50 concurrent modifications of one document every one applies', async () => {
      await store.create('counted', '{}');
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          store.modify('counted', (current) =>
            JSON.stringify({ ...(JSON.parse(current.dataJson) as object), [`k${i}`]: i }),
          ),
        ),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(50);
      const stored = await store.get('counted');
      expect(stored?.version).toBe(51);
      expect(Object.keys(JSON.parse(stored!.dataJson) as object)).toHaveLength(50);
    });

    test('of many concurrent creators of one id exactly one succeeds', async () => {
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => store.create('raced', JSON.stringify({ i }))),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(results.filter((r) => !r.ok && r.reason === 'exists')).toHaveLength(9);
    });

    test('lists every id exactly once, in byte order, page by page', async () => {
      const ids = ['list-B', 'list-a', 'list-A', 'list-0', 'list-_', 'list-~', 'list-.'];
      for (const id of ids) await store.create(id, '{}');
      const seen: string[] = [];
      let after: string | undefined;
      for (let pages = 0; pages < 100; pages++) {
        const page = await store.list(3, after);
        seen.push(...page.items.map((item) => item.id));
        expect(page.items.length).toBeLessThanOrEqual(3);
        if (page.lastId === undefined) break;
        after = page.lastId;
      }
      const listed = seen.filter((id) => id.startsWith('list-'));
      const byteOrder = [...ids].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      expect(listed).toEqual(byteOrder);
      expect(new Set(seen).size).toBe(seen.length);
    });

    test('answers a ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    test('proves a write commits, as often as asked, without touching documents', async () => {
      const before = await store.list(1000);
      await expect(store.probeWrite()).resolves.toBeUndefined();
      await expect(store.probeWrite()).resolves.toBeUndefined();
      expect(await store.list(1000)).toEqual(before);
    });
  });
}
