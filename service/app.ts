import Koa from 'koa';
import Router from '@koa/router';
import { requireBearerToken } from './auth.js';
import { renderFailure, renderImplicitProblem } from './errors.js';
import type { Logger } from './logger.js';
import { Metrics } from './metrics.js';
import { requestIdFor } from './request-id.js';
import { registerDocumentRoutes } from './routes/documents.js';
import { registerSystemRoutes, type Lifecycle } from './routes/system.js';
import type { DocumentStore } from './store/index.js';

export interface AppOptions {
  store: DocumentStore;
  logger: Logger;
  apiTokens: readonly string[];
  bodyLimitBytes: number;
  appVersion: string;
  instanceId: string;
  lifecycle?: Lifecycle;
}

/** The Koa application for a store and a configuration; it neither listens nor reads the environment. */
export function createApp(options: AppOptions): Koa {
  const { store, logger } = options;
  const lifecycle = options.lifecycle ?? { shuttingDown: false };
  const metrics = new Metrics({ version: options.appVersion, instance: options.instanceId });
  // Which instance answered, on every response: behind a load balancer it is how a client (and
  // npm run check:balance) tells the instances apart. Left out if it cannot be a header value.
  const instanceHeader = /^[\x20-\x7e]{1,256}$/.test(options.instanceId)
    ? options.instanceId
    : undefined;
  const app = new Koa();
  // Every error is answered and logged by renderFailure; Koa's own printer would only repeat it.
  app.silent = true;

  // One frame around every request: request id, problem documents for every failure, the
  // drain signal, metrics and the debug access log. One middleware instead of five keeps the
  // per-request cost of Koa's promise chain down (see bench/service.ts).
  app.use(async function everyRequest(ctx, next) {
    const started = process.hrtime.bigint();
    const id = requestIdFor(ctx.get('X-Request-Id'));
    ctx.state.requestId = id;
    ctx.set('X-Request-Id', id);
    if (instanceHeader) ctx.set('X-Instance-Id', instanceHeader);
    try {
      await next();
      renderImplicitProblem(ctx);
    } catch (error) {
      renderFailure(ctx, error, logger);
    }
    // While draining, tell keep-alive clients to reconnect (to another instance) after this answer.
    if (lifecycle.shuttingDown) ctx.set('Connection', 'close');
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const route = (ctx as typeof ctx & { _matchedRoute?: unknown })._matchedRoute;
    metrics.record(
      ctx.method,
      typeof route === 'string' ? route : 'unmatched',
      ctx.status,
      seconds,
    );
    // Requests are logged at debug level only: one line per request measured 15-25 µs of CPU,
    // a third more per read. Failures are always logged (renderFailure logs 500s with the error).
    if (logger.isLevelEnabled('debug')) {
      logger.debug(
        { reqId: id, method: ctx.method, url: ctx.url, status: ctx.status, ms: seconds * 1000 },
        'request',
      );
    }
  });
  const router = new Router();
  registerSystemRoutes(router, {
    store,
    metrics,
    lifecycle,
    appVersion: options.appVersion,
    instanceId: options.instanceId,
  });
  const documentShortcut = registerDocumentRoutes(router, {
    store,
    bodyLimitBytes: options.bodyLimitBytes,
    authenticate: requireBearerToken(options.apiTokens),
  });
  app.use(documentShortcut);
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
