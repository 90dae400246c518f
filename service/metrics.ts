/** Seconds; the low end is dense because a healthy request here takes about a millisecond. */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

interface Series {
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

/**
 * Request counts and latency histograms by method, route pattern and status, in the Prometheus
 * text format. Recording is one Map lookup and one bucket scan per request; all formatting
 * happens when /metrics is scraped. Each worker process keeps its own series.
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

  render(): string {
    const lines: string[] = [
      '# HELP http_requests_total HTTP requests answered, by method, route and status.',
      '# TYPE http_requests_total counter',
    ];
    const all = [...this.series.values()];
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
    lines.push(
      '# HELP app_info The running version and instance.',
      '# TYPE app_info gauge',
      `app_info{version="${escapeLabel(this.info.version)}",instance="${escapeLabel(this.info.instance)}"} 1`,
      '# HELP process_uptime_seconds Seconds since this process started serving.',
      '# TYPE process_uptime_seconds gauge',
      `process_uptime_seconds ${(Date.now() - this.startedAt) / 1000}`,
      '# HELP process_resident_memory_bytes Resident set size.',
      '# TYPE process_resident_memory_bytes gauge',
      `process_resident_memory_bytes ${process.memoryUsage.rss()}`,
    );
    return lines.join('\n') + '\n';
  }
}
