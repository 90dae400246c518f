import type Router from '@koa/router';
import { Problem, STORAGE_RETRY_AFTER_SECONDS } from '../errors.js';
import type { Logger } from '../logger.js';
import { renderMetrics, type MetricsSnapshot } from '../metrics.js';
import { openApiDocument } from '../openapi.js';
import { WriteReadiness } from '../readiness.js';
import type { DocumentStore } from '../store/index.js';

/** Shared with server.ts, which flips it on SIGTERM so the load balancer stops sending traffic. */
export interface Lifecycle {
  shuttingDown: boolean;
}

export interface SystemRoutesOptions {
  store: DocumentStore;
  logger: Logger;
  gatherMetrics: () => Promise<MetricsSnapshot[]>;
  lifecycle: Lifecycle;
  appVersion: string;
  instanceId: string;
}

/** Registers /health, /ready, /metrics and /openapi.json on the router. */
export function registerSystemRoutes(router: Router, options: SystemRoutesOptions): void {
  const { store, gatherMetrics, lifecycle } = options;
  const readiness = new WriteReadiness({ store, logger: options.logger });
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
    // Ready means a write commits now; the cause of a failure goes to the log (readiness.ts),
    // never to this public answer.
    const failure = await readiness.check();
    if (failure) {
      throw new Problem(
        503,
        failure.kind === 'full' ? 'storage-full' : 'storage-unavailable',
        failure.kind === 'full'
          ? 'The storage volume is full; this instance cannot accept writes.'
          : 'The storage cannot accept writes right now.',
        { 'Retry-After': String(STORAGE_RETRY_AFTER_SECONDS) },
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
