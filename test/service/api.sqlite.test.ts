import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from '@jest/globals';
import { SqliteStore } from '../../service/store/sqlite.js';
import { describeApiContract } from './support/api-contract.js';

const dir = mkdtempSync(join(tmpdir(), 'api-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeApiContract('SQLite', () => Promise.resolve(new SqliteStore(join(dir, 'api.sqlite'))));
