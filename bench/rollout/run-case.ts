// One case of the rollout benchmark: a fresh endpoint with N simulated instances, then the bundled
// action run as the runner runs it (main, then post), then what it cost.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { batchSize, type MaxParallel } from '../../action/inputs.js';
import { validationMessage } from '../../e2e/fake-aws/model-validator.js';
import { runAction } from '../../e2e/infra/action-runner.js';
import { REGION, REPOSITORY, SOURCE_TAG, startBenchEndpoint } from './endpoint.js';
import type { Rate } from './rate-limits.js';
import { instanceId } from './simulated-ssm.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PEAK_RSS = fileURLToPath(new URL('./peak-rss.mjs', import.meta.url));
const TAG = { key: 'Role', value: 'bench' };

export interface RolloutCase {
  instances: number;
  /** The `max-parallel` input: `1`, `10%`, … */
  maxParallel: string;
  /** 1-based positions of the instances whose new version fails its health check. */
  failing?: number[];
}

export interface CaseOptions {
  scriptMs: number;
  rates: Record<string, Rate>;
  /** The action's bundle, default dist/index.js. */
  entry?: string;
}

export interface CaseResult {
  label: string;
  instances: number;
  maxParallel: string;
  failing: number;
  /** The main step, from `node dist/index.js` to its exit. */
  wallMs: number;
  /** Batches (deploy, and rollback at the same parallelism) × script time. */
  idealMs: number;
  batches: number;
  rollbackBatches: number;
  ssmCalls: number;
  callsByOperation: Record<string, number>;
  throttled: number;
  peakRssKb: number;
  summaryBytes: number;
  logBytes: number;
  /** From spawning the main step to the first request at the endpoint. */
  firstCallMs: number;
  exitCode: number;
  postExitCode: number;
  /** Every instance ended where it should: all on the new version, or all back on v1. */
  consistent: boolean;
  problem?: string;
}

function parseMaxParallel(raw: string): MaxParallel {
  return raw.endsWith('%') ? { percent: Number(raw.slice(0, -1)) } : { count: Number(raw) };
}

export function caseLabel(c: RolloutCase): string {
  const fail = c.failing?.length ? `, ${c.failing.length} failing` : '';
  return `N=${c.instances}, max-parallel ${c.maxParallel}${fail}`;
}

/** What an ideal rollout takes: its batches, each as long as the script, and nothing else. */
export function idealPlan(c: RolloutCase): { batches: number; rollbackBatches: number } {
  const size = batchSize(parseMaxParallel(c.maxParallel), c.instances);
  const all = Math.ceil(c.instances / size);
  const failing = [...(c.failing ?? [])].filter((p) => p <= c.instances).sort((a, b) => a - b);
  const first = failing[0];
  if (first === undefined) return { batches: all, rollbackBatches: 0 };
  const batches = Math.ceil(first / size);
  const reached = Math.min(batches * size, c.instances);
  const updated = reached - failing.filter((p) => p <= reached).length;
  return { batches, rollbackBatches: Math.ceil(updated / size) };
}

export async function runCase(c: RolloutCase, options: CaseOptions): Promise<CaseResult> {
  const failingIds = new Set((c.failing ?? []).map((p) => instanceId(p)));
  const endpoint = await startBenchEndpoint(
    { size: c.instances, scriptMs: options.scriptMs, failing: failingIds, tag: TAG },
    options.rates,
  );
  const workDir = mkdtempSync(path.join(tmpdir(), 'bench-rollout-'));
  const rssFile = path.join(workDir, 'rss');
  try {
    const spawnedAt = Date.now();
    const run = await runAction(
      {
        entry: options.entry ?? path.join(ROOT, 'dist', 'index.js'),
        workDir,
        env: {
          AWS_ENDPOINT_URL: endpoint.aws.url,
          AWS_ACCESS_KEY_ID: 'AKIABENCHROLLOUT0001',
          AWS_SECRET_ACCESS_KEY: 'bench-secret-not-real',
          AWS_REGION: REGION,
          AWS_EC2_METADATA_DISABLED: 'true',
          NODE_OPTIONS: `--import=${PEAK_RSS}`,
          BENCH_RSS_FILE: rssFile,
        },
      },
      {
        'ecr-repository': REPOSITORY,
        'source-tag': SOURCE_TAG,
        'instance-tag': `${TAG.key}=${TAG.value}`,
        'max-parallel': c.maxParallel,
        'health-timeout': '60',
        'command-timeout': '300',
      },
    );
    const calls = endpoint.aws.calls;
    const ssm = calls.filter((call) => call.service === 'ssm');
    const callsByOperation: Record<string, number> = {};
    for (const call of ssm)
      callsByOperation[call.operation] = (callsByOperation[call.operation] ?? 0) + 1;
    const rss = readFileSync(rssFile, 'utf8').trim().split('\n').map(Number);
    const plan = idealPlan(c);
    const expectFailure = failingIds.size > 0;
    const versions = endpoint.ssm.instanceIds.map((id) => endpoint.ssm.running(id)?.version);
    const consistent = expectFailure
      ? versions.every((v) => v === 'v1')
      : versions.every((v) => v === 'v2');
    const deployed = run.outputs['deployed-instances']?.split(',').filter(Boolean).length ?? 0;
    let problem: string | undefined;
    if (expectFailure ? run.exitCode === 0 : run.exitCode !== 0) {
      problem = `exit ${run.exitCode}: ${run.errors.join(' / ').slice(0, 300)}`;
    } else if (!expectFailure && deployed !== c.instances) {
      problem = `deployed-instances lists ${deployed} of ${c.instances}`;
    } else if (!consistent) {
      problem = 'some instances did not end on the expected version';
    } else if (endpoint.aws.violations.length > 0) {
      // The endpoint checks every request against botocore's models (e2e/fake-aws).
      const [first] = endpoint.aws.violations;
      problem = `${endpoint.aws.violations.length} request(s) break the AWS service model, first: ${first?.operation}: ${validationMessage(first?.violations ?? [])}`;
    }
    return {
      label: caseLabel(c),
      instances: c.instances,
      maxParallel: c.maxParallel,
      failing: failingIds.size,
      wallMs: run.ms,
      idealMs: (plan.batches + plan.rollbackBatches) * options.scriptMs,
      batches: plan.batches,
      rollbackBatches: plan.rollbackBatches,
      ssmCalls: ssm.length,
      callsByOperation,
      throttled: ssm.filter((call) => call.errorType === 'ThrottlingException').length,
      peakRssKb: rss[0] ?? 0,
      summaryBytes: Buffer.byteLength(run.summary),
      logBytes: Buffer.byteLength(run.log) + Buffer.byteLength(run.postLog),
      firstCallMs: calls[0] ? calls[0].at - spawnedAt : -1,
      exitCode: run.exitCode,
      postExitCode: run.postExitCode,
      consistent,
      problem,
    };
  } finally {
    await endpoint.aws.close();
    rmSync(workDir, { recursive: true, force: true });
  }
}
