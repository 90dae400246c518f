// /docs in a real browser: Debian's Chromium driven by playwright-core. The page must list every
// operation of the document, let a visitor authorize and try the API, and load nothing from any
// other host, at a host's root and under a path prefix a proxy strips.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startServer, type RunningServer } from '../../service/server.js';
import { SqliteStore } from '../../service/store/sqlite.js';
import { capturedLogger, request } from './support/http.js';

const CHROMIUM = '/usr/bin/chromium';
/** Without the background-networking flags Chromium calls Google's hosts at every start. */
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const TOKEN = 'browser-test-token';
/** Where the screenshots go (gitignored); CI keeps them as artifacts. */
const ARTIFACTS = join(import.meta.dirname, '..', '..', 'artifacts', 'docs');
const PREFIX = '/api';

interface Operation {
  method: string;
  path: string;
  operationId: string;
  tag: string;
}

function describeWithChromium(name: string, body: () => void): void {
  if (existsSync(CHROMIUM)) {
    describe(name, body);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      test('has Chromium, because CI=true requires this suite to run', () => {
        throw new Error(`${CHROMIUM} is missing; CI=true requires it (.ci/run installs chromium)`);
      });
    });
  } else {
    console.warn(
      `\n!!! SKIPPED ${name}: ${CHROMIUM} is missing.\n` +
        '!!! apt-get install -y chromium (CI=true turns this skip into a failure).\n',
    );
    describe.skip(`${name} (no Chromium)`, () => {
      test('needs Chromium', () => undefined);
    });
  }
}

/** A reverse proxy that serves the service under PREFIX, stripping it, as nginx would. */
function prefixProxy(target: string): Promise<Server> {
  const { hostname, port } = new URL(target);
  const proxy = createServer((req, res) => {
    if (!req.url!.startsWith(`${PREFIX}/`)) {
      res.writeHead(404).end('outside the prefix');
      return;
    }
    const upstream = httpRequest(
      {
        host: hostname,
        port,
        method: req.method,
        path: req.url!.slice(PREFIX.length),
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  return new Promise((resolve) => proxy.listen(0, '127.0.0.1', () => resolve(proxy)));
}

describeWithChromium('/docs in Chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'docs-browser-'));
  let server: RunningServer;
  let proxy: Server;
  let browser: Browser;
  const operations: Operation[] = [];

  beforeAll(async () => {
    server = await startServer({
      store: new SqliteStore(join(dir, 'docs.sqlite')),
      logger: capturedLogger('silent').logger,
      port: 0,
      host: '127.0.0.1',
      apiTokens: [TOKEN],
      bodyLimitBytes: 65536,
      appVersion: 'v7',
      instanceId: 'i-browser',
    });
    proxy = await prefixProxy(server.url);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
    });
    const spec = (await request(server.url, 'GET', '/openapi.json')).json as unknown as {
      paths: Record<string, Record<string, { operationId?: string; tags?: string[] }>>;
    };
    for (const [path, item] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (method === 'parameters') continue;
        operations.push({ method, path, operationId: op.operationId!, tag: op.tags![0]! });
      }
    }
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => proxy?.close(resolve));
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * A fresh page that may talk to `origin` only: any other request is recorded and refused, as
   * are console errors (a Content-Security-Policy violation is one) and uncaught exceptions.
   */
  async function isolatedPage(origin: string) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const foreign: string[] = [];
    const problems: string[] = [];
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (new URL(url).origin === origin) return route.continue();
      foreign.push(url);
      return route.abort('blockedbyclient');
    });
    const page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    return { page, context, foreign, problems };
  }

  function operationBlock(page: Page, op: Operation) {
    return page.locator(`#operations-${op.tag}-${op.operationId}`);
  }

  async function tryOperation(page: Page, op: Operation) {
    const block = operationBlock(page, op);
    await block.locator('.opblock-summary').first().click();
    await block.locator('button.try-out__btn').click();
    return block;
  }

  for (const base of ['', PREFIX]) {
    test(`at ${base || 'the root'}: lists every operation, authorizes, creates and reads a document, and calls no other host`, async () => {
      const origin = base
        ? `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`
        : server.url;
      const { page, context, foreign, problems } = await isolatedPage(origin);
      try {
        const response = await page.goto(`${origin}${base}/docs`);
        expect(response?.status()).toBe(200);
        await page.locator('.opblock').first().waitFor({ timeout: 30_000 });

        // Every operation of the document, by method and path.
        const listed = await page
          .locator('.opblock')
          .evaluateAll((blocks) =>
            blocks.map(
              (block) =>
                `${block.querySelector('.opblock-summary-method')?.textContent?.toLowerCase()} ${block.querySelector('.opblock-summary-path')?.getAttribute('data-path')}`,
            ),
          );
        expect(listed.sort()).toEqual(operations.map((op) => `${op.method} ${op.path}`).sort());
        if (!base) await page.screenshot({ path: join(ARTIFACTS, 'first-visit.png') });

        // Authorize with a token, as a visitor pastes it.
        await page.locator('.auth-wrapper button.authorize').click();
        await page.locator('.modal-ux input').fill(TOKEN);
        await page.locator('.modal-ux .auth-btn-wrapper button.authorize').click();
        await page.locator('.modal-ux button.btn-done').click();

        // POST /json from the page.
        const id = `from-the-browser${base.replace('/', '-')}`;
        const create = operations.find((op) => op.operationId === 'createDocument')!;
        const createBlock = await tryOperation(page, create);
        await createBlock
          .locator('textarea.body-param__text')
          .fill(JSON.stringify({ id, data: { seenIn: 'Chromium' } }));
        const sent = page.waitForRequest(
          (r) => r.method() === 'POST' && r.url().endsWith(`${base}/json`),
        );
        await createBlock.locator('button.execute').click();
        expect((await sent).headers()['authorization']).toBe(`Bearer ${TOKEN}`);
        const createdStatus = createBlock.locator(
          '.live-responses-table tr.response .response-col_status',
        );
        await expect(createdStatus.first().textContent({ timeout: 30_000 })).resolves.toContain(
          '201',
        );
        await expect(
          createBlock
            .locator('.live-responses-table tr.response .response-col_description')
            .first()
            .textContent(),
        ).resolves.toContain('"seenIn": "Chromium"');
        // It really happened: the service has it.
        expect((await request(server.url, 'GET', `/json/${id}`)).json.data).toEqual({
          seenIn: 'Chromium',
        });

        // GET /json/{id} from the page.
        const read = operations.find((op) => op.operationId === 'getDocument')!;
        const readBlock = await tryOperation(page, read);
        await readBlock.locator('tr[data-param-name="id"] input').fill(id);
        await readBlock.locator('button.execute').click();
        const readStatus = readBlock.locator(
          '.live-responses-table tr.response .response-col_status',
        );
        await expect(readStatus.first().textContent({ timeout: 30_000 })).resolves.toContain('200');
        const body = await readBlock
          .locator('.live-responses-table tr.response .response-col_description')
          .first()
          .textContent();
        expect(body).toContain(`"id": "${id}"`);
        expect(body).toContain('"version": 1');
        if (!base) await readBlock.screenshot({ path: join(ARTIFACTS, 'read-tried-out.png') });

        expect(foreign).toEqual([]);
        expect(problems).toEqual([]);
      } finally {
        await context.close();
      }
    }, 120_000);
  }
});
