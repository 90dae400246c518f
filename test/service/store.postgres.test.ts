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
