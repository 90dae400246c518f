import type { RequestListener } from 'node:http';
import Koa from 'koa';
import Router, { type RouterContext } from '@koa/router';
import { requireBearerToken } from './auth.js';
import { renderFailure, renderImplicitProblem } from './errors.js';
import type { Logger } from './logger.js';
import { Metrics, type MetricsSnapshot } from './metrics.js';
import { withDirectReads } from './direct-read.js';
import { RequestFrames } from './request-frame.js';
import { registerDocsRoutes } from './routes/docs.js';
import { registerDocumentRoutes } from './routes/documents.js';
import { registerSystemRoutes, type Lifecycle } from './routes/system.js';
import type { DocumentStore } from './store/index.js';
import { boundUnreadBody } from './unread-body.js';

export interface AppOptions {
  store: DocumentStore;
  logger: Logger;
  apiTokens: readonly string[];
  bodyLimitBytes: number;
  appVersion: string;
  instanceId: string;
  lifecycle?: Lifecycle;
  /** Where this process counts its requests; by default a new Metrics of its own. */
  metrics?: Metrics;
  /**
   * The figures /metrics reports: by default this process's alone; under WEB_CONCURRENCY,
   * every worker's (cluster-metrics.ts).
   */
  gatherMetrics?: () => Promise<MetricsSnapshot[]>;
}

/** The Koa application for a store and a configuration; it neither listens nor reads the environment. */
export function createApp(options: AppOptions): Koa {
  return buildApp(options, framesFor(options));
}

/**
 * The node:http listener the server runs: the Koa app, with reads of a document answered
 * directly ahead of it (direct-read.ts). Both share one RequestFrames, so one set of metrics.
 * A body left unread by an early answer is drained within bounds (unread-body.ts).
 */
export function createRequestListener(options: AppOptions): RequestListener {
  const frames = framesFor(options);
  const koa = buildApp(options, frames).callback();
  const listener = withDirectReads((req, res) => void koa(req, res), {
    store: options.store,
    frames,
  });
  return (req, res) => {
    // Only a request with a body can be answered before its body has arrived.
    if (req.headers['content-length'] !== undefined || req.headers['transfer-encoding']) {
      boundUnreadBody(req, res);
    }
    listener(req, res);
  };
}

function framesFor(options: AppOptions): RequestFrames {
  const metrics =
    options.metrics ?? new Metrics({ version: options.appVersion, instance: options.instanceId });
  return new RequestFrames(
    metrics,
    options.logger,
    options.lifecycle ?? { shuttingDown: false },
    options.instanceId,
  );
}

function buildApp(options: AppOptions, frames: RequestFrames): Koa {
  const { store, logger } = options;
  const app = new Koa();
  // Every error is answered and logged by renderFailure; Koa's own printer would only repeat it.
  app.silent = true;

  // One frame around every request: request id, problem documents for every failure, the
  // drain signal, metrics and the debug access log. One middleware instead of five keeps the
  // per-request cost of Koa's promise chain down (see bench/service.ts).
  app.use(async function everyRequest(ctx, next) {
    const frame = frames.open(ctx.get('X-Request-Id'));
    ctx.state.requestId = frame.id;
    ctx.set('X-Request-Id', frame.id);
    if (frames.instanceHeader) ctx.set('X-Instance-Id', frames.instanceHeader);
    try {
      await next();
      renderImplicitProblem(ctx);
    } catch (error) {
      renderFailure(ctx, error, logger);
    }
    if (frames.draining) ctx.set('Connection', 'close');
    // The pattern the router matched (its public routerPath), never the raw path.
    const { routerPath } = ctx as typeof ctx & Pick<RouterContext, 'routerPath'>;
    frames.close(frame, {
      method: ctx.method,
      url: ctx.url,
      route: routerPath ?? 'unmatched',
      status: ctx.status,
    });
  });
  const router = new Router();
  registerSystemRoutes(router, {
    store,
    logger,
    gatherMetrics: options.gatherMetrics ?? (() => Promise.resolve([frames.metrics.snapshot()])),
    lifecycle: frames.lifecycle,
    appVersion: options.appVersion,
    instanceId: options.instanceId,
  });
  registerDocsRoutes(router);
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
