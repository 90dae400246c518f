import { afterAll, describe, test } from '@jest/globals';
import { PostgresStore } from '../../service/store/postgres.js';
import { describeApiContract } from './support/api-contract.js';
import {
  createIsolatedSchema,
  postgresAvailable,
  requirePostgres,
  warnPostgresSkipped,
} from './support/postgres.js';

const available = await postgresAvailable();

if (!available && requirePostgres) {
  describe('document API over HTTP (PostgreSQL)', () => {
    test('has a reachable database, because CI=true requires the PostgreSQL suite to run', () => {
      throw new Error('PostgreSQL is not reachable; CI=true requires it (see .ci/postgres.sh)');
    });
  });
} else if (!available) {
  warnPostgresSkipped('the PostgreSQL API suite');
  describe.skip('document API over HTTP (PostgreSQL, database not reachable)', () => {
    test('contract', () => undefined);
  });
} else {
  const schema = await createIsolatedSchema();
  afterAll(() => schema.drop());
  describeApiContract('PostgreSQL', () => PostgresStore.open(schema.url));
}
