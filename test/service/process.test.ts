import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, test } from '@jest/globals';
import { request } from './support/http.js';
import { createIsolatedSchema, describeWithPostgres } from './support/postgres.js';
import { killStartedServices, runToExit, spawnService } from './support/process.js';

const TOKEN = 'process-test-token-42';
const dir = mkdtempSync(join(tmpdir(), 'service-process-'));
let files = 0;
const freshDb = () => join(dir, `db-${++files}`, 'documents.sqlite');

afterEach(() => killStartedServices());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const authJson = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' };

describe('starting the service', () => {
  test('without API_TOKEN outside production it prints a generated token once, and that token works', async () => {
    const service = await spawnService({ DATABASE_URL: freshDb() });
    const tokens = [...service.stderr().matchAll(/API_TOKEN=(\S+)/g)].map((m) => m[1]!);
    expect(tokens).toHaveLength(1);
    expect(service.stdout()).not.toContain(tokens[0]);
    const reply = await request(service.url, 'POST', '/json', {
      body: '{"id": "test", "data": {"key": "value"}}',
      headers: { Authorization: `Bearer ${tokens[0]}` },
    });
    expect(reply.status).toBe(201);
  });

  test('with NODE_ENV=production and no API_TOKEN it refuses to start and says why', async () => {
    const { code, output } = await runToExit({ NODE_ENV: 'production', DATABASE_URL: freshDb() });
    expect(code).toBe(1);
    expect(output).toMatch(/API_TOKEN is not set/);
    expect(output).not.toContain('listening');
  });

  test('creates the directory of its SQLite file on start', async () => {
    const file = freshDb();
    const service = await spawnService({ API_TOKEN: TOKEN, DATABASE_URL: file });
    expect((await request(service.url, 'GET', '/ready')).status).toBe(200);
    const { existsSync } = await import('node:fs');
    expect(existsSync(file)).toBe(true);
  });
});

describe('stopping the service', () => {
  test('on SIGTERM it finishes every request in flight, refuses new connections and exits 0', async () => {
    const db = freshDb();
    const service = await spawnService({ API_TOKEN: TOKEN, DATABASE_URL: db });
    const agent = new Agent({ keepAlive: true });
    // Requests whose bodies arrive slowly: the server is inside them when SIGTERM comes.
    const inFlight = Array.from({ length: 5 }, (_, i) => {
      const body = JSON.stringify({ id: `inflight-${i}`, data: { i, pad: 'x'.repeat(200) } });
      let finish: () => void = () => undefined;
      const done = new Promise<number>((resolve, reject) => {
        const req = httpRequest(
          `${service.url}/json`,
          {
            method: 'POST',
            agent,
            headers: { ...authJson, 'Content-Length': Buffer.byteLength(body) },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        req.write(body.slice(0, 20));
        finish = () => req.end(body.slice(20));
      });
      return { done, finish: () => finish() };
    });
    await new Promise((r) => setTimeout(r, 300));
    service.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    await expect(request(service.url, 'GET', '/health')).rejects.toThrow(/ECONNREFUSED/);
    for (const request of inFlight) request.finish();
    expect(await Promise.all(inFlight.map((r) => r.done))).toEqual([201, 201, 201, 201, 201]);
    expect(await service.exited).toEqual({ code: 0, signal: null });
    agent.destroy();

    const again = await spawnService({ API_TOKEN: TOKEN, DATABASE_URL: db });
    for (let i = 0; i < 5; i++) {
      expect((await request(again.url, 'GET', `/json/inflight-${i}`)).json.data).toMatchObject({
        i,
      });
    }
  });

  test('with SHUTDOWN_DELAY it fails /ready at once but keeps serving for the delay, then exits 0', async () => {
    const service = await spawnService({
      API_TOKEN: TOKEN,
      DATABASE_URL: freshDb(),
      SHUTDOWN_DELAY: '2',
    });
    const stoppedAt = Date.now();
    service.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    // A balancer still routing here during its health-check interval gets answers, not refusals.
    expect((await request(service.url, 'GET', '/ready')).status).toBe(503);
    expect((await request(service.url, 'GET', '/health')).status).toBe(200);
    expect(await service.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(2000);
    await expect(request(service.url, 'GET', '/health')).rejects.toThrow(/ECONNREFUSED/);
  });

  test('every acknowledged write survives kill -9', async () => {
    const db = freshDb();
    const service = await spawnService({ API_TOKEN: TOKEN, DATABASE_URL: db });
    const acknowledged = new Map<string, string>();
    for (let i = 0; i < 60; i++) {
      const id = `durable-${i}`;
      const created = await request(service.url, 'POST', '/json', {
        body: JSON.stringify({ id, data: { i } }),
        headers: authJson,
      });
      expect(created.status).toBe(201);
      if (i % 3 === 0) {
        const put = await request(service.url, 'PUT', `/json/${id}`, {
          body: JSON.stringify({ i, updated: true }),
          headers: authJson,
        });
        expect(put.status).toBe(200);
        acknowledged.set(id, put.headers.get('etag')!);
      } else {
        acknowledged.set(id, created.headers.get('etag')!);
      }
    }
    service.child.kill('SIGKILL');
    expect((await service.exited).signal).toBe('SIGKILL');

    const restarted = await spawnService({ API_TOKEN: TOKEN, DATABASE_URL: db });
    for (const [id, etag] of acknowledged) {
      const read = await request(restarted.url, 'GET', `/json/${id}`);
      expect([id, read.status, read.headers.get('etag')]).toEqual([id, 200, etag]);
    }
  });
});

describe('WEB_CONCURRENCY workers on one SQLite file', () => {
  test('run as separate processes, stay correct under concurrent writes, and all exit on SIGTERM', async () => {
    const service = await spawnService(
      { API_TOKEN: TOKEN, DATABASE_URL: freshDb(), WEB_CONCURRENCY: '2' },
      { listeners: 2 },
    );
    expect(new Set(service.listeningPids).size).toBe(2);
    // A fresh connection per request lets the primary hand them to both workers.
    const fresh = { Connection: 'close' };
    const creates = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        request(service.url, 'POST', '/json', {
          body: JSON.stringify({ id: `w-${String(i).padStart(3, '0')}`, data: { i } }),
          headers: { ...authJson, ...fresh },
        }),
      ),
    );
    expect(creates.every((reply) => reply.status === 201)).toBe(true);
    const listed = await request(service.url, 'GET', '/json?limit=1000');
    expect(listed.json.items.filter((item) => item.id.startsWith('w-'))).toHaveLength(100);

    const etag = creates[0]!.headers.get('etag')!;
    const contenders = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        request(service.url, 'PUT', '/json/w-000', {
          body: JSON.stringify({ winner: i }),
          headers: { ...authJson, ...fresh, 'If-Match': etag },
        }),
      ),
    );
    expect(contenders.filter((reply) => reply.status === 200)).toHaveLength(1);
    expect(contenders.filter((reply) => reply.status === 412)).toHaveLength(19);

    // Unconditional patches from both workers all apply: none is lost, none answers 409.
    const patches = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        request(service.url, 'PATCH', '/json/w-001', {
          body: JSON.stringify({ [`p${i}`]: i }),
          headers: { ...authJson, ...fresh, 'Content-Type': 'application/merge-patch+json' },
        }),
      ),
    );
    expect(patches.map((reply) => reply.status)).toEqual(patches.map(() => 200));
    const patched = await request(service.url, 'GET', '/json/w-001');
    expect(Object.keys(patched.json.data)).toHaveLength(51);
    expect(patched.json.version).toBe(51);

    service.child.kill('SIGTERM');
    expect(await service.exited).toEqual({ code: 0, signal: null });
  });
  test('report the whole instance on /metrics, whichever worker a scrape reaches', async () => {
    const service = await spawnService(
      { API_TOKEN: TOKEN, DATABASE_URL: freshDb(), WEB_CONCURRENCY: '2' },
      { listeners: 2 },
    );
    // A fresh connection per request lets the primary hand them to both workers.
    const fresh = { Connection: 'close' };
    for (let i = 0; i < 30; i++) {
      expect((await request(service.url, 'GET', '/health', { headers: fresh })).status).toBe(200);
    }
    const healthCount =
      /^http_requests_total\{method="GET",route="\/health",status="200"\} (\d+)$/m;
    for (let scrape = 0; scrape < 6; scrape++) {
      const reply = await request(service.url, 'GET', '/metrics', { headers: fresh });
      expect([
        scrape,
        healthCount.exec(reply.text)?.[1],
        /^app_workers (\d+)$/m.exec(reply.text)?.[1],
      ]).toEqual([scrape, '30', '2']);
    }
    service.child.kill('SIGTERM');
    expect(await service.exited).toEqual({ code: 0, signal: null });
  });
});

describeWithPostgres('two instances sharing one PostgreSQL', () => {
  test('see each other’s writes and refuse each other’s stale versions', async () => {
    const schema = await createIsolatedSchema();
    try {
      const [a, b] = await Promise.all([
        spawnService({ API_TOKEN: TOKEN, DATABASE_URL: schema.url, INSTANCE_ID: 'a' }),
        spawnService({ API_TOKEN: TOKEN, DATABASE_URL: schema.url, INSTANCE_ID: 'b' }),
      ]);
      expect(a.port).not.toBe(b.port);
      expect((await request(a.url, 'GET', '/ready')).json.storage).toBe('postgres');

      const created = await request(a.url, 'POST', '/json', {
        body: '{"id": "shared", "data": {"from": "a"}}',
        headers: authJson,
      });
      expect(created.status).toBe(201);
      const readOnB = await request(b.url, 'GET', '/json/shared');
      expect(readOnB.json.data).toEqual({ from: 'a' });
      expect(readOnB.headers.get('etag')).toBe(created.headers.get('etag'));

      const putOnB = await request(b.url, 'PUT', '/json/shared', {
        body: '{"from": "b"}',
        headers: { ...authJson, 'If-Match': created.headers.get('etag')! },
      });
      expect(putOnB.status).toBe(200);
      const staleOnA = await request(a.url, 'PUT', '/json/shared', {
        body: '{"from": "a again"}',
        headers: { ...authJson, 'If-Match': created.headers.get('etag')! },
      });
      expect(staleOnA.status).toBe(412);
      expect((await request(a.url, 'GET', '/json/shared')).json.data).toEqual({ from: 'b' });
      expect((await request(a.url, 'GET', '/health')).json.instance).toBe('a');
      expect((await request(b.url, 'GET', '/health')).json.instance).toBe('b');
    } finally {
      killStartedServices();
      await schema.drop();
    }
  });
});
