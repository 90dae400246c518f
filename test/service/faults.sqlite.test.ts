// Failure injection against the real service process on SQLite: a volume that fills up, the
// database file moved or deleted while the service runs, and a write-heavy burst. Each test
// asserts the invariant: every 2xx write reads back, now and after a restart; every failure is a
// non-2xx problem document; /ready tells the truth.
import { mkdtempSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, test } from '@jest/globals';
import { request } from './support/http.js';
import {
  describeWithMounts,
  Ledger,
  mountTmpfs,
  readyStatus,
  restartService,
  type Volume,
} from './support/faults.js';
import { killStartedServices, spawnService, type ServiceProcess } from './support/process.js';

const TOKEN = 'faults-sqlite-token-42';
const auth = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' };
const dir = mkdtempSync(join(tmpdir(), 'faults-sqlite-'));
let service: ServiceProcess | undefined;

afterEach(() => {
  killStartedServices();
  service = undefined;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** JSON data of about `kb` kilobytes that differs per call (so it does not compress away). */
let serial = 0;
function dataOf(kb: number): string {
  const pad = `${++serial}-${Math.random().toString(36)}`.padEnd(kb * 1024, 'x');
  return JSON.stringify({ serial, pad });
}

async function post(ledger: Ledger, url: string, id: string, data: string): Promise<number> {
  const body = `{"id":${JSON.stringify(id)},"data":${data}}`;
  const reply = await request(url, 'POST', '/json', { body, headers: auth });
  ledger.record('POST', id, data, reply);
  return reply.status;
}

async function put(ledger: Ledger, url: string, id: string, data: string): Promise<number> {
  const reply = await request(url, 'PUT', `/json/${id}`, { body: data, headers: auth });
  ledger.record('PUT', id, data, reply);
  return reply.status;
}

describeWithMounts('SQLite on a volume that fills up', () => {
  let volume: Volume | undefined;
  afterEach(() => {
    killStartedServices();
    volume?.remove();
    volume = undefined;
  });

  test('refuses writes with 507 once full, acknowledges none it lost, says so on /ready, and recovers when space is freed', async () => {
    volume = mountTmpfs('3m');
    // Room that the test frees later, as an operator would.
    const ballast = join(volume.dir, 'ballast');
    writeFileSync(ballast, Buffer.alloc(512 * 1024, 1));
    const env = {
      API_TOKEN: TOKEN,
      DATABASE_URL: join(volume.dir, 'data', 'documents.sqlite'),
      BODY_LIMIT: '128kb',
    };
    service = await spawnService(env);
    const ledger = new Ledger();
    expect(await readyStatus(service.url)).toBe(200);

    // ~50 KB POSTs, with a PUT of an earlier document after each, until writes keep failing.
    let failedInARow = 0;
    for (let i = 0; i < 200 && failedInARow < 6; i++) {
      const created = await post(ledger, service.url, `doc-${i}`, dataOf(50));
      const earlier = [...ledger.documents.keys()][i % ledger.documents.size];
      const replaced = earlier ? await put(ledger, service.url, earlier, dataOf(50)) : 201;
      failedInARow = created >= 300 && replaced >= 300 ? failedInARow + 2 : 0;
    }
    expect(ledger.acknowledged).toBeGreaterThan(10);
    expect(ledger.failures.length).toBeGreaterThanOrEqual(6);
    expect(ledger.failures.some((failure) => failure.status === 507)).toBe(true);
    expect(await readyStatus(service.url)).toBe(503);
    await ledger.verify(service.url);

    unlinkSync(ballast);
    expect(await readyStatus(service.url)).toBe(200);
    expect(await post(ledger, service.url, 'after-space-freed', dataOf(50))).toBe(201);
    await ledger.verify(service.url);

    service = await restartService(service, env);
    await ledger.verify(service.url);
  }, 120_000);
});

describe('SQLite when its database file is moved or deleted while the service runs', () => {
  test('refuses writes and fails /ready while the file is moved away, and writes again once it is back', async () => {
    const file = join(dir, 'moved', 'documents.sqlite');
    const env = { API_TOKEN: TOKEN, DATABASE_URL: file };
    service = await spawnService(env);
    const ledger = new Ledger();
    for (let i = 0; i < 5; i++) await post(ledger, service.url, `before-${i}`, dataOf(1));
    expect(ledger.failures).toEqual([]);

    renameSync(file, `${file}.moved`);
    // The write that notices may have gone into the moved file (never acknowledged); the writes
    // after it are refused before they run.
    await post(ledger, service.url, 'noticed', dataOf(1));
    await post(ledger, service.url, 'while-moved', dataOf(1));
    await put(ledger, service.url, 'before-0', dataOf(1));
    const removed = await request(service.url, 'DELETE', '/json/before-1', { headers: auth });
    ledger.record('DELETE', 'before-1', undefined, removed);
    expect(ledger.failures.map((failure) => failure.status)).toEqual([503, 503, 503, 503]);
    expect(await readyStatus(service.url)).toBe(503);

    renameSync(`${file}.moved`, file);
    expect(await readyStatus(service.url)).toBe(200);
    await post(ledger, service.url, 'after-return', dataOf(1));
    expect(ledger.failures).toHaveLength(4);
    await ledger.verify(service.url);
    // A refused write did not happen.
    expect((await request(service.url, 'GET', '/json/while-moved')).status).toBe(404);

    service = await restartService(service, env);
    await ledger.verify(service.url);
    expect((await request(service.url, 'GET', '/json/while-moved')).status).toBe(404);
  }, 60_000);

  test('acknowledges no write after the file is deleted, and starts on a new file after a restart', async () => {
    const file = join(dir, 'deleted', 'documents.sqlite');
    const env = { API_TOKEN: TOKEN, DATABASE_URL: file };
    service = await spawnService(env);
    const before = new Ledger();
    await post(before, service.url, 'before', dataOf(1));
    expect(before.acknowledged).toBe(1);

    for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
    const after = new Ledger();
    for (let i = 0; i < 5; i++) await post(after, service.url, `after-${i}`, dataOf(1));
    await put(after, service.url, 'before', dataOf(1));
    expect(after.acknowledged).toBe(0);
    expect(after.failures.map((failure) => failure.status)).toEqual([503, 503, 503, 503, 503, 503]);
    expect(await readyStatus(service.url)).toBe(503);

    service = await restartService(service, env);
    expect(await readyStatus(service.url)).toBe(200);
    await post(after, service.url, 'after-restart', dataOf(1));
    expect(after.acknowledged).toBe(1);
    await after.verify(service.url);
  }, 60_000);
});

describe('SQLite after a write-heavy burst', () => {
  test('keeps the WAL bounded and answers the next read without paying for deferred checkpoints', async () => {
    const file = join(dir, 'burst', 'documents.sqlite');
    const env = { API_TOKEN: TOKEN, DATABASE_URL: file };
    service = await spawnService(env);
    const url = service.url;
    const ledger = new Ledger();
    // The first list call ever also pays for compiling its code path; not what is measured here.
    await request(url, 'GET', '/json?limit=10');
    // 3,000 writes of 64 KB (about 190 MB), 8 at a time: creates, then replaces.
    const count = 1500;
    const data = Array.from({ length: 4 }, () => dataOf(64));
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < 2 * count) {
          const n = next++;
          const id = `burst-${n % count}`;
          if (n < count) await post(ledger, url, id, data[n % 4]!);
          else await put(ledger, url, id, data[(n + 1) % 4]!);
        }
      }),
    );
    expect(ledger.failures).toEqual([]);
    const walBytes = statSync(`${file}-wal`).size;

    const started = process.hrtime.bigint();
    const [list, health] = await Promise.all([
      request(url, 'GET', '/json?limit=10'),
      request(url, 'GET', '/health'),
    ]);
    const nextReadMs = Number(process.hrtime.bigint() - started) / 1e6;
    expect([list.status, health.status]).toEqual([200, 200]);
    console.info(
      `write burst of ${2 * count} x 64 KB: WAL ${(walBytes / 1024 ** 2).toFixed(1)} MB, ` +
        `next read ${nextReadMs.toFixed(1)} ms`,
    );
    // Auto-checkpoints keep it near 1,000 pages (4 MB); journal_size_limit caps it at 16 MB.
    expect(walBytes).toBeLessThan(20 * 1024 ** 2);
    // A deferred checkpoint of the whole burst took hundreds of milliseconds (issue 9); a read
    // that pays none takes a few. Generous, so a busy machine does not fail it.
    expect(nextReadMs).toBeLessThan(100);

    await ledger.verify(url);
    service = await restartService(service, env);
    await ledger.verify(service.url);
  }, 300_000);
});
