import { describe, expect, test } from '@jest/globals';
import { Metrics, renderMetrics } from '../../service/metrics.js';

function line(text: string, prefix: string): string | undefined {
  return text.split('\n').find((l) => l.startsWith(prefix));
}

describe('metrics', () => {
  test('counts requests and fills the latency histogram cumulatively', () => {
    const metrics = new Metrics({ version: 'v1', instance: 'i-1' });
    metrics.record('GET', '/json/:id', 200, 0.0003);
    metrics.record('GET', '/json/:id', 200, 0.002);
    metrics.record('GET', '/json/:id', 404, 0.0004);
    const text = metrics.render();
    const labels = 'method="GET",route="/json/:id",status="200"';
    expect(line(text, `http_requests_total{${labels}}`)).toBe(`http_requests_total{${labels}} 2`);
    expect(line(text, `http_request_duration_seconds_bucket{${labels},le="0.0005"}`)).toMatch(
      / 1$/,
    );
    expect(line(text, `http_request_duration_seconds_bucket{${labels},le="0.0025"}`)).toMatch(
      / 2$/,
    );
    expect(line(text, `http_request_duration_seconds_bucket{${labels},le="+Inf"}`)).toMatch(/ 2$/);
    expect(line(text, 'app_workers')).toBe('app_workers 1');
  });

  test('adds up the figures of several worker processes as one instance', () => {
    const a = new Metrics({ version: 'v2', instance: 'i-2' });
    const b = new Metrics({ version: 'v2', instance: 'i-2' });
    a.record('GET', '/health', 200, 0.0001);
    b.record('GET', '/health', 200, 0.03);
    b.record('PUT', '/json/:id', 412, 0.001);
    const [sa, sb] = [a.snapshot(), b.snapshot()];
    sa.rssBytes = 100;
    sb.rssBytes = 50;
    sb.startedAt = sa.startedAt - 60_000;
    const text = renderMetrics([sa, sb]);
    const health = 'method="GET",route="/health",status="200"';
    expect(line(text, `http_requests_total{${health}}`)).toMatch(/ 2$/);
    expect(line(text, `http_request_duration_seconds_bucket{${health},le="0.0005"}`)).toMatch(
      / 1$/,
    );
    expect(line(text, `http_request_duration_seconds_bucket{${health},le="0.05"}`)).toMatch(/ 2$/);
    expect(
      Number(line(text, `http_request_duration_seconds_sum{${health}}`)?.split(' ')[1]),
    ).toBeCloseTo(0.0301);
    expect(line(text, 'http_requests_total{method="PUT"')).toMatch(/status="412"\} 1$/);
    expect(line(text, 'app_workers')).toBe('app_workers 2');
    expect(line(text, 'process_resident_memory_bytes')).toBe('process_resident_memory_bytes 150');
    expect(Number(line(text, 'process_uptime_seconds')?.split(' ')[1])).toBeGreaterThanOrEqual(60);
    expect(line(text, 'app_info')).toBe('app_info{version="v2",instance="i-2"} 1');
  });

  test('a snapshot is a copy: later requests do not change figures already sent', () => {
    const metrics = new Metrics({ version: 'v1', instance: 'i-1' });
    metrics.record('GET', '/health', 200, 0.0001);
    const snapshot = metrics.snapshot();
    metrics.record('GET', '/health', 200, 0.0001);
    expect(snapshot.series[0]).toMatchObject({
      count: 1,
      buckets: [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    });
  });
});
