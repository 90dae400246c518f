// The checks behind `npm run check:balance`: how requests through a load balancer spread over the
// instances behind it, whether every instance runs the expected version, and whether a document
// written through the balancer can be read back from every instance (they share one store).
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';

export type BalanceOptions = {
  url: string;
  requests: number;
  expectVersion?: string;
  expectInstances?: number;
  token?: string;
  timeoutMs: number;
  /** Response header naming the instance that answered a /json read, if the service sends one. */
  instanceHeaders: string[];
};

export type CheckResult = { name: string; status: 'pass' | 'fail' | 'skip'; detail: string };

export type BalanceReport = {
  spread: Map<string, { requests: number; versions: Set<string> }>;
  checks: CheckResult[];
  ok: boolean;
};

type HttpAnswer = {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
};

/**
 * One request on a fresh connection (`agent: false`): a layer-4 balancer (NLB) picks a target per
 * connection, so reusing a keep-alive connection would send every request to the same instance.
 */
export function send(
  method: string,
  url: URL,
  options: { body?: string; headers?: Record<string, string>; timeoutMs: number },
): Promise<HttpAnswer> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        agent: false,
        headers: {
          accept: 'application/json',
          ...(options.body === undefined
            ? {}
            : {
                'content-type': 'application/json',
                'content-length': Buffer.byteLength(options.body),
              }),
          ...options.headers,
        },
        timeout: options.timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

function endpoint(base: string, path: string): URL {
  const root = new URL(base);
  if (!root.pathname.endsWith('/')) root.pathname += '/';
  return new URL(path, root);
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

function describeError(error: unknown): string {
  if (error instanceof AggregateError) return error.errors.map(describeError).join('; ');
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

function instanceOf(answer: HttpAnswer, headers: string[]): string | undefined {
  for (const name of headers) {
    const value = answer.headers[name.toLowerCase()];
    if (typeof value === 'string' && value !== '') return value;
  }
  return undefined;
}

export async function checkBalance(options: BalanceOptions): Promise<BalanceReport> {
  const checks: CheckResult[] = [];
  const spread = new Map<string, { requests: number; versions: Set<string> }>();
  const add = (name: string, status: CheckResult['status'], detail: string) =>
    checks.push({ name, status, detail });

  // 1. Spread: /health reports the instance and version without touching storage.
  const failures: string[] = [];
  for (let i = 0; i < options.requests; i += 1) {
    try {
      const answer = await send('GET', endpoint(options.url, 'health'), options);
      const body = parseJson(answer.body) as { instance?: unknown; version?: unknown } | undefined;
      if (answer.status !== 200 || typeof body?.instance !== 'string') {
        failures.push(`HTTP ${answer.status} ${answer.body.slice(0, 120)}`);
        continue;
      }
      const seen = spread.get(body.instance) ?? { requests: 0, versions: new Set<string>() };
      seen.requests += 1;
      seen.versions.add(typeof body.version === 'string' ? body.version : String(body.version));
      spread.set(body.instance, seen);
    } catch (error) {
      failures.push(describeError(error));
    }
  }
  const answered = options.requests - failures.length;
  if (failures.length === 0) {
    add('health', 'pass', `${answered}/${options.requests} requests to /health answered 200`);
  } else {
    const samples = [...new Set(failures)].slice(0, 3).join(' | ');
    add(
      'health',
      'fail',
      `${failures.length}/${options.requests} requests to /health failed: ${samples}`,
    );
  }

  if (options.expectInstances !== undefined) {
    if (spread.size >= options.expectInstances) {
      add(
        'instances',
        'pass',
        `${spread.size} instances answered (expected ${options.expectInstances})`,
      );
    } else {
      add(
        'instances',
        'fail',
        `only ${spread.size} of ${options.expectInstances} expected instances answered: the others are out of the load balancer or unhealthy`,
      );
    }
  }

  // 2. Versions.
  if (options.expectVersion !== undefined) {
    const wrong = [...spread]
      .filter(([, s]) => s.versions.size !== 1 || !s.versions.has(options.expectVersion!))
      .map(([instance, s]) => `${instance} reports ${[...s.versions].join(', ')}`);
    if (spread.size === 0) add('version', 'fail', 'no instance answered /health');
    else if (wrong.length === 0)
      add('version', 'pass', `every instance reports ${options.expectVersion}`);
    else add('version', 'fail', `expected ${options.expectVersion}: ${wrong.join('; ')}`);
  }

  // 3. Write through the balancer, read back from every instance, delete.
  if (options.token === undefined || options.token === '') {
    add('write', 'skip', 'API_TOKEN is not set, so no document was written');
  } else if (spread.size === 0) {
    add('write', 'skip', 'no instance answered /health');
  } else {
    await checkReadBack(options, [...spread.keys()], add);
  }

  return { spread, checks, ok: checks.every((c) => c.status !== 'fail') };
}

async function checkReadBack(
  options: BalanceOptions,
  instances: string[],
  add: (name: string, status: CheckResult['status'], detail: string) => void,
): Promise<void> {
  const id = `check-balance-${Date.now()}-${randomBytes(4).toString('hex')}`;
  const data = { check: 'balance', nonce: randomBytes(8).toString('hex') };
  const auth = { authorization: `Bearer ${options.token}` };
  const url = endpoint(options.url, `json/${id}`);

  let created: HttpAnswer;
  try {
    created = await send('POST', endpoint(options.url, 'json'), {
      ...options,
      headers: auth,
      body: JSON.stringify({ id, data }),
    });
  } catch (error) {
    add('write', 'fail', `POST /json failed: ${describeError(error)}`);
    return;
  }
  if (created.status !== 201) {
    add('write', 'fail', `POST /json answered ${created.status}: ${created.body.slice(0, 200)}`);
    return;
  }
  add('write', 'pass', `POST /json created ${id} (201)`);

  try {
    // Keep reading until every instance seen on /health has returned the document. A read names
    // its instance only if the service sends an instance header; without one, enough reads that
    // even a random balancer reaches every instance stand in for it.
    const pending = new Set(instances);
    const perInstance = new Map<string, number>();
    const anonymousReads = readsToReachAll(instances.length, options.requests);
    const maxReads = Math.max(anonymousReads, instances.length * 10);
    let identified = false;
    let reads = 0;
    let failure: string | undefined;
    while (reads < maxReads) {
      reads += 1;
      let answer: HttpAnswer;
      try {
        answer = await send('GET', url, options);
      } catch (error) {
        failure = `read ${reads} failed: ${describeError(error)}`;
        break;
      }
      const instance = instanceOf(answer, options.instanceHeaders);
      const body = parseJson(answer.body) as { data?: unknown } | undefined;
      if (answer.status !== 200 || !isDeepStrictEqual(body?.data, data)) {
        const who = instance ?? 'an instance (the response does not name it)';
        failure = `read ${reads}: ${who} answered GET /json/${id} with ${answer.status} ${answer.body.slice(0, 120)}: it does not see writes made through another instance`;
        break;
      }
      if (instance !== undefined) {
        identified = true;
        pending.delete(instance);
        perInstance.set(instance, (perInstance.get(instance) ?? 0) + 1);
        if (pending.size === 0) break;
      } else if (!identified && reads >= anonymousReads) {
        break;
      }
    }
    if (failure !== undefined) add('read-back', 'fail', failure);
    else if (!identified)
      add(
        'read-back',
        'pass',
        instances.length === 1
          ? `${reads}/${reads} reads returned the document (one instance answered /health)`
          : `${reads}/${reads} reads returned the document (responses do not name the instance; ${reads} reads reach each of the ${instances.length} instances, even through a random balancer, with a probability above 99.99%)`,
      );
    else if (pending.size === 0)
      add(
        'read-back',
        'pass',
        `every instance returned the document (${[...perInstance].map(([i, n]) => `${i}: ${n}`).join(', ')})`,
      );
    else
      add(
        'read-back',
        'fail',
        `after ${reads} reads, never served by ${[...pending].join(', ')}; the balancer did not spread the reads`,
      );
  } finally {
    try {
      const deleted = await send('DELETE', url, { ...options, headers: auth });
      if (deleted.status === 204) add('cleanup', 'pass', `DELETE /json/${id} (204)`);
      else
        add(
          'cleanup',
          'fail',
          `DELETE /json/${id} answered ${deleted.status}: ${deleted.body.slice(0, 200)}`,
        );
    } catch (error) {
      add('cleanup', 'fail', `DELETE /json/${id} failed: ${describeError(error)}`);
    }
  }
}

/**
 * Reads after which a balancer that picks targets at random has reached every one of `instances`
 * with probability > 99.99%: instances × (1 − 1/instances)^reads < 10⁻⁴. Round-robin needs far fewer.
 */
export function readsToReachAll(instances: number, atLeast: number): number {
  if (instances <= 1) return Math.max(atLeast, 1);
  const reads = Math.ceil(Math.log(1e-4 / instances) / Math.log(1 - 1 / instances));
  return Math.max(atLeast, reads);
}

export function formatReport(options: BalanceOptions, report: BalanceReport): string {
  const lines: string[] = [];
  const total = [...report.spread.values()].reduce((sum, s) => sum + s.requests, 0);
  lines.push(`Balance check: ${options.url} (${options.requests} requests to /health)`, '');
  if (report.spread.size > 0) {
    const rows = [...report.spread].sort(([a], [b]) => a.localeCompare(b));
    const width = Math.max('instance'.length, ...rows.map(([i]) => i.length));
    lines.push(`  ${'instance'.padEnd(width)}  requests  share   version`);
    for (const [instance, s] of rows) {
      const share = `${((100 * s.requests) / total).toFixed(1)}%`;
      const bar = '#'.repeat(Math.round((20 * s.requests) / total));
      lines.push(
        `  ${instance.padEnd(width)}  ${String(s.requests).padStart(8)}  ${share.padStart(6)}  ${[...s.versions].join(', ').padEnd(8)} ${bar}`,
      );
    }
    lines.push('');
  }
  const label = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP' } as const;
  for (const check of report.checks) {
    lines.push(`${label[check.status]}  ${check.name.padEnd(9)} ${check.detail}`);
  }
  const failed = report.checks.filter((c) => c.status === 'fail').length;
  lines.push('', failed === 0 ? 'All checks passed.' : `${failed} check(s) failed.`);
  return lines.join('\n');
}
