import { mkdtempSync, rmSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createServer, get, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import Koa from 'koa';
import Router from '@koa/router';
import { DocsAssets } from '../../service/docs-assets.js';
import { renderFailure } from '../../service/errors.js';
import { registerDocsRoutes } from '../../service/routes/docs.js';
import { startServer, type RunningServer } from '../../service/server.js';
import { SqliteStore } from '../../service/store/sqlite.js';
import { capturedLogger, request } from './support/http.js';

const dir = mkdtempSync(join(tmpdir(), 'docs-'));
let server: RunningServer;

beforeAll(async () => {
  server = await startServer({
    store: new SqliteStore(join(dir, 'docs.sqlite')),
    logger: capturedLogger('silent').logger,
    port: 0,
    host: '127.0.0.1',
    apiTokens: ['docs-token'],
    bodyLimitBytes: 2048,
    appVersion: 'v1',
    instanceId: 'i-docs',
  });
});
afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The bytes of an answer as sent: request() decodes text, and fetch would inflate gzip. */
function rawGet(url: string, headers: Record<string, string>) {
  return new Promise<{ headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
    get(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

/** The URLs the page loads, as written in its HTML. */
function linkedUrls(html: string): string[] {
  return [...html.matchAll(/(?:href|src)="([^"]*)"/g)].map((m) => m[1]!);
}

describe('GET /docs', () => {
  test('is an HTML page whose every URL is relative, revalidated on each visit', async () => {
    const page = await request(server.url, 'GET', '/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(page.headers.get('content-security-policy')).toContain("connect-src 'self'");
    const urls = linkedUrls(page.text);
    expect(urls.length).toBeGreaterThanOrEqual(4);
    for (const url of urls) expect(url).toMatch(/^(docs\/[\w-]+\/[\w.-]+|openapi\.json)$/);

    const again = await request(server.url, 'GET', '/docs', {
      headers: { 'If-None-Match': page.headers.get('etag')! },
    });
    expect(again.status).toBe(304);
  });

  test('serves each asset it links under its content hash, cacheable for good, gzipped on request', async () => {
    const page = await request(server.url, 'GET', '/docs');
    for (const url of linkedUrls(page.text).filter((u) => u.startsWith('docs/'))) {
      const plain = await request(server.url, 'GET', `/${url}`);
      expect({ url, status: plain.status }).toEqual({ url, status: 200 });
      expect(plain.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(plain.headers.get('vary')).toBe('Accept-Encoding');
      expect(plain.headers.get('content-encoding')).toBeNull();

      const identity = await rawGet(`${server.url}/${url}`, {});
      const zipped = await rawGet(`${server.url}/${url}`, { 'Accept-Encoding': 'gzip, br' });
      if (url.endsWith('.png')) {
        // Already compressed: gzip would only add bytes.
        expect(zipped.headers['content-encoding']).toBeUndefined();
        expect(zipped.body.equals(identity.body)).toBe(true);
      } else {
        expect(zipped.headers['content-encoding']).toBe('gzip');
        expect(zipped.body.length).toBeLessThan(identity.body.length);
        expect(gunzipSync(zipped.body).equals(identity.body)).toBe(true);
      }
      expect(identity.body.length).toBe(Number(identity.headers['content-length']));

      const revalidated = await request(server.url, 'GET', `/${url}`, {
        headers: { 'If-None-Match': plain.headers.get('etag')! },
      });
      expect(revalidated.status).toBe(304);
    }
  });

  test('answers an asset asked for under an old hash with the current file, not cacheable', async () => {
    const reply = await request(server.url, 'GET', '/docs/0ld-hash/swagger-ui.css');
    expect(reply.status).toBe(200);
    expect(reply.headers.get('cache-control')).toBe('no-cache');
    expect(reply.headers.get('content-type')).toBe('text/css; charset=utf-8');
  });

  test('sends /docs/ to ../docs, where its relative URLs resolve', async () => {
    const reply = await request(server.url, 'GET', '/docs/?x=1');
    expect(reply.status).toBe(301);
    expect(reply.headers.get('location')).toBe('../docs?x=1');
  });

  test('answers a file it does not serve with a 404 problem', async () => {
    const reply = await request(server.url, 'GET', '/docs/abc/package.json');
    expect(reply.status).toBe(404);
    expect(reply.headers.get('content-type')).toBe('application/problem+json');
  });
});

describe('the docs assets', () => {
  let broken: Server;
  let url = '';
  let swaggerCopy = '';
  const assets = () => new DocsAssets(swaggerCopy);

  beforeAll(async () => {
    const installed = dirname(
      createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'),
    );
    swaggerCopy = await mkdtemp(join(tmpdir(), 'swagger-ui-'));
    await cp(join(installed, 'swagger-ui.css'), join(swaggerCopy, 'swagger-ui.css'));
    await cp(join(installed, 'favicon-32x32.png'), join(swaggerCopy, 'favicon-32x32.png'));
    // swagger-ui-bundle.js is missing, as if the package were half installed.
    const app = new Koa();
    const router = new Router();
    app.use(async (ctx, next) => {
      try {
        await next();
      } catch (error) {
        renderFailure(ctx, error, capturedLogger('silent').logger);
      }
    });
    registerDocsRoutes(router, { assets: assets() });
    app.use(router.routes());
    const handle = app.callback();
    broken = createServer((req, res) => void handle(req, res)).listen(0, '127.0.0.1');
    await new Promise((resolve) => broken.once('listening', resolve));
    url = `http://127.0.0.1:${(broken.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => broken.close(resolve));
    await rm(swaggerCopy, { recursive: true, force: true });
  });

  test('missing from the installation make /docs a 500 problem, and a later request tries again', async () => {
    const first = await request(url, 'GET', '/docs');
    expect(first.status).toBe(500);
    expect(first.json.type).toBe('urn:challenge-deploy:problem:internal');
    await expect(assets().all()).rejects.toThrow(/swagger-ui-bundle\.js/);

    const installed = dirname(
      createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'),
    );
    await cp(join(installed, 'swagger-ui-bundle.js'), join(swaggerCopy, 'swagger-ui-bundle.js'));
    const second = await request(url, 'GET', '/docs');
    expect(second.status).toBe(200);
  });

  test('are compressed losslessly', async () => {
    for (const asset of (await assets().all()).values()) {
      if (asset.gzipped) expect(gunzipSync(asset.gzipped).equals(asset.body)).toBe(true);
    }
  });
});
