import Koa from 'koa';
import Router from '@koa/router';
import { requireBearerToken } from './auth.js';
import { problemResponses } from './errors.js';
import type { Logger } from './logger.js';
import { Metrics } from './metrics.js';
import { requestId } from './request-id.js';
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
  const app = new Koa();
  // Every error is answered and logged by problemResponses; Koa's own printer would only repeat it.
  app.silent = true;

  app.use(requestId);
  app.use(metrics.middleware());
  app.use(async (ctx, next) => {
    const started = performance.now();
    await next();
    // One debug line per request: at info level the log would cost a large part of the throughput.
    if (ctx.status >= 500) {
      logger.warn(
        {
          reqId: ctx.state.requestId as string,
          method: ctx.method,
          url: ctx.url,
          status: ctx.status,
        },
        'request failed',
      );
    } else if (logger.isLevelEnabled('debug')) {
      logger.debug(
        {
          reqId: ctx.state.requestId as string,
          method: ctx.method,
          url: ctx.url,
          status: ctx.status,
          ms: Math.round((performance.now() - started) * 100) / 100,
        },
        'request',
      );
    }
  });
  app.use(problemResponses(logger));
  app.use(async (ctx, next) => {
    // While draining, tell keep-alive clients to reconnect (to another instance) after this answer.
    if (lifecycle.shuttingDown) ctx.set('Connection', 'close');
    await next();
  });

  const router = new Router();
  registerSystemRoutes(router, {
    store,
    metrics,
    lifecycle,
    appVersion: options.appVersion,
    instanceId: options.instanceId,
  });
  registerDocumentRoutes(router, {
    store,
    bodyLimitBytes: options.bodyLimitBytes,
    authenticate: requireBearerToken(options.apiTokens),
  });
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
