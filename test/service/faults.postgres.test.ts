// Failure injection against PostgreSQL: a private cluster of the test's own is stopped, started,
// frozen with SIGSTOP and thawed while the service runs, and one document is patched by many
// clients at once. Throughout: every 2xx write reads back, now and after a service restart; every
// failure is a non-2xx problem document; an unreachable database answers 503 with Retry-After
// within one timeout.
import { afterAll, afterEach, beforeAll, expect, test } from '@jest/globals';
import { startServer, type RunningServer } from '../../service/server.js';
import { PostgresStore } from '../../service/store/postgres.js';
import { capturedLogger, request, type Reply, type RequestOptions } from './support/http.js';
import { describeWithPrivateCluster, PrivateCluster } from './support/private-postgres.js';

const TOKEN = 'faults-postgres-token-0123456789';
const TIMEOUTS = { connectMs: 2000, queryMs: 2000 };
/** Longest a request may take while the database is down or frozen: one timeout, plus slack. */
const ONE_TIMEOUT_MS = Math.max(TIMEOUTS.connectMs, TIMEOUTS.queryMs) + 1000;

/** What the acknowledged writes say each document holds, and writes that failed after them. */
class Ledger {
  private readonly documents = new Map<
    string,
    { data: unknown; version: number; uncertain: unknown[] } | { deleted: true }
  >();

  /** Records a reply to a write: a 2xx is a promise the document now holds this. */
  record(id: string, reply: Reply, attempted: unknown): void {
    if (reply.status === 204) {
      this.documents.set(id, { deleted: true });
    } else if (reply.status >= 200 && reply.status < 300) {
      this.documents.set(id, {
        data: reply.json.data,
        version: Number(reply.json.version),
        uncertain: [],
      });
    } else {
      // A failed write was not acknowledged; a request cut off by a timeout may still have
      // committed, so the document may hold either.
      const known = this.documents.get(id);
      if (known && !('deleted' in known)) known.uncertain.push(attempted);
    }
  }

  acknowledged(): string[] {
    return [...this.documents.keys()];
  }

  /** Reads every acknowledged document back and compares. */
  async verify(url: string): Promise<void> {
    for (const [id, expected] of this.documents) {
      const reply = await request(url, 'GET', `/json/${id}`);
      if ('deleted' in expected) {
        expect([id, reply.status]).toEqual([id, 404]);
        continue;
      }
      expect([id, reply.status]).toEqual([id, 200]);
      const exact = { data: expected.data, version: expected.version };
      const seen = { data: reply.json.data, version: Number(reply.json.version) };
      if (expected.uncertain.length === 0) {
        expect([id, seen]).toEqual([id, exact]);
      } else {
        expect([expected.data, ...expected.uncertain]).toContainEqual(seen.data);
        expect(seen.version).toBeGreaterThanOrEqual(expected.version);
      }
    }
  }
}

/** A failure as clients must see it: a problem document with a non-2xx status. */
function expectProblem(reply: Reply, status: number): void {
  expect(reply.status).toBe(status);
  expect(reply.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(reply.json.status).toBe(status);
  expect(reply.text).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|\bat .*\.ts:\d+/);
}

/** 503 storage-unavailable with Retry-After, as a client or load balancer can act on it. */
function expectUnavailable(reply: Reply): void {
  expectProblem(reply, 503);
  expect(reply.json.type).toBe('urn:challenge-deploy:problem:storage-unavailable');
  expect(Number(reply.headers.get('retry-after'))).toBeGreaterThan(0);
}

describeWithPrivateCluster('PostgreSQL failures (private cluster)', () => {
  let cluster: PrivateCluster;
  let service: RunningServer | undefined;
  let ledger: Ledger;
  const log = capturedLogger('warn');

  const start = async () => {
    service = await startServer({
      store: await PostgresStore.open(cluster.url, { timeouts: TIMEOUTS }),
      logger: log.logger,
      port: 0,
      host: '127.0.0.1',
      apiTokens: [TOKEN],
      bodyLimitBytes: 64 * 1024,
      appVersion: 'v1',
      instanceId: 'i-faults',
    });
    return service.url;
  };
  const restart = async () => {
    await service?.stop();
    return start();
  };

  /** One request, given up (as a failed test, not a hang) when it takes far too long. */
  const call = async (method: string, path: string, options: RequestOptions = {}) => {
    let timer: NodeJS.Timeout | undefined;
    const tooLong = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${method} ${path}: no answer within ${3 * ONE_TIMEOUT_MS} ms`)),
        3 * ONE_TIMEOUT_MS,
      );
    });
    try {
      return await Promise.race([request(service!.url, method, path, options), tooLong]);
    } finally {
      clearTimeout(timer);
    }
  };
  const headers = (type = 'application/json') => ({
    Authorization: `Bearer ${TOKEN}`,
    'Content-Type': type,
  });
  const write = async (method: string, id: string, data?: object) => {
    const path = method === 'POST' ? '/json' : `/json/${id}`;
    const body = method === 'POST' ? JSON.stringify({ id, data }) : data && JSON.stringify(data);
    const type = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
    const reply = await call(method, path, { body, headers: headers(type) });
    ledger.record(id, reply, data);
    return reply;
  };

  beforeAll(async () => {
    cluster = await PrivateCluster.create();
  }, 60_000);
  afterEach(async () => {
    // A failed test may leave the cluster frozen or stopped; the next one starts from a working one.
    await cluster.thaw().catch(() => undefined);
    await cluster.ensureStarted();
    await service?.stop();
    service = undefined;
  });
  afterAll(async () => {
    await cluster?.destroy();
  });

  test('stopped: writes and reads answer 503 with Retry-After within one timeout, never 2xx; after the restart writes work again and every acknowledged write reads back, also after a service restart', async () => {
    ledger = new Ledger();
    const url = await start();
    for (let i = 0; i < 4; i++) expect((await write('POST', `stop-${i}`, { i })).status).toBe(201);
    expect((await write('PATCH', 'stop-0', { patched: true })).status).toBe(200);

    await cluster.stop();
    const outage: [string, () => Promise<Reply>][] = [
      ['POST', () => write('POST', 'stop-new', { lost: false })],
      ['PUT', () => write('PUT', 'stop-1', { replaced: true })],
      ['PATCH', () => write('PATCH', 'stop-2', { patched: true })],
      ['DELETE', () => write('DELETE', 'stop-3')],
      ['GET', () => call('GET', '/json/stop-0')],
      ['GET list', () => call('GET', '/json')],
    ];
    for (const [name, send] of outage) {
      const started = Date.now();
      const reply = await send();
      expect([name, Date.now() - started < ONE_TIMEOUT_MS]).toEqual([name, true]);
      expectUnavailable(reply);
    }
    expect((await call('GET', '/ready')).status).toBe(503);

    await cluster.start();
    // The pool drops the connections the shutdown closed; the next request connects afresh.
    const first = await write('POST', 'after-restart', { back: true });
    expect(first.status).toBe(201);
    expect((await write('PUT', 'stop-1', { replaced: 'after' })).status).toBe(200);
    // /ready may keep its last probe for a moment; it must turn 200 again once writes work.
    let ready = await call('GET', '/ready');
    for (let attempt = 0; attempt < 20 && ready.status !== 200; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      ready = await call('GET', '/ready');
    }
    expect(ready.status).toBe(200);

    // Nothing written while the database was down happened: it could not have.
    expect((await call('GET', '/json/stop-new')).status).toBe(404);
    expect((await call('GET', '/json/stop-2')).json).toMatchObject({ data: { i: 2 }, version: 1 });
    expect((await call('GET', '/json/stop-3')).status).toBe(200);
    await ledger.verify(url);
    await ledger.verify(await restart());
    // The cause reached the log (and only the log: expectProblem checked the bodies).
    const failures = log.lines.filter((line) => line.includes('"kind":"unavailable"'));
    expect(failures.join('\n')).toMatch(/ECONNREFUSED|57P01/);
  }, 60_000);

  test('frozen (SIGSTOP): a GET answers 503 within one timeout, writes are never acknowledged; after SIGCONT the service recovers and every acknowledged write reads back, also after a service restart', async () => {
    ledger = new Ledger();
    const url = await start();
    expect((await write('POST', 'frozen', { n: 0 })).status).toBe(201);
    expect((await write('POST', 'frozen-2', { n: 0 })).status).toBe(201);

    await cluster.freeze();
    try {
      for (const path of ['/json/frozen', '/json/frozen?again=1', '/json/never-written']) {
        const started = Date.now();
        const reply = await call('GET', path);
        const elapsed = Date.now() - started;
        expectUnavailable(reply);
        expect([path, elapsed < ONE_TIMEOUT_MS]).toEqual([path, true]);
      }
      const writes = await Promise.all([
        write('PUT', 'frozen', { n: 1 }),
        write('PATCH', 'frozen-2', { m: 1 }),
        write('POST', 'frozen-new', { n: 1 }),
      ]);
      for (const reply of writes) expectUnavailable(reply);
    } finally {
      await cluster.thaw();
    }

    // Back: the connections the timeouts gave up on are gone, new ones work.
    let recovered: Reply | undefined;
    for (let attempt = 0; attempt < 20 && recovered?.status !== 200; attempt++) {
      recovered = await call('GET', '/json/frozen');
      if (recovered.status !== 200) {
        expectUnavailable(recovered);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    expect(recovered?.status).toBe(200);
    expect((await write('PUT', 'frozen', { n: 2 })).status).toBe(200);
    expect((await write('PATCH', 'frozen-2', { m: 2 })).status).toBe(200);
    await ledger.verify(url);
    await ledger.verify(await restart());
  }, 60_000);

  test.each([10, 50])(
    '%i concurrent unconditional PATCHes of one document all succeed, and it holds every key, also after a service restart',
    async (writers) => {
      ledger = new Ledger();
      const url = await start();
      const id = `patched-by-${writers}`;
      expect((await write('POST', id, {})).status).toBe(201);
      const replies = await Promise.all(
        Array.from({ length: writers }, (_, i) =>
          call('PATCH', `/json/${id}`, {
            body: JSON.stringify({ [`k${i}`]: i }),
            headers: headers('application/merge-patch+json'),
          }),
        ),
      );
      expect(replies.map((reply) => reply.status)).toEqual(replies.map(() => 200));
      const expected = Object.fromEntries(Array.from({ length: writers }, (_, i) => [`k${i}`, i]));
      const versions = replies.map((reply) => Number(reply.json.version)).sort((a, b) => a - b);
      expect(versions).toEqual(Array.from({ length: writers }, (_, i) => i + 2));
      const stored = await request(url, 'GET', `/json/${id}`);
      expect(stored.json).toMatchObject({ data: expected, version: writers + 1 });
      const afterRestart = await request(await restart(), 'GET', `/json/${id}`);
      expect(afterRestart.json).toMatchObject({ data: expected, version: writers + 1 });
    },
    60_000,
  );
});
