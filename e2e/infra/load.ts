// A steady stream of client traffic through the load balancer while a deploy runs: writes
// (POST /json) and reads of documents already acknowledged (GET /json/:id). Bounded: it runs
// until stopped, at most `maxMs`, and only ever talks to the load balancer on loopback.
import { randomUUID } from 'node:crypto';

export interface FailedRequest {
  at: string;
  request: string;
  status: number;
  detail: string;
}

export interface LoadReport {
  requests: number;
  writes: number;
  reads: number;
  failures: FailedRequest[];
  /** Acknowledged writes (201) that could not be read back afterwards with the same data. */
  lost: string[];
  acknowledged: number;
}

export interface LoadGenerator {
  stop(): Promise<LoadReport>;
}

interface Ack {
  id: string;
  data: { seq: number; writer: number; at: number };
}

export function startLoad(
  baseUrl: string,
  token: string,
  options: { workers?: number; pauseMs?: number; maxMs?: number } = {},
): LoadGenerator {
  const workers = options.workers ?? 4;
  const pauseMs = options.pauseMs ?? 15;
  const deadline = Date.now() + (options.maxMs ?? 300_000);
  const acked: Ack[] = [];
  const failures: FailedRequest[] = [];
  let requests = 0;
  let writes = 0;
  let reads = 0;
  let seq = 0;
  let stopping = false;

  async function request(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json?: unknown; text: string }> {
    requests += 1;
    try {
      const res = await fetch(`${baseUrl}${path}`, {
        method,
        headers:
          body === undefined
            ? {}
            : { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      if (res.status >= 300) {
        failures.push({
          at: new Date().toISOString(),
          request: `${method} ${path}`,
          status: res.status,
          detail: text.slice(0, 300),
        });
      }
      return { status: res.status, json, text };
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      failures.push({
        at: new Date().toISOString(),
        request: `${method} ${path}`,
        status: 0,
        detail: `${String(error)}${cause ? ` (${cause})` : ''}`,
      });
      return { status: 0, text: '' };
    }
  }

  async function worker(index: number): Promise<void> {
    while (!stopping && Date.now() < deadline) {
      const pick =
        acked.length > 0 && (seq + index) % 2 === 0
          ? acked[Math.floor(Math.random() * acked.length)]
          : undefined;
      if (pick) {
        reads += 1;
        const res = await request('GET', `/json/${pick.id}`);
        const got = (res.json as { data?: unknown } | undefined)?.data;
        if (res.status === 200 && JSON.stringify(got) !== JSON.stringify(pick.data)) {
          failures.push({
            at: new Date().toISOString(),
            request: `GET /json/${pick.id}`,
            status: 200,
            detail: `stale data ${res.text.slice(0, 200)}`,
          });
        }
      } else {
        writes += 1;
        const doc: Ack = {
          id: `e2e-${randomUUID()}`,
          data: { seq: (seq += 1), writer: index, at: Date.now() },
        };
        const res = await request('POST', '/json', doc);
        if (res.status === 201) acked.push(doc);
      }
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }

  const running = Promise.all(Array.from({ length: workers }, (_, i) => worker(i)));

  return {
    async stop() {
      stopping = true;
      await running;
      const lost: string[] = [];
      const unsureReads: string[] = [];
      for (const doc of acked) {
        // A read that fails without an answer about the document (no connection, a 5xx from the
        // balancer or the service) says nothing about the write: ask again, a few times. Lost
        // means answered 404 or other data, or never readable.
        let outcome = 'unread';
        for (let attempt = 1; attempt <= 5; attempt++) {
          const res = await fetch(`${baseUrl}/json/${doc.id}`, {
            signal: AbortSignal.timeout(10_000),
          }).catch(() => undefined);
          const body = res
            ? ((await res.json().catch(() => undefined)) as { data?: unknown } | undefined)
            : undefined;
          if (res?.status === 200) {
            outcome = JSON.stringify(body?.data) === JSON.stringify(doc.data) ? 'ok' : 'other data';
            break;
          }
          outcome = res ? `HTTP ${res.status}` : 'no answer';
          if (res && res.status < 500) break;
          unsureReads.push(`${doc.id}: ${outcome}`);
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
        if (outcome !== 'ok') lost.push(`${doc.id} (${outcome})`);
      }
      if (unsureReads.length > 0) {
        console.warn(
          `e2e load: read-back retried ${unsureReads.length} time(s): ${unsureReads.slice(0, 5).join('; ')}`,
        );
      }
      return { requests, writes, reads, failures, lost, acknowledged: acked.length };
    },
  };
}
