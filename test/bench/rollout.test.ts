// The rollout benchmark in its smallest form (N = 10, one batch, a 0.5 s script): it runs the
// committed bundle end to end and prints a sane table. The full benchmark is `npm run bench:rollout`.
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TokenBucket } from '../../bench/rollout/rate-limits.js';
import { idealPlan, ROOT, type CaseResult } from '../../bench/rollout/run-case.js';

describe('npm run bench:rollout', () => {
  it('runs the N = 10 smoke case and prints its row with calls, memory and sizes that make sense', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bench-rollout-test-'));
    try {
      const json = path.join(dir, 'results.json');
      const run = spawnSync(
        path.join(ROOT, 'node_modules', '.bin', 'tsx'),
        ['bench/rollout.ts', '--quick', '--script-ms', '500', '--json', json],
        { cwd: ROOT, encoding: 'utf8', timeout: 90_000 },
      );
      expect(run.stderr).not.toMatch(/FAILED/);
      expect(run.status).toBe(0);
      expect(run.stdout).toMatch(/^\| case \| wall s \| ideal s/m);
      expect(run.stdout).toMatch(
        /^\| N=10, max-parallel 100% \| [\d.]+ \| 0\.5 \(1\) \|.* \| ok \|$/m,
      );
      expect(run.stdout).toMatch(/dist\/index\.js: \d+ KiB/);
      expect(run.stdout).toMatch(/to the first AWS call: median \d+ ms/);

      const { results } = JSON.parse(readFileSync(json, 'utf8')) as { results: CaseResult[] };
      const [result] = results;
      expect(result).toBeDefined();
      if (!result) return;
      expect(result.consistent).toBe(true);
      expect(result.exitCode).toBe(0);
      expect(result.postExitCode).toBe(0);
      // The instances' script alone takes the ideal; nothing can beat it.
      expect(result.wallMs).toBeGreaterThanOrEqual(result.idealMs);
      expect(result.callsByOperation.SendCommand).toBeGreaterThanOrEqual(1);
      expect(result.callsByOperation.DescribeInstanceInformation).toBeGreaterThanOrEqual(1);
      expect(result.ssmCalls).toBe(
        Object.values(result.callsByOperation).reduce((sum, n) => sum + n, 0),
      );
      expect(result.peakRssKb).toBeGreaterThan(20_000);
      expect(result.summaryBytes).toBeGreaterThan(100);
      expect(result.logBytes).toBeGreaterThan(100);
      expect(result.firstCallMs).toBeGreaterThan(0);
      expect(result.firstCallMs).toBeLessThan(result.wallMs);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('the benchmark endpoint and its ideal', () => {
  it('throttles an operation past its burst and lets it through again as the bucket refills', () => {
    let now = 0;
    const bucket = new TokenBucket({ perSecond: 2, burst: 3 }, () => now);
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([
      true,
      true,
      true,
      false,
    ]);
    now = 499;
    expect(bucket.take()).toBe(false);
    now = 500;
    expect(bucket.take()).toBe(true);
    now = 10_000;
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([
      true,
      true,
      true,
      false,
    ]);
  });

  it('counts the batches up to the failing one, then the rollback of the updated ones at the same parallelism', () => {
    expect(idealPlan({ instances: 1000, maxParallel: '10%' })).toEqual({
      batches: 10,
      rollbackBatches: 0,
    });
    expect(idealPlan({ instances: 10, maxParallel: '25%' })).toEqual({
      batches: 5,
      rollbackBatches: 0,
    });
    // 25 per batch; the 50th fails in batch 2; 49 were updated: 2 rollback batches.
    expect(idealPlan({ instances: 100, maxParallel: '25%', failing: [50] })).toEqual({
      batches: 2,
      rollbackBatches: 2,
    });
  });
});
