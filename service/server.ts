import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequestListener, type AppOptions } from './app.js';
import type { Lifecycle } from './routes/system.js';

/**
 * Above the idle timeout of the load balancers this runs behind (AWS ALB: 60 s by default), so
 * the balancer, never the service, closes an idle keep-alive connection; otherwise a request can
 * race the service's close and fail with a 502.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;
/** Must exceed keepAliveTimeout, or Node can drop a connection whose next request is arriving. */
export const HEADERS_TIMEOUT_MS = 66_000;
/**
 * SHUTDOWN_DELAY (at most 30 s) plus this stays below the 60 s stop_grace_period in
 * docker-compose.yml, so the process exits on its own.
 */
export const DRAIN_TIMEOUT_MS = 25_000;
/** Node's own default is 300 s, long enough for slow senders to hold connections for minutes. */
export const REQUEST_TIMEOUT_MS = 120_000;
/** Node's own default is no limit: every connection costs a descriptor and memory. */
export const MAX_CONNECTIONS = 10_000;

export interface RunningServer {
  server: Server;
  port: number;
  url: string;
  lifecycle: Lifecycle;
  /**
   * Graceful stop: /ready answers 503 and, for `shutdownDelayMs`, requests are still served;
   * then no new connections are accepted, in-flight requests finish, idle keep-alive connections
   * close, and the store closes. Resolves to `drained`, or `forced` when connections had to be
   * cut after the drain timeout.
   */
  stop(): Promise<'drained' | 'forced'>;
}

export interface ServerOptions extends Omit<AppOptions, 'lifecycle'> {
  port: number;
  host?: string;
  drainTimeoutMs?: number;
  /**
   * How long the service keeps serving after /ready turns 503. A load balancer without retries
   * (an ALB) sends new connections until its health check has failed enough times; closing the
   * listener before then refuses them. Set it above the balancer's interval × unhealthy threshold.
   */
  shutdownDelayMs?: number;
  /** Time a client has to send a whole request; then it gets 408 and the connection closes. */
  requestTimeoutMs?: number;
  /** Connections beyond this are closed as soon as they are accepted. */
  maxConnections?: number;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const lifecycle: Lifecycle = { shuttingDown: false };
  const listener = createRequestListener({ ...options, lifecycle });
  const server = createServer(listener);
  // `Expect: 100-continue` (curl sends it for bodies over 1 MB): Node would answer 100 Continue
  // at once, so a request refused anyway (401, a declared size over the limit) still uploads its
  // body. Handled as a request, the 100 goes out only when a route starts reading the body.
  server.on('checkContinue', listener);
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.requestTimeout = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  server.headersTimeout = Math.min(HEADERS_TIMEOUT_MS, server.requestTimeout);
  server.maxConnections = options.maxConnections ?? MAX_CONNECTIONS;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host && options.host !== '0.0.0.0' ? options.host : '127.0.0.1';

  let stopping: Promise<'drained' | 'forced'> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      lifecycle.shuttingDown = true;
      if (options.shutdownDelayMs) {
        await new Promise((resolve) => setTimeout(resolve, options.shutdownDelayMs));
      }
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Connections that finish a request while draining may turn idle again; close them as
      // they do, instead of waiting out the keep-alive timeout.
      server.closeIdleConnections();
      const sweeper = setInterval(() => server.closeIdleConnections(), 50);
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        closed.then(() => 'drained' as const),
        new Promise<'forced'>((resolve) => {
          timer = setTimeout(() => resolve('forced'), options.drainTimeoutMs ?? DRAIN_TIMEOUT_MS);
        }),
      ]);
      clearInterval(sweeper);
      clearTimeout(timer);
      if (outcome === 'forced') {
        server.closeAllConnections();
        await closed;
      }
      await options.store.close();
      return outcome;
    })();
    return stopping;
  };

  return { server, port, url: `http://${host}:${port}`, lifecycle, stop };
}
