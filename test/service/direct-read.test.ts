import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createApp, createRequestListener, type AppOptions } from '../../service/app.js';
import { withDirectReads } from '../../service/direct-read.js';
import { Metrics } from '../../service/metrics.js';
import { RequestFrames } from '../../service/request-frame.js';
import type { Lifecycle } from '../../service/routes/system.js';
import { SqliteStore } from '../../service/store/sqlite.js';
import type { DocumentStore } from '../../service/store/index.js';
import { capturedLogger, request, type Reply } from './support/http.js';

const TOKEN = 'direct-read-token-0123456789';

async function listen(listener: RequestListener): Promise<{ server: Server; url: string }> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Status, headers and body as a client sees them, minus the Date header, which moves on. */
function seen(reply: Reply): { status: number; headers: Record<string, string>; text: string } {
  const headers: Record<string, string> = {};
  reply.headers.forEach((value, name) => {
    if (name !== 'date') headers[name] = value;
  });
  return { status: reply.status, headers, text: reply.text };
}

describe('reads answered ahead of Koa (direct-read.ts)', () => {
  const store = new SqliteStore(':memory:');
  const lifecycle: Lifecycle = { shuttingDown: false };
  const log = capturedLogger('debug');
  const options: AppOptions = {
    store,
    logger: log.logger,
    apiTokens: [TOKEN],
    bodyLimitBytes: 4096,
    appVersion: 'v3',
    instanceId: 'i-direct',
    lifecycle,
  };
  const servers: Server[] = [];
  let direct: string;
  let koaOnly: string;
  let etag: string;

  beforeAll(async () => {
    const withDirect = await listen(createRequestListener(options));
    const koa = createApp(options).callback();
    const plain = await listen((req, res) => void koa(req, res));
    servers.push(withDirect.server, plain.server);
    direct = withDirect.url;
    koaOnly = plain.url;
    const created = await request(direct, 'POST', '/json', {
      body: JSON.stringify({ id: 'doc-1', data: { name: 'Ünïcode ✓', n: [1, 2, 3] } }),
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
    });
    expect(created.status).toBe(201);
    etag = created.headers.get('etag')!;
  });
  afterAll(async () => {
    for (const server of servers) await new Promise((resolve) => server.close(resolve));
    await store.close();
  });

  const cases: [string, string, string, () => Record<string, string>][] = [
    ['a document', 'GET', '/json/doc-1', () => ({})],
    ['a document by HEAD', 'HEAD', '/json/doc-1', () => ({})],
    ['a document with a query string', 'GET', '/json/doc-1?fields=all', () => ({})],
    ['a percent-encoded id', 'GET', '/json/doc%2D1', () => ({})],
    [
      'If-None-Match naming the current tag',
      'GET',
      '/json/doc-1',
      () => ({ 'If-None-Match': etag }),
    ],
    [
      'If-None-Match naming it weakly',
      'GET',
      '/json/doc-1',
      () => ({ 'If-None-Match': `W/${etag}` }),
    ],
    ['If-None-Match listing it', 'GET', '/json/doc-1', () => ({ 'If-None-Match': `"x", ${etag}` })],
    ['If-None-Match: *', 'GET', '/json/doc-1', () => ({ 'If-None-Match': '*' })],
    ['If-None-Match: * by HEAD', 'HEAD', '/json/doc-1', () => ({ 'If-None-Match': '*' })],
    ['a stale If-None-Match', 'GET', '/json/doc-1', () => ({ 'If-None-Match': '"1-stale"' })],
    ['a missing document', 'GET', '/json/nothing-here', () => ({})],
    ['an invalid id', 'GET', '/json/a%2Fb', () => ({})],
    ['a dot-dot id', 'GET', '/json/%2E%2E', () => ({})],
    ['broken percent-encoding', 'GET', '/json/%E0%A4%A', () => ({})],
    ['a trailing slash', 'GET', '/json/doc-1/', () => ({})],
    ['an unsupported method', 'POST', '/json/doc-1', () => ({})],
    ['a write without a token', 'DELETE', '/json/doc-1', () => ({})],
  ];

  test.each(cases)(
    'answers %s exactly as the Koa route does',
    async (_name, method, path, headers) => {
      const sent = { 'X-Request-Id': 'same-id-on-both', ...headers() };
      const [fast, koa] = await Promise.all([
        request(direct, method, path, { headers: sent }),
        request(koaOnly, method, path, { headers: sent }),
      ]);
      expect(seen(fast)).toEqual(seen(koa));
    },
  );

  test('answers with the same headers while draining, telling the client to reconnect', async () => {
    lifecycle.shuttingDown = true;
    try {
      const sent = { 'X-Request-Id': 'draining' };
      const [fast, koa] = await Promise.all([
        request(direct, 'GET', '/json/doc-1', { headers: sent }),
        request(koaOnly, 'GET', '/json/doc-1', { headers: sent }),
      ]);
      expect(fast.headers.get('connection')).toBe('close');
      expect(seen(fast)).toEqual(seen(koa));
    } finally {
      lifecycle.shuttingDown = false;
    }
  });

  test('gives a new request id when the caller sends none, and logs the read at debug level', async () => {
    const reply = await request(direct, 'GET', '/json/doc-1');
    const id = reply.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const logged = log.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logged).toContainEqual(
      expect.objectContaining({ reqId: id, method: 'GET', path: '/json/doc-1', status: 200 }),
    );
  });

  test('counts its reads in the same /metrics as the Koa routes', async () => {
    const before = await request(direct, 'GET', '/metrics');
    const count = (text: string, status: number) =>
      Number(
        new RegExp(
          `^http_requests_total\\{method="GET",route="/json/:id",status="${status}"\\} (\\d+)$`,
          'm',
        ).exec(text)?.[1] ?? 0,
      );
    await request(direct, 'GET', '/json/doc-1');
    await request(direct, 'GET', '/json/doc-1', { headers: { 'If-None-Match': etag } });
    await request(direct, 'GET', '/json/nothing-here');
    const after = await request(direct, 'GET', '/metrics');
    expect(count(after.text, 200) - count(before.text, 200)).toBe(1);
    expect(count(after.text, 304) - count(before.text, 304)).toBe(1);
    expect(count(after.text, 404) - count(before.text, 404)).toBe(1);
  });
});

describe('what the direct read hands on to the app', () => {
  const store = new SqliteStore(':memory:');
  let failing = false;
  const flaky: DocumentStore = Object.assign(Object.create(store) as DocumentStore, {
    get: (id: string) => (failing ? Promise.reject(new Error('store down')) : store.get(id)),
  });
  const handedOn: string[] = [];
  let server: Server;
  let url: string;

  beforeAll(async () => {
    await store.create('present', '{"a":1}');
    const frames = new RequestFrames(
      new Metrics({ version: 'v1', instance: 'i-1' }),
      capturedLogger('info').logger,
      { shuttingDown: false },
      'i-1',
    );
    const fallback: RequestListener = (req, res) => {
      handedOn.push(`${req.method} ${req.url}`);
      res.writeHead(299).end('from the app');
    };
    ({ server, url } = await listen(withDirectReads(fallback, { store: flaky, frames })));
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await store.close();
  });

  test('answers GET and HEAD of an existing document itself', async () => {
    handedOn.length = 0;
    expect((await request(url, 'GET', '/json/present')).json).toMatchObject({ data: { a: 1 } });
    expect((await request(url, 'HEAD', '/json/present')).status).toBe(200);
    expect(handedOn).toEqual([]);
  });

  test('hands on every other request untouched, so the app renders every error', async () => {
    handedOn.length = 0;
    const requests: [string, string][] = [
      ['GET', '/json/absent'],
      ['GET', '/json/..'],
      ['GET', '/json/bad%ZZ'],
      ['GET', '/json'],
      ['GET', '/health'],
      ['PUT', '/json/present'],
      ['OPTIONS', '/json/present'],
    ];
    for (const [method, path] of requests) {
      const reply = await request(url, method, path, { body: method === 'PUT' ? '{}' : undefined });
      expect([method, path, reply.status, reply.text]).toEqual([method, path, 299, 'from the app']);
    }
    expect(handedOn).toEqual(requests.map(([method, path]) => `${method} ${path}`));
  });

  test('hands a read to the app when the store fails, so the app answers the 500', async () => {
    handedOn.length = 0;
    failing = true;
    try {
      expect((await request(url, 'GET', '/json/present')).status).toBe(299);
    } finally {
      failing = false;
    }
    expect(handedOn).toEqual(['GET /json/present']);
  });
});
