// How the HTTP layer answers a store that cannot do what it was asked (store/failure.ts).
import { afterEach, describe, expect, test } from '@jest/globals';
import { startServer, type RunningServer } from '../../service/server.js';
import { StorageFailure } from '../../service/store/failure.js';
import type { DocumentStore } from '../../service/store/index.js';
import { capturedLogger, request } from './support/http.js';

const TOKEN = 't0ken-for-storage-error-tests';
const SECRET_TEXT = /55432|10\.1\.2\.3|\/var\/lib\/secret|SQLITE_|ECONNREFUSED|\bat .*\.ts:\d+/;

/** Every call of the store fails with `error`; probeWrite does what `probe` says. */
function failingStore(error: () => Error): DocumentStore & { probe: () => Promise<void> } {
  const fail = () => Promise.reject(error());
  const store = {
    kind: 'sqlite' as const,
    get: fail,
    list: fail,
    create: fail,
    replace: fail,
    remove: fail,
    modify: fail,
    ping: fail,
    probe: fail as () => Promise<void>,
    probeWrite: () => store.probe(),
    close: () => Promise.resolve(),
  };
  return store;
}

let running: RunningServer | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

async function serve(store: DocumentStore) {
  const log = capturedLogger('info');
  running = await startServer({
    store,
    logger: log.logger,
    port: 0,
    host: '127.0.0.1',
    apiTokens: [TOKEN],
    bodyLimitBytes: 4096,
    appVersion: 'v7',
    instanceId: 'i-0abc',
  });
  return {
    url: running.url,
    logged: () => log.lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

const write = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' };
const requests = [
  ['GET', '/json/doc', undefined],
  ['GET', '/json', undefined],
  ['POST', '/json', '{"id":"doc","data":{"a":1}}'],
  ['PUT', '/json/doc', '{"a":2}'],
  ['DELETE', '/json/doc', undefined],
] as const;

describe('a store that cannot be reached or written', () => {
  test.each(['unavailable', 'unwritable'] as const)(
    'answers every request with 503 storage-unavailable and Retry-After when %s, and logs the cause once per request',
    async (kind) => {
      const cause = new Error('connect ECONNREFUSED 10.1.2.3:55432 /var/lib/secret');
      const { url, logged } = await serve(
        failingStore(() => new StorageFailure(kind, 'SQLite: SQLITE_IOERR_WRITE', { cause })),
      );
      for (const [method, path, body] of requests) {
        const requestId = `req-${method}-${path.length}-${kind}`;
        const reply = await request(url, method, path, {
          body,
          headers: { ...write, 'X-Request-Id': requestId },
        });
        expect([method, reply.status]).toEqual([method, 503]);
        expect(reply.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        expect(reply.headers.get('retry-after')).toBe('5');
        expect(reply.json).toMatchObject({
          type: 'urn:challenge-deploy:problem:storage-unavailable',
          status: 503,
          requestId,
        });
        expect(reply.text).not.toMatch(SECRET_TEXT);
        const entries = logged().filter((entry) => entry.reqId === requestId);
        expect(entries).toHaveLength(1);
        expect(JSON.stringify(entries[0])).toContain('ECONNREFUSED 10.1.2.3:55432');
      }
    },
  );

  test('answers 507 storage-full when the volume is full, never a 2xx', async () => {
    const { url, logged } = await serve(
      failingStore(
        () => new StorageFailure('full', 'SQLite: SQLITE_FULL (database or disk is full)'),
      ),
    );
    for (const [method, path, body] of requests.slice(2)) {
      const reply = await request(url, method, path, {
        body,
        headers: { ...write, 'X-Request-Id': `full-${method}` },
      });
      expect([method, reply.status]).toEqual([method, 507]);
      expect(reply.json).toMatchObject({ type: 'urn:challenge-deploy:problem:storage-full' });
      expect(reply.text).not.toMatch(SECRET_TEXT);
      expect(logged().filter((entry) => entry.reqId === `full-${method}`)).toHaveLength(1);
    }
  });
});

describe('/ready', () => {
  test('answers 503 with a generic body while a write cannot commit, and 200 once one does', async () => {
    const store = failingStore(() => new Error('unused'));
    store.probe = () =>
      Promise.reject(
        new StorageFailure('unavailable', 'PostgreSQL: connect ECONNREFUSED 10.1.2.3:55432', {
          cause: new Error('password authentication failed for user "app"'),
        }),
      );
    const { url, logged } = await serve(store);
    const down = await request(url, 'GET', '/ready');
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBe('5');
    expect(down.json.type).toBe('urn:challenge-deploy:problem:storage-unavailable');
    expect(down.text).not.toMatch(SECRET_TEXT);
    expect(down.text).not.toMatch(/password|postgres/i);
    expect(JSON.stringify(logged())).toContain('ECONNREFUSED 10.1.2.3:55432');

    store.probe = () => Promise.resolve();
    await new Promise((resolve) => setTimeout(resolve, 1100)); // past the reuse of a probe's answer
    const up = await request(url, 'GET', '/ready');
    expect(up.status).toBe(200);
    expect(up.json).toMatchObject({ status: 'ready', storage: 'sqlite' });
  });

  test('answers 503 storage-full while the volume is full', async () => {
    const store = failingStore(() => new Error('unused'));
    store.probe = () =>
      Promise.reject(new StorageFailure('full', 'the volume of /data has 0 bytes free'));
    const { url } = await serve(store);
    const reply = await request(url, 'GET', '/ready');
    expect(reply.status).toBe(503);
    expect(reply.json.type).toBe('urn:challenge-deploy:problem:storage-full');
    expect(reply.text).not.toContain('/data');
  });
});
