import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { requestIdFor } from './request-id.js';
import type { Lifecycle } from './routes/system.js';

export interface Frame {
  /** The request id: the caller's X-Request-Id when acceptable, else a new UUID. */
  readonly id: string;
  readonly started: bigint;
}

export interface AnsweredRequest {
  method: string;
  /** The request target as received; only its path is logged. */
  url: string;
  /** The route pattern (`/json/:id`), never the raw path, so metrics stay low-cardinality. */
  route: string;
  status: number;
}

/**
 * What every request gets whichever path answers it (the Koa app, or the direct read of a
 * document in direct-read.ts): a request id, the instance header, the drain signal, a metrics
 * sample and the debug access log. Both paths use this one object, so they cannot drift apart.
 */
export class RequestFrames {
  /** Which instance answered; behind a load balancer it is how clients tell instances apart. */
  readonly instanceHeader: string | undefined;

  constructor(
    readonly metrics: Metrics,
    private readonly logger: Logger,
    readonly lifecycle: Lifecycle,
    instanceId: string,
  ) {
    // Left out if it cannot be a header value.
    this.instanceHeader = /^[\x20-\x7e]{1,256}$/.test(instanceId) ? instanceId : undefined;
  }

  open(incomingRequestId: string | undefined): Frame {
    return { id: requestIdFor(incomingRequestId ?? ''), started: process.hrtime.bigint() };
  }

  /** While draining, keep-alive clients are told to reconnect (to another instance). */
  get draining(): boolean {
    return this.lifecycle.shuttingDown;
  }

  close(frame: Frame, answered: AnsweredRequest): void {
    const seconds = Number(process.hrtime.bigint() - frame.started) / 1e9;
    this.metrics.record(answered.method, answered.route, answered.status, seconds);
    // Requests are logged at debug level only: one line per request measured 15-25 µs of CPU,
    // a third more per read. Failures are always logged (renderFailure logs 500s with the error).
    if (this.logger.isLevelEnabled('debug')) {
      // The query string is left out: it can carry what does not belong in a log (a cursor,
      // a token someone put in a link).
      const query = answered.url.indexOf('?');
      this.logger.debug(
        {
          reqId: frame.id,
          method: answered.method,
          path: query < 0 ? answered.url : answered.url.slice(0, query),
          status: answered.status,
          ms: seconds * 1000,
        },
        'request',
      );
    }
  }
}
