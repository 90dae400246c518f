import { STATUS_CODES } from 'node:http';
import type { Context } from 'koa';
import type { Logger } from './logger.js';
import { isStorageFailure, type StorageFailure } from './store/failure.js';

/**
 * An error the client should see, rendered as RFC 9457 application/problem+json. `kind` becomes
 * the problem `type`, a stable identifier clients can switch on.
 */
export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly kind: string,
    readonly detail: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }
}

export const PROBLEM_TYPE_PREFIX = 'urn:challenge-deploy:problem:';

/** Problems for statuses that arise without a route throwing (unknown path, wrong method). */
const IMPLICIT: Record<number, { kind: string; detail: (ctx: Context) => string }> = {
  404: { kind: 'not-found', detail: (ctx) => `No route matches ${ctx.method} ${ctx.path}.` },
  405: {
    kind: 'method-not-allowed',
    detail: (ctx) => `${ctx.method} is not allowed on ${ctx.path}; see the Allow header.`,
  },
  501: {
    kind: 'not-implemented',
    detail: (ctx) => `The method ${ctx.method} is not implemented by this service.`,
  },
};

export function renderProblem(
  ctx: Context,
  status: number,
  kind: string,
  detail: string,
  headers: Record<string, string> = {},
): void {
  ctx.status = status;
  for (const [name, value] of Object.entries(headers)) ctx.set(name, value);
  ctx.type = 'application/problem+json';
  ctx.body = JSON.stringify({
    type: PROBLEM_TYPE_PREFIX + kind,
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail,
    instance: ctx.path,
    requestId: ctx.state.requestId as string | undefined,
  });
}

interface HttpLikeError {
  status?: unknown;
  expose?: unknown;
  message?: unknown;
}

/** Seconds a client (or balancer) is asked to wait before it retries after a storage 503. */
export const STORAGE_RETRY_AFTER_SECONDS = 5;

/**
 * The storage could not do it (store/failure.ts): the request was not acknowledged, so the client
 * may retry it. 507 when the volume is full, else 503 with Retry-After. The cause goes to the log
 * once; the client sees neither the driver's text nor where the database is.
 */
function renderStorageFailure(ctx: Context, failure: StorageFailure, logger: Logger): void {
  const reqId = ctx.state.requestId as string;
  logger.error({ err: failure, kind: failure.kind, reqId }, 'storage failure');
  const where = `the log has details under request id ${String(reqId)}`;
  if (failure.kind === 'full') {
    renderProblem(
      ctx,
      507,
      'storage-full',
      `The storage volume is full; the request was not carried out (${where}).`,
    );
    return;
  }
  renderProblem(
    ctx,
    503,
    'storage-unavailable',
    `The storage cannot serve requests right now; retry later (${where}).`,
    { 'Retry-After': String(STORAGE_RETRY_AFTER_SECONDS) },
  );
}

/**
 * Answers a failure as a problem document: a Problem as it is, an http-error raised by Koa with
 * its status, a storage failure as 503 or 507, anything else as a 500 that names only the
 * request id (the error and its stack go to the log, never to the client).
 */
export function renderFailure(ctx: Context, error: unknown, logger: Logger): void {
  if (error instanceof Problem) {
    renderProblem(ctx, error.status, error.kind, error.detail, error.headers);
    return;
  }
  if (isStorageFailure(error)) {
    renderStorageFailure(ctx, error, logger);
    return;
  }
  const { status, expose, message } = (error ?? {}) as HttpLikeError;
  if (typeof status === 'number' && status >= 400 && status < 500 && expose === true) {
    renderProblem(ctx, status, 'client-error', String(message));
    return;
  }
  logger.error({ err: error, reqId: ctx.state.requestId as string }, 'request failed');
  renderProblem(
    ctx,
    500,
    'internal',
    `The request failed unexpectedly; the log has details under request id ${String(ctx.state.requestId)}.`,
  );
}

/** Gives a body to the errors that arise without a route throwing (unknown path, wrong method). */
export function renderImplicitProblem(ctx: Context): void {
  const implicit = IMPLICIT[ctx.status];
  if (implicit && (ctx.body === undefined || ctx.body === null)) {
    renderProblem(ctx, ctx.status, implicit.kind, implicit.detail(ctx));
  }
}
