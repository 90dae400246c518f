import { randomBytes } from 'node:crypto';
import { describe, test } from '@jest/globals';
import pg from 'pg';

/** The database the PostgreSQL suites use: DATABASE_URL, else the CI database of .ci/postgres.sh. */
export const POSTGRES_URL =
  process.env.TEST_DATABASE_URL ??
  (process.env.DATABASE_URL?.startsWith('postgres') ? process.env.DATABASE_URL : undefined) ??
  'postgres://ci:ci@127.0.0.1:5432/ci';

/** Whether PostgreSQL answers. */
async function postgresAvailable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const requirePostgres = process.env.CI === 'true';
const available = await postgresAvailable();

/**
 * Describes a suite that needs PostgreSQL. When the database is not reachable the suite fails
 * under CI=true (a missing database must never pass silently) and is skipped loudly elsewhere.
 */
export function describeWithPostgres(name: string, body: () => void): void {
  if (available) {
    describe(name, body);
  } else if (requirePostgres) {
    describe(name, () => {
      test('has a reachable PostgreSQL, because CI=true requires this suite to run', () => {
        throw new Error(
          `PostgreSQL is not reachable at ${POSTGRES_URL}; CI=true requires it (see .ci/postgres.sh)`,
        );
      });
    });
  } else {
    console.warn(
      `\n!!! SKIPPED ${name}: PostgreSQL is not reachable at ${POSTGRES_URL}.\n` +
        '!!! Start it with .ci/postgres.sh (CI=true turns this skip into a failure).\n',
    );
    describe.skip(`${name} (PostgreSQL not reachable)`, () => {
      test('needs PostgreSQL', () => undefined);
    });
  }
}

/**
 * A fresh schema of its own, so suites never see each other's documents: the returned URL sets
 * `search_path` through libpq's `options` parameter, which every pooled connection inherits.
 */
export async function createIsolatedSchema(): Promise<{ url: string; drop: () => Promise<void> }> {
  const schema = `service_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const url = new URL(POSTGRES_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    },
  };
}
