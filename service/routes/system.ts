import type Router from '@koa/router';
import { Problem } from '../errors.js';
import { renderMetrics, type MetricsSnapshot } from '../metrics.js';
import { openApiDocument } from '../openapi.js';
import type { DocumentStore } from '../store/index.js';

/** Shared with server.ts, which flips it on SIGTERM so the load balancer stops sending traffic. */
export interface Lifecycle {
  shuttingDown: boolean;
}

export interface SystemRoutesOptions {
  store: DocumentStore;
  gatherMetrics: () => Promise<MetricsSnapshot[]>;
  lifecycle: Lifecycle;
  appVersion: string;
  instanceId: string;
}

const READY_TIMEOUT_MS = 2000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Registers /health, /ready, /metrics and /openapi.json on the router. */
export function registerSystemRoutes(router: Router, options: SystemRoutesOptions): void {
  const { store, gatherMetrics, lifecycle } = options;
  // Fixed at start: the deploy's health gate compares `version`, and it must never touch storage.
  const health = JSON.stringify({
    status: 'ok',
    version: options.appVersion,
    instance: options.instanceId,
  });

  router.get('/health', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'application/json';
    ctx.body = health;
  });

  router.get('/ready', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    if (lifecycle.shuttingDown) {
      throw new Problem(503, 'shutting-down', 'This instance is shutting down.');
    }
    try {
      await withTimeout(store.ping(), READY_TIMEOUT_MS);
    } catch (error) {
      throw new Problem(
        503,
        'storage-unavailable',
        `Storage does not answer: ${(error as Error).message}`,
      );
    }
    ctx.body = { status: 'ready', storage: store.kind };
  });

  router.get('/metrics', async (ctx) => {
    ctx.type = 'text/plain; version=0.0.4; charset=utf-8';
    ctx.body = renderMetrics(await gatherMetrics());
  });

  router.get('/openapi.json', (ctx) => {
    ctx.body = openApiDocument(options.appVersion);
  });
}
