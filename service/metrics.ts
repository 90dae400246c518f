// Why not prom-client, and what was measured: docs/decisions.md.
/** Seconds; the low end is dense because a healthy request here takes about a millisecond. */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export interface Series {
  method: string;
  route: string;
  status: number;
  count: number;
  sum: number;
  /** Non-cumulative counts per bucket; the last slot is +Inf. Made cumulative when rendered. */
  buckets: number[];
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** One process's figures, plain data so that cluster workers can send them to each other. */
export interface MetricsSnapshot {
  version: string;
  instance: string;
  startedAt: number;
  rssBytes: number;
  series: Series[];
}

/**
 * Request counts and latency histograms by method, route pattern and status. Recording is one
 * Map lookup and one bucket scan per request; all formatting happens when /metrics is scraped.
 */
export class Metrics {
  private readonly series = new Map<string, Series>();
  private readonly startedAt = Date.now();

  constructor(private readonly info: { version: string; instance: string }) {}

  record(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${status} ${route}`;
    let series = this.series.get(key);
    if (!series) {
      series = {
        method,
        route,
        status,
        count: 0,
        sum: 0,
        buckets: new Array<number>(BUCKETS.length + 1).fill(0),
      };
      this.series.set(key, series);
    }
    series.count++;
    series.sum += seconds;
    let slot = 0;
    while (slot < BUCKETS.length && seconds > BUCKETS[slot]!) slot++;
    series.buckets[slot]!++;
  }

  snapshot(): MetricsSnapshot {
    return {
      ...this.info,
      startedAt: this.startedAt,
      rssBytes: process.memoryUsage.rss(),
      series: [...this.series.values()].map((s) => ({ ...s, buckets: [...s.buckets] })),
    };
  }

  /** This process's figures alone, in the Prometheus text format. */
  render(): string {
    return renderMetrics([this.snapshot()]);
  }
}

/**
 * The figures of one or more processes of the same instance (WEB_CONCURRENCY workers) as one
 * instance, in the Prometheus text format: request series are summed, memory is the total, and
 * uptime is that of the longest-running process. `app_workers` says how many processes answered.
 */
export function renderMetrics(snapshots: readonly MetricsSnapshot[]): string {
  const merged = new Map<string, Series>();
  for (const snapshot of snapshots) {
    for (const s of snapshot.series) {
      const key = `${s.method} ${s.status} ${s.route}`;
      const into = merged.get(key);
      if (!into) {
        merged.set(key, { ...s, buckets: [...s.buckets] });
        continue;
      }
      into.count += s.count;
      into.sum += s.sum;
      s.buckets.forEach((n, i) => (into.buckets[i] = (into.buckets[i] ?? 0) + n));
    }
  }
  const all = [...merged.values()];
  const lines: string[] = [
    '# HELP http_requests_total HTTP requests answered, by method, route and status.',
    '# TYPE http_requests_total counter',
  ];
  const labels = (s: Series) =>
    `method="${escapeLabel(s.method)}",route="${escapeLabel(s.route)}",status="${s.status}"`;
  for (const s of all) lines.push(`http_requests_total{${labels(s)}} ${s.count}`);
  lines.push(
    '# HELP http_request_duration_seconds Time to answer HTTP requests.',
    '# TYPE http_request_duration_seconds histogram',
  );
  for (const s of all) {
    let cumulative = 0;
    BUCKETS.forEach((le, i) => {
      cumulative += s.buckets[i]!;
      lines.push(`http_request_duration_seconds_bucket{${labels(s)},le="${le}"} ${cumulative}`);
    });
    lines.push(`http_request_duration_seconds_bucket{${labels(s)},le="+Inf"} ${s.count}`);
    lines.push(`http_request_duration_seconds_sum{${labels(s)}} ${s.sum}`);
    lines.push(`http_request_duration_seconds_count{${labels(s)}} ${s.count}`);
  }
  const first = snapshots[0];
  const startedAt = Math.min(...snapshots.map((s) => s.startedAt));
  const rss = snapshots.reduce((total, s) => total + s.rssBytes, 0);
  lines.push(
    '# HELP app_info The running version and instance.',
    '# TYPE app_info gauge',
    `app_info{version="${escapeLabel(first?.version ?? '')}",instance="${escapeLabel(first?.instance ?? '')}"} 1`,
    '# HELP app_workers Service processes whose figures this answer includes.',
    '# TYPE app_workers gauge',
    `app_workers ${snapshots.length}`,
    '# HELP process_uptime_seconds Seconds since the longest-running service process started serving.',
    '# TYPE process_uptime_seconds gauge',
    `process_uptime_seconds ${snapshots.length ? (Date.now() - startedAt) / 1000 : 0}`,
    '# HELP process_resident_memory_bytes Resident set size of the service processes together.',
    '# TYPE process_resident_memory_bytes gauge',
    `process_resident_memory_bytes ${rss}`,
  );
  return lines.join('\n') + '\n';
}
