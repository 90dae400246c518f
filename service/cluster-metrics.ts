import cluster, { type Worker } from 'node:cluster';
import type { Metrics, MetricsSnapshot } from './metrics.js';

/**
 * /metrics for an instance that runs WEB_CONCURRENCY workers. Each worker counts only the
 * requests it answered, and a scrape reaches one worker at random, so a worker's own figures
 * would make every counter jump up and down between scrapes. Instead the worker that is scraped
 * asks the primary, the primary collects a snapshot from every live worker, and the worker
 * renders their sum. A worker that does not answer in time is left out (app_workers says so).
 *
 * Messages: worker → primary ASK, primary → each worker COLLECT, each worker → primary SNAPSHOT,
 * primary → asking worker GATHERED.
 */
const ASK = 'challenge-deploy/metrics/ask';
const COLLECT = 'challenge-deploy/metrics/collect';
const SNAPSHOT = 'challenge-deploy/metrics/snapshot';
const GATHERED = 'challenge-deploy/metrics/gathered';

interface Message {
  type: string;
  id: number;
  snapshot?: MetricsSnapshot;
  snapshots?: MetricsSnapshot[];
}

function isMessage(value: unknown, type: string): value is Message {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Message).type === type &&
    typeof (value as Message).id === 'number'
  );
}

/** For replies whose loss the timeouts already cover; passing it keeps a failed send from throwing. */
const ignore = (): void => undefined;

interface Gathering {
  snapshots: MetricsSnapshot[];
  waiting: Set<Worker>;
  finish: () => void;
}

/** Primary: gathers every live worker's snapshot for whichever worker asks. */
export function relayWorkerMetrics(timeoutMs = 1000): void {
  let nextId = 0;
  const pending = new Map<number, Gathering>();

  cluster.on('message', (from: Worker, message: unknown) => {
    if (isMessage(message, SNAPSHOT)) {
      const gathering = pending.get(message.id);
      if (!gathering?.waiting.delete(from)) return;
      if (message.snapshot) gathering.snapshots.push(message.snapshot);
      if (gathering.waiting.size === 0) gathering.finish();
      return;
    }
    if (!isMessage(message, ASK)) return;
    const id = nextId++;
    const workers = Object.values(cluster.workers ?? {}).filter(
      (worker): worker is Worker => worker !== undefined && worker.isConnected(),
    );
    const gathering: Gathering = {
      snapshots: [],
      waiting: new Set(workers),
      finish: () => {
        clearTimeout(timer);
        pending.delete(id);
        if (from.isConnected()) {
          from.send({ type: GATHERED, id: message.id, snapshots: gathering.snapshots }, ignore);
        }
      },
    };
    pending.set(id, gathering);
    const timer = setTimeout(() => gathering.finish(), timeoutMs);
    for (const worker of workers) {
      // A worker that exits meanwhile is answered for: without a callback, a failed send is
      // an 'error' event, which would bring the primary down.
      worker.send({ type: COLLECT, id }, (error: Error | null) => {
        if (error && gathering.waiting.delete(worker) && gathering.waiting.size === 0) {
          gathering.finish();
        }
      });
    }
  });
}

/**
 * Worker: answers the primary's collections with this worker's snapshot, and returns the function
 * /metrics uses to get every worker's. Without an answer from the primary within `timeoutMs`,
 * that function settles for this worker's figures alone.
 */
export function shareWorkerMetrics(
  metrics: Metrics,
  timeoutMs = 2000,
): () => Promise<MetricsSnapshot[]> {
  let nextId = 0;
  const asked = new Map<number, (snapshots: MetricsSnapshot[]) => void>();
  process.on('message', (message: unknown) => {
    if (isMessage(message, COLLECT)) {
      process.send?.({ type: SNAPSHOT, id: message.id, snapshot: metrics.snapshot() }, ignore);
    } else if (isMessage(message, GATHERED)) {
      asked.get(message.id)?.(message.snapshots ?? []);
    }
  });
  return () =>
    new Promise((resolve) => {
      const id = nextId++;
      const settle = (snapshots: MetricsSnapshot[]) => {
        clearTimeout(timer);
        asked.delete(id);
        resolve(snapshots.length > 0 ? snapshots : [metrics.snapshot()]);
      };
      const timer = setTimeout(() => settle([]), timeoutMs);
      asked.set(id, settle);
      // send() returning false only means a backlog; a closed channel reaches the callback.
      if (!process.send) return settle([]);
      process.send({ type: ASK, id }, undefined, undefined, (error: Error | null) => {
        if (error) settle([]);
      });
    });
}
