import { afterAll } from '@jest/globals';
import { PostgresStore } from '../../service/store/postgres.js';
import { describeApiContract } from './support/api-contract.js';
import { createIsolatedSchema, describeWithPostgres } from './support/postgres.js';

describeWithPostgres('document API over HTTP (PostgreSQL)', () => {
  let schema: Awaited<ReturnType<typeof createIsolatedSchema>> | undefined;
  afterAll(() => schema?.drop());
  describeApiContract('PostgreSQL', async () => {
    schema ??= await createIsolatedSchema();
    return PostgresStore.open(schema.url);
  });
});
