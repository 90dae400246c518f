// Shared by the failure-injection suites (test/service/faults.*): volumes that can be filled,
// and the invariant every fault test asserts about what the service acknowledged.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { request, type Reply } from './http.js';
import { spawnService, type ServiceProcess } from './process.js';

function mountTmpfsAt(dir: string, size: string): { ok: boolean; why: string } {
  const run = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], {
    encoding: 'utf8',
  });
  return { ok: run.status === 0, why: (run.stderr || run.error?.message || '').trim() };
}

/** Whether this process may mount a tmpfs (root with CAP_SYS_ADMIN), tried once. */
const mountable = (() => {
  const dir = mkdtempSync(join(tmpdir(), 'faults-probe-'));
  const mounted = mountTmpfsAt(dir, '64k');
  if (mounted.ok) spawnSync('umount', [dir]);
  rmSync(dir, { recursive: true, force: true });
  return mounted;
})();

/**
 * Describes a suite that mounts small volumes. Where mounting is impossible the suite fails under
 * CI=true (.ci/run runs as root, so it must run there) and is skipped loudly elsewhere.
 */
export function describeWithMounts(name: string, body: () => void): void {
  if (mountable.ok) {
    describe(name, body);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      test('can mount a tmpfs, because CI=true requires this suite to run', () => {
        throw new Error(`cannot mount a tmpfs (run as root): ${mountable.why}`);
      });
    });
  } else {
    console.warn(
      `\n!!! SKIPPED ${name}: cannot mount a tmpfs (${mountable.why}).\n` +
        '!!! Run as root to include it (CI=true turns this skip into a failure).\n',
    );
    describe.skip(`${name} (needs root to mount a tmpfs)`, () => {
      test('needs mounts', () => undefined);
    });
  }
}

export interface Volume {
  dir: string;
  /** Unmounts (lazily, in case a process still holds a file open) and removes the mount point. */
  remove(): void;
}

/** A fresh tmpfs of the given size (`3m`), to fill up. */
export function mountTmpfs(size: string): Volume {
  const dir = mkdtempSync(join(tmpdir(), 'faults-volume-'));
  const mounted = mountTmpfsAt(dir, size);
  if (!mounted.ok) throw new Error(`mount tmpfs at ${dir}: ${mounted.why}`);
  return {
    dir,
    remove: () => {
      spawnSync('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Statuses a storage failure may answer (errors.ts); anything else is a wrong answer. */
const STORAGE_FAILURE_STATUSES = [503, 507];

/**
 * What the service acknowledged, to check the invariant: every 2xx write reads back (now and
 * after a restart), every failure is a non-2xx problem document. A write that failed changed
 * nothing, so a document reads back as its last acknowledged data.
 */
export class Ledger {
  /** Acknowledged data (as sent) by id; undefined once a DELETE was acknowledged. */
  readonly documents = new Map<string, string | undefined>();
  readonly failures: { method: string; id: string; status: number }[] = [];
  acknowledged = 0;

  /** Records one write's answer; fails the test on any answer that is neither. */
  record(method: 'POST' | 'PUT' | 'DELETE', id: string, data: string | undefined, reply: Reply) {
    if (reply.status >= 200 && reply.status < 300) {
      this.acknowledged++;
      this.documents.set(id, method === 'DELETE' ? undefined : data);
      return;
    }
    const contentType = reply.headers.get('content-type') ?? '';
    expect({
      method,
      id,
      status: STORAGE_FAILURE_STATUSES.includes(reply.status) ? 'a storage failure' : reply.status,
      problem: contentType.startsWith('application/problem+json'),
    }).toEqual({ method, id, status: 'a storage failure', problem: true });
    expect(reply.json.type).toMatch(/:storage-(full|unavailable)$/);
    if (reply.status === 503) expect(reply.headers.get('retry-after')).toMatch(/^\d+$/);
    this.failures.push({ method, id, status: reply.status });
  }

  /** Reads every acknowledged document back and compares it with what was acknowledged. */
  async verify(url: string): Promise<void> {
    const wrong: string[] = [];
    for (const [id, data] of this.documents) {
      const reply = await request(url, 'GET', `/json/${encodeURIComponent(id)}`);
      const expected = data === undefined ? 404 : 200;
      if (reply.status !== expected) {
        wrong.push(`${id}: HTTP ${reply.status}, acknowledged ${expected}`);
      } else if (data !== undefined && JSON.stringify(reply.json.data) !== data) {
        wrong.push(`${id}: reads back other data than acknowledged`);
      }
    }
    expect(wrong).toEqual([]);
  }
}

/** Stops the service with SIGTERM (as a deploy does) and starts it again on the same storage. */
export async function restartService(
  service: ServiceProcess,
  env: Record<string, string>,
): Promise<ServiceProcess> {
  service.child.kill('SIGTERM');
  await service.exited;
  return spawnService(env);
}

/** /ready's status once the answer of the previous probe has expired (readiness.ts: 1 s). */
export async function readyStatus(url: string): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 1100));
  return (await request(url, 'GET', '/ready')).status;
}
