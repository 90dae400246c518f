import cluster from 'node:cluster';
import { ConfigError, loadConfig, type Config } from './config.js';
import { relayWorkerMetrics, shareWorkerMetrics } from './cluster-metrics.js';
import { createLogger } from './logger.js';
import { Metrics } from './metrics.js';
import { startServer } from './server.js';
import { openStore } from './store/index.js';

/**
 * Entry point: reads the configuration, then either serves requests in this process or, with
 * WEB_CONCURRENCY > 1, forks that many workers that share the listening port.
 */

function readConfig(): Config {
  try {
    return loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`Configuration error: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

function announceGeneratedToken(config: Config): void {
  if (!config.tokenGenerated) return;
  // Printed once, outside the JSON log, so a first `npm start` can be tried with curl right away.
  process.stderr.write(
    `\nNo API_TOKEN is set, so this run generated one (it changes on every start):\n\n` +
      `  export API_TOKEN=${config.apiTokens[0]}\n\n` +
      `Set API_TOKEN yourself to keep a token across restarts; NODE_ENV=production requires it.\n\n`,
  );
}

async function serve(config: Config): Promise<void> {
  const logger = createLogger({
    level: config.logLevel,
    instance: config.instanceId,
    version: config.appVersion,
  });
  let store;
  try {
    // A SQLite volume with less room than the largest body is full, as far as /ready can tell.
    store = await openStore(config.databaseUrl, {
      minFreeBytes: config.bodyLimitBytes,
      postgresTimeouts: config.databaseTimeouts,
    });
  } catch (error) {
    logger.fatal({ err: error }, 'cannot open the document store');
    logger.flush();
    process.exit(1);
  }
  const metrics = new Metrics({ version: config.appVersion, instance: config.instanceId });
  const running = await startServer({
    store,
    logger,
    metrics,
    gatherMetrics: cluster.isWorker ? shareWorkerMetrics(metrics) : undefined,
    port: config.port,
    apiTokens: config.apiTokens,
    bodyLimitBytes: config.bodyLimitBytes,
    appVersion: config.appVersion,
    instanceId: config.instanceId,
    shutdownDelayMs: config.shutdownDelayMs,
    requestTimeoutMs: config.requestTimeoutMs,
    maxConnections: config.maxConnections,
  });
  // Handlers first: whoever waits for "listening" may send SIGTERM at once, and until a handler
  // exists the default action kills the process without draining.
  const shutDown = (signal: string) => {
    logger.info({ signal }, 'draining connections before exit');
    void running.stop().then((outcome) => {
      logger.info({ outcome }, 'stopped');
      logger.flush();
      process.exit(outcome === 'drained' ? 0 : 1);
    });
  };
  process.once('SIGTERM', () => shutDown('SIGTERM'));
  process.once('SIGINT', () => shutDown('SIGINT'));
  logger.info(
    { port: running.port, store: store.kind, pid: process.pid, worker: cluster.worker?.id },
    'listening',
  );
}

async function supervise(config: Config): Promise<void> {
  // Open the store once before forking: the schema is created by one process, and a bad
  // DATABASE_URL fails the start with one clear message instead of N crash-looping workers.
  const store = await openStore(config.databaseUrl, {
    postgresTimeouts: config.databaseTimeouts,
  }).catch((error: unknown) => {
    process.stderr.write(`Cannot open the document store: ${(error as Error).message}\n`);
    process.exit(1);
  });
  await store.close();

  let stopping = false;
  let failed = false;
  const env = { API_TOKEN: config.apiTokens.join(',') };
  cluster.on('exit', (worker, code, signal) => {
    if (code !== 0) failed = true;
    if (!stopping) {
      process.stderr.write(`Worker ${worker.id} exited (${signal ?? code}); starting another.\n`);
      setTimeout(() => cluster.fork(env), 1000);
      return;
    }
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(failed ? 1 : 0);
  });
  const stopAll = () => {
    if (stopping) return;
    stopping = true;
    const workers = Object.values(cluster.workers ?? {});
    if (workers.length === 0) process.exit(0);
    for (const worker of workers) worker?.process.kill('SIGTERM');
  };
  process.on('SIGTERM', stopAll);
  process.on('SIGINT', stopAll);
  relayWorkerMetrics();
  for (let i = 0; i < config.webConcurrency; i++) cluster.fork(env);
}

const config = readConfig();
if (cluster.isPrimary) announceGeneratedToken(config);
if (cluster.isPrimary && config.webConcurrency > 1) {
  await supervise(config);
} else {
  await serve(config);
}
