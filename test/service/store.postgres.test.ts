import { afterAll, describe, expect, test } from '@jest/globals';
import { PostgresStore } from '../../service/store/postgres.js';
import { createIsolatedSchema, describeWithPostgres } from './support/postgres.js';
import { describeStoreContract } from './support/store-contract.js';

describeWithPostgres('PostgreSQL store', () => {
  const schemas: Awaited<ReturnType<typeof createIsolatedSchema>>[] = [];
  const isolated = async () => {
    const schema = await createIsolatedSchema();
    schemas.push(schema);
    return schema.url;
  };
  afterAll(async () => {
    for (const schema of schemas) await schema.drop();
  });

  describeStoreContract('PostgreSQL', async () => PostgresStore.open(await isolated()));

  test('modifications through separate pools (instances) of one database all apply', async () => {
    const url = await isolated();
    const instances = await Promise.all(Array.from({ length: 3 }, () => PostgresStore.open(url)));
    await instances[0]!.create('shared', '{}');
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        instances[i % 3]!.modify('shared', (current) =>
          JSON.stringify({ ...(JSON.parse(current.dataJson) as object), [`k${i}`]: i }),
        ),
      ),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    const stored = await instances[1]!.get('shared');
    expect(Object.keys(JSON.parse(stored!.dataJson) as object).sort()).toEqual(
      Array.from({ length: 30 }, (_, i) => `k${i}`).sort(),
    );
    await Promise.all(instances.map((s) => s.close()));
  });

  describe('PostgreSQL schema creation', () => {
    test('is idempotent and safe when many instances start at the same moment', async () => {
      const url = await isolated();
      const stores = await Promise.all(Array.from({ length: 8 }, () => PostgresStore.open(url)));
      await stores[0]!.create('after-race', '{}');
      expect((await stores[7]!.get('after-race'))?.dataJson).toBe('{}');
      await Promise.all(stores.map((s) => s.close()));
    });

    test('fails to open with the database error when the server refuses the connection', async () => {
      await expect(PostgresStore.open('postgres://ci:ci@127.0.0.1:1/ci')).rejects.toThrow();
    });
  });
});
