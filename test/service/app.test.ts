import { afterEach, describe, expect, test } from '@jest/globals';
import { startServer, type RunningServer } from '../../service/server.js';
import { SqliteStore } from '../../service/store/sqlite.js';
import type { DocumentStore } from '../../service/store/index.js';
import { capturedLogger, request } from './support/http.js';

/** A store whose every storage call fails, and which counts the calls it received. */
function brokenStore(): DocumentStore & { calls: number } {
  const fail = () => {
    store.calls++;
    return Promise.reject(new Error('disk on fire at /var/secret/path'));
  };
  const store = {
    kind: 'sqlite' as const,
    calls: 0,
    get: fail,
    list: fail,
    create: fail,
    replace: fail,
    modify: fail,
    remove: fail,
    ping: fail,
    probeWrite: fail,
    close: () => Promise.resolve(),
  };
  return store;
}

let running: RunningServer | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

async function serve(store: DocumentStore, apiTokens = ['t0ken-for-app-tests']) {
  const log = capturedLogger('info');
  running = await startServer({
    store,
    logger: log.logger,
    port: 0,
    host: '127.0.0.1',
    apiTokens,
    bodyLimitBytes: 1024,
    appVersion: 'v7',
    instanceId: 'i-0abc',
  });
  return { url: running.url, lines: log.lines, running };
}

describe('the app when storage fails', () => {
  test('still reports health, without touching storage, so the deploy gate only checks the process', async () => {
    const store = brokenStore();
    const { url } = await serve(store);
    const reply = await request(url, 'GET', '/health');
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual({ status: 'ok', version: 'v7', instance: 'i-0abc' });
    expect(store.calls).toBe(0);
  });

  test('answers /ready with 503 so a load balancer stops sending traffic', async () => {
    const { url } = await serve(brokenStore());
    const reply = await request(url, 'GET', '/ready');
    expect(reply.status).toBe(503);
    expect(reply.json.type).toBe('urn:challenge-deploy:problem:storage-unavailable');
  });

  test('answers 500 with a problem naming the request id, never the stack, and logs the error', async () => {
    const { url, lines } = await serve(brokenStore());
    const reply = await request(url, 'GET', '/json/anything', {
      headers: { 'X-Request-Id': 'req-500' },
    });
    expect(reply.status).toBe(500);
    expect(reply.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(reply.json).toMatchObject({ status: 500, requestId: 'req-500' });
    expect(reply.text).not.toMatch(/disk on fire|\/var\/secret|\bat .*\.ts:\d+/);
    const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const error = logged.find((entry) => entry.reqId === 'req-500' && entry.err);
    expect(JSON.stringify(error)).toContain('disk on fire');
  });

  test('asks the store once per GET, so a failing or frozen store is waited for only once', async () => {
    const store = brokenStore();
    const { url } = await serve(store);
    const failed = await request(url, 'GET', '/json/anything?q=1');
    expect(failed.status).toBeGreaterThanOrEqual(500);
    expect(store.calls).toBe(1);
    await running?.stop();
    // a missing document too: the direct read's miss is answered by Koa without a second read
    let reads = 0;
    const empty = new SqliteStore(':memory:');
    const get = empty.get.bind(empty);
    empty.get = (id) => (reads++, get(id));
    const { url: emptyUrl } = await serve(empty);
    const missing = await request(emptyUrl, 'GET', '/json/missing');
    expect(missing.status).toBe(404);
    expect(missing.json.type).toBe('urn:challenge-deploy:problem:document-not-found');
    expect(reads).toBe(1);
  });
});

describe('telling instances apart behind a load balancer', () => {
  test('every answer, errors included, names the instance that gave it in X-Instance-Id', async () => {
    const { url } = await serve(brokenStore());
    for (const path of ['/health', '/json/anything', '/no-such-route']) {
      const reply = await request(url, 'GET', path);
      expect([path, reply.headers.get('x-instance-id')]).toEqual([path, 'i-0abc']);
    }
  });
});

describe("the server's connection bounds", () => {
  test("give a client 120 s for a whole request (not Node's 300 s) and take 10,000 connections", async () => {
    const { running } = await serve(brokenStore());
    expect(running.server.requestTimeout).toBe(120_000);
    expect(running.server.headersTimeout).toBeLessThanOrEqual(running.server.requestTimeout);
    expect(running.server.maxConnections).toBe(10_000);
  });

  test('close connections past MAX_CONNECTIONS at once and keep serving the ones they have', async () => {
    const store = brokenStore();
    store.ping = () => Promise.resolve();
    const log = capturedLogger('silent');
    running = await startServer({
      store,
      logger: log.logger,
      port: 0,
      host: '127.0.0.1',
      apiTokens: ['t'],
      bodyLimitBytes: 1024,
      appVersion: 'v1',
      instanceId: 'i',
      maxConnections: 1,
      requestTimeoutMs: 70_000,
    });
    expect(running.server.requestTimeout).toBe(70_000);
    const { connect } = await import('node:net');
    const held = connect(running.port, '127.0.0.1');
    await new Promise((resolve) => held.once('connect', resolve));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const refused = await request(running.url, 'GET', '/health').then(
      (reply) => reply.status,
      (error: NodeJS.ErrnoException) => error.code,
    );
    expect(refused).toBe('ECONNRESET');
    held.write('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      held.on('data', (chunk: Buffer) => (text += chunk.toString()));
      held.once('close', () => resolve(text));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
  });
});

describe('the app while shutting down', () => {
  test('answers /ready with 503 and asks keep-alive clients to close their connection', async () => {
    const store = brokenStore();
    store.probeWrite = () => Promise.resolve();
    const { url, running } = await serve(store);
    expect((await request(url, 'GET', '/ready')).status).toBe(200);
    running.lifecycle.shuttingDown = true;
    const reply = await request(url, 'GET', '/ready');
    expect(reply.status).toBe(503);
    expect(reply.json.type).toBe('urn:challenge-deploy:problem:shutting-down');
    expect(reply.headers.get('connection')).toBe('close');
  });
});

describe('the app without any token', () => {
  test('refuses every write with 401 rather than running open', async () => {
    const store = brokenStore();
    const { url } = await serve(store, []);
    const reply = await request(url, 'POST', '/json', {
      body: '{"id":"x","data":{}}',
      headers: { Authorization: 'Bearer anything', 'Content-Type': 'application/json' },
    });
    expect(reply.status).toBe(401);
    expect(store.calls).toBe(0);
  });
});

describe('the HTTP server', () => {
  test('keeps idle connections open longer than a load balancer does (65 s) and reads headers longer still', async () => {
    const { running } = await serve(brokenStore());
    expect(running.server.keepAliveTimeout).toBeGreaterThanOrEqual(65_000);
    expect(running.server.headersTimeout).toBeGreaterThan(running.server.keepAliveTimeout);
  });
});

describe('the document size bounds', () => {
  test('accept 10,000 keys of data and refuse 10,001 with 400, by POST and PUT alike', async () => {
    const log = capturedLogger('silent');
    running = await startServer({
      store: new SqliteStore(':memory:'),
      logger: log.logger,
      port: 0,
      host: '127.0.0.1',
      apiTokens: ['t'],
      bodyLimitBytes: 1024 * 1024,
      appVersion: 'v1',
      instanceId: 'i',
    });
    const data = (keys: number) =>
      Object.fromEntries(Array.from({ length: keys }, (_, i) => [`k${i}`, i]));
    const headers = { Authorization: 'Bearer t', 'Content-Type': 'application/json' };
    // The {"id", "data"} envelope's own keys do not count against the limit.
    const post = (id: string, keys: number) =>
      request(running!.url, 'POST', '/json', {
        body: JSON.stringify({ id, data: data(keys) }),
        headers,
      });
    const put = (id: string, keys: number) =>
      request(running!.url, 'PUT', `/json/${id}`, { body: JSON.stringify(data(keys)), headers });
    expect((await post('at-cap', 10_000)).status).toBe(201);
    expect((await put('at-cap', 10_000)).status).toBe(200);
    for (const over of [await post('over-cap', 10_001), await put('at-cap', 10_001)]) {
      expect(over.status).toBe(400);
      expect(over.json.type).toBe('urn:challenge-deploy:problem:too-many-keys');
    }
  });
});

describe('the metrics route label', () => {
  test('is the route pattern for every kind of request, and "unmatched" for unknown paths', async () => {
    const { url } = await serve(new SqliteStore(':memory:'));
    const headers = {
      Authorization: 'Bearer t0ken-for-app-tests',
      'Content-Type': 'application/json',
    };
    await request(url, 'POST', '/json', { body: '{"id":"a","data":{}}', headers });
    await request(url, 'PUT', '/json/a', { body: '{"x":1}', headers }); // answered ahead of the router
    await request(url, 'GET', '/json/missing'); // a miss: handed on to Koa
    await request(url, 'GET', '/health'); // matched by the router
    await request(url, 'GET', '/nowhere');
    const metrics = (await request(url, 'GET', '/metrics')).text;
    const count = (method: string, route: string, status: number) =>
      new RegExp(
        `^http_requests_total\\{method="${method}",route="${route}",status="${status}"\\} 1$`,
        'm',
      );
    expect(metrics).toMatch(count('POST', '/json', 201));
    expect(metrics).toMatch(count('PUT', '/json/:id', 200));
    expect(metrics).toMatch(count('GET', '/json/:id', 404));
    expect(metrics).toMatch(count('GET', '/health', 200));
    expect(metrics).toMatch(count('GET', 'unmatched', 404));
  });
});
