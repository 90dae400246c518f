import type {
  ElasticLoadBalancingV2Client,
  TargetDescription,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { describeAwsError } from './aws-errors.js';
import type { Clock } from './clock.js';
import type { EnvEntry } from './app-config.js';
import type { HealthVersion } from './health-version.js';
import { parseScriptReport, patterns, renderInstanceScript } from './instance-script.js';
import type { Logger } from './logger.js';
import { runScript, type InFlightCommands, type Invocation } from './run-command.js';
import {
  deployOutcome,
  describeFailure,
  describeInvocation,
  newVersionFailure,
  type InstanceResult,
} from './outcome.js';
import { PollSchedule } from './poll-schedule.js';
import { drain, registerHealthy } from './target-group.js';

export type { InstanceOutcome, InstanceResult } from './outcome.js';

export interface RolloutPlan {
  version: string;
  /** `<registry>/<repository>:<version>` */
  image: string;
  registry: string;
  region: string;
  batches: string[][];
  appDir: string;
  healthUrl: string;
  /** Default `json:version`. */
  healthVersion?: HealthVersion;
  /** `compose-file`'s text and `env`, delivered with the deploy (not with the action's rollback). */
  composeContent?: string;
  envEntries?: EnvEntry[];
  envFromSsm?: string;
  healthTimeoutSeconds: number;
  commandTimeoutSeconds: number;
  rollback: boolean;
  targetGroupArn?: string;
  /** How long one drain may take (checkTargetGroup: the deregistration delay plus a margin). */
  drainTimeoutMs?: number;
  /** Kept by each instance with its backup, for the post step's restore after a cancel. */
  deployId?: string;
}

export interface RolloutReport {
  version: string;
  image: string;
  region: string;
  targetGroupArn?: string;
  results: InstanceResult[];
  /** true only when the new version runs healthy on every instance. */
  succeeded: boolean;
  /** true when any instance was returned to its previous version. */
  rolledBack: boolean;
  /** What went wrong, for core.setFailed; unset on success. */
  failure?: string;
}

export interface RolloutDeps {
  ssm: SSMClient;
  /** SSM without SDK retries, for SendCommand (see RunCommandDeps.ssmSend). */
  ssmSend?: SSMClient;
  elb?: ElasticLoadBalancingV2Client;
  clock: Clock;
  log: Logger;
  inFlight?: InFlightCommands;
  onThrottle?: () => void;
  pollSchedule?: PollSchedule;
}

/** Splits the fleet (or any list) into batches of `size`, in order. */
export function planBatches<T>(items: T[], size: number): T[][] {
  const batches: T[][] = [];
  for (let i = 0; i < items.length; i += size) batches.push(items.slice(i, i + size));
  return batches;
}

/** Used when the plan does not say (no preflight of the target group). */
const DEFAULT_DRAIN_TIMEOUT_MS = 900_000;

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}

/** Internal per-instance state while the rollout runs. */
interface Tracked extends InstanceResult {
  /** The instance may run the new version: the action's rollback must return it. */
  updated: boolean;
  targets?: TargetDescription[];
}

function scriptFor(
  plan: RolloutPlan,
  mode: 'deploy' | 'rollback',
  image: string,
  version: string,
): string {
  return renderInstanceScript({
    mode,
    region: plan.region,
    registry: plan.registry,
    image,
    version,
    appDir: plan.appDir,
    healthUrl: plan.healthUrl,
    healthVersion: plan.healthVersion,
    // The action's rollback restores what the deploy replaced (the script's backup), never these.
    composeContent: mode === 'deploy' ? plan.composeContent : undefined,
    envEntries: mode === 'deploy' ? plan.envEntries : undefined,
    envFromSsm: mode === 'deploy' ? plan.envFromSsm : undefined,
    healthTimeoutSeconds: plan.healthTimeoutSeconds,
    rollback: plan.rollback || mode === 'rollback',
    deployId: plan.deployId,
  });
}

function errorText(error: unknown): string {
  return describeAwsError(error);
}

async function drainAll(
  deps: RolloutDeps,
  plan: RolloutPlan,
  items: Tracked[],
): Promise<Tracked[]> {
  const { elb } = deps;
  const arn = plan.targetGroupArn;
  if (!elb || !arn) return items;
  const drained = await Promise.all(
    items.map(async (item) => {
      try {
        item.targets = await drain(
          { elb, clock: deps.clock, log: deps.log },
          arn,
          item.instanceId,
          plan.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS,
        );
        return item;
      } catch (error) {
        item.outcome = 'failed';
        item.message = `${item.instanceId}: could not be drained from the target group before ${plan.version}: ${errorText(error)}`;
        return undefined;
      }
    }),
  );
  return drained.filter((item): item is Tracked => item !== undefined);
}

/** Registers the instance back and waits for the target group to call it healthy. */
async function registerBack(
  deps: RolloutDeps,
  plan: RolloutPlan,
  item: Tracked,
): Promise<string | undefined> {
  const { elb } = deps;
  if (!elb || !plan.targetGroupArn || !item.targets) return undefined;
  const timeoutMs = Math.max(plan.healthTimeoutSeconds, 300) * 1000;
  try {
    const health = await registerHealthy(
      { elb, clock: deps.clock, log: deps.log },
      plan.targetGroupArn,
      item.targets,
      timeoutMs,
    );
    return health.healthy
      ? undefined
      : `the target group reports it ${health.reason} after ${seconds(timeoutMs)}`;
  } catch (error) {
    return `registering it in the target group failed: ${errorText(error)}`;
  }
}

function logInstance(deps: RolloutDeps, item: Tracked, what: string): void {
  deps.log.group(
    `${item.instanceId}: ${what} (${seconds(item.durationMs)})`,
    item.output || '(no output)',
  );
  if (item.message) deps.log.info(item.message);
}

async function deployBatch(deps: RolloutDeps, plan: RolloutPlan, items: Tracked[]): Promise<void> {
  const started = deps.clock.now();
  const ready = await drainAll(deps, plan, items);
  if (ready.length > 0) {
    let invocations: Map<string, Invocation>;
    try {
      invocations = await runScript(deps, {
        instanceIds: ready.map((item) => item.instanceId),
        script: scriptFor(plan, 'deploy', plan.image, plan.version),
        executionTimeoutSeconds: plan.commandTimeoutSeconds,
        comment: `challenge-deploy ${plan.version}`,
      });
    } catch (error) {
      invocations = new Map();
      for (const item of ready) {
        item.outcome = 'failed';
        item.message = `${item.instanceId}: ${plan.version} could not be run through SSM: ${errorText(error)}`;
      }
    }
    for (const item of ready) {
      const invocation = invocations.get(item.instanceId);
      if (invocation) {
        Object.assign(item, deployOutcome(item.instanceId, plan.version, invocation));
        item.commandIds = [...(item.commandIds ?? []), invocation.commandId];
      }
    }
  }
  await Promise.all(
    items.map(async (item) => {
      const serving = item.outcome === 'deployed' || item.outcome === 'rolled-back';
      const unchanged =
        item.outcome === 'failed' && !item.updated && item.previousImage !== undefined;
      if (serving || unchanged) {
        const problem = await registerBack(deps, plan, item);
        if (problem && item.outcome === 'deployed') {
          item.outcome = 'failed';
          item.newVersionFailed = true;
          item.message = `${item.instanceId}: ${plan.version} is healthy on the instance, but ${problem}.`;
        } else if (problem) {
          item.message = `${item.message ?? item.instanceId} Then ${problem}.`;
        }
      }
      item.durationMs = deps.clock.now() - started;
      logInstance(
        deps,
        item,
        item.outcome === 'deployed' ? `${plan.version} deployed` : item.outcome,
      );
    }),
  );
}

function versionOfImage(image: string): string | undefined {
  const tag = /:([^:/@]+)$/.exec(image)?.[1];
  return tag && patterns.version.test(tag) ? tag : undefined;
}

/** An updated instance on its way back, and the sentence its message starts with. */
interface Returning {
  item: Tracked;
  previousImage: string;
  previousVersion: string;
  before: string;
}

/** Judges one instance's rollback from its invocation, then registers it back. */
async function settleRollBack(
  deps: RolloutDeps,
  plan: RolloutPlan,
  back: Returning,
  invocation: Invocation | undefined,
  reason: string,
): Promise<void> {
  const { item, previousVersion, before } = back;
  if (invocation) item.commandIds = [...(item.commandIds ?? []), invocation.commandId];
  const report = invocation
    ? parseScriptReport(invocation.output, invocation.exitCode)
    : parseScriptReport('', undefined);
  if (invocation)
    item.output = `${item.output}\n----- rollback to ${previousVersion} -----\n${invocation.output}`;
  if (report.outcome === 'deployed') {
    const problem = await registerBack(deps, plan, item);
    item.outcome = problem ? 'rollback-failed' : 'rolled-back';
    item.message = problem
      ? `${before}rolled back to ${previousVersion} (${reason}), but ${problem}.`
      : `${before}rolled back to ${previousVersion} (healthy)${item.newVersionFailed ? '' : ` because ${reason}`}.`;
  } else {
    const what =
      invocation && report.outcome !== 'unknown'
        ? newVersionFailure(previousVersion, report)
        : invocation
          ? describeInvocation(invocation)
          : 'no result';
    // The script put the instance back on the new version, or never left it: it still serves.
    const stillServing = report.outcome === 'rolled-back' || report.outcome === 'failed-unchanged';
    item.outcome = 'rollback-failed';
    item.message = `${before}rolling back to ${previousVersion} failed: ${what}${stillServing ? `; it still runs ${plan.version}` : ''}.`;
    if (stillServing) await registerBack(deps, plan, item);
  }
}

/**
 * Returns updated instances to their previous version, health-gated, with the same script: all of
 * them at once (the caller passes at most a batch, the parallelism the rollout was allowed), one
 * SSM command per previous version.
 */
async function rollBack(
  deps: RolloutDeps,
  plan: RolloutPlan,
  items: Tracked[],
  reason: string,
): Promise<void> {
  const started = deps.clock.now();
  const returning: Returning[] = [];
  for (const item of items) {
    const id = item.instanceId;
    const previousImage = item.previousImage;
    const previousVersion =
      item.previousVersion ?? (previousImage ? versionOfImage(previousImage) : undefined);
    const before = item.message
      ? `${item.message.replace(/\.$/, '')}; then `
      : `${id}: ${plan.version} was healthy; `;
    if (!previousImage || !previousVersion || !patterns.image.test(previousImage)) {
      item.outcome = 'rollback-failed';
      item.message = `${before}it could not be rolled back (${reason}): its previous version is unknown (first deploy on this instance).`;
      continue;
    }
    deps.log.info(`${id}: rolling back to ${previousVersion} (${reason}).`);
    returning.push({ item, previousImage, previousVersion, before });
  }

  const drained = new Set(
    await drainAll(
      deps,
      plan,
      returning.map((back) => back.item),
    ),
  );
  for (const back of returning.filter((back) => !drained.has(back.item))) {
    back.item.outcome = 'rollback-failed';
    back.item.message = `${back.before}rolling back to ${back.previousVersion} failed: ${back.item.message ?? 'draining failed'}`;
  }
  const byPrevious = new Map<string, Returning[]>();
  for (const back of returning.filter((back) => drained.has(back.item))) {
    const key = `${back.previousImage} ${back.previousVersion}`;
    byPrevious.set(key, [...(byPrevious.get(key) ?? []), back]);
  }
  await Promise.all(
    [...byPrevious.values()].map(async (group) => {
      const { previousImage, previousVersion } = group[0] as Returning;
      try {
        const invocations = await runScript(deps, {
          instanceIds: group.map((back) => back.item.instanceId),
          script: scriptFor(plan, 'rollback', previousImage, previousVersion),
          executionTimeoutSeconds: plan.commandTimeoutSeconds,
          comment: `challenge-deploy rollback to ${previousVersion}`,
        });
        await Promise.all(
          group.map((back) =>
            settleRollBack(deps, plan, back, invocations.get(back.item.instanceId), reason),
          ),
        );
      } catch (error) {
        for (const { item, before } of group) {
          item.outcome = 'rollback-failed';
          item.message = `${before}rolling back to ${previousVersion} failed: ${errorText(error)}`;
        }
      }
    }),
  );

  for (const { item, previousVersion } of returning) {
    item.durationMs += deps.clock.now() - started;
    logInstance(
      deps,
      item,
      item.outcome === 'rolled-back' ? `rolled back to ${previousVersion}` : item.outcome,
    );
  }
}

/**
 * Deploys batch by batch and stops at the first batch with a failed instance. Then, when
 * `rollback` is set, returns every instance already updated to its previous version, newest first,
 * one at a time, each gated on its health check.
 */
export async function rollOut(given: RolloutDeps, plan: RolloutPlan): Promise<RolloutReport> {
  // One schedule for the whole rollout: each batch is first polled when the last one took.
  const deps = { ...given, pollSchedule: given.pollSchedule ?? new PollSchedule() };
  const items = plan.batches.flatMap((batch, index) =>
    batch.map((instanceId): Tracked => ({
      instanceId,
      outcome: 'not-reached',
      batch: index + 1,
      newVersion: plan.version,
      newVersionFailed: false,
      durationMs: 0,
      output: '',
      updated: false,
    })),
  );
  const deployedOrder: Tracked[] = [];
  let failedBatch: number | undefined;
  for (const [index, batch] of plan.batches.entries()) {
    const batchItems = items.filter((item) => item.batch === index + 1);
    deps.log.info(
      `Batch ${index + 1} of ${plan.batches.length}: deploying ${plan.version} to ${batch.join(', ')}.`,
    );
    await deployBatch(deps, plan, batchItems);
    deployedOrder.push(...batchItems.filter((item) => item.updated));
    if (batchItems.some((item) => item.outcome !== 'deployed')) {
      failedBatch = index + 1;
      break;
    }
  }

  if (failedBatch !== undefined) {
    const culprits = items.filter(
      (item) => item.batch === failedBatch && item.outcome !== 'deployed',
    );
    const reason = `${plan.version} failed on ${culprits.map((item) => item.instanceId).join(', ')}`;
    const toRollBack = deployedOrder.reverse();
    if (plan.rollback && toRollBack.length > 0) {
      // As many at once as the rollout deployed at once: the parallelism the user allowed.
      const size = Math.max(1, ...plan.batches.map((batch) => batch.length));
      deps.log.info(
        `Rolling back ${toRollBack.length} updated instance(s), newest first, ${size} at a time.`,
      );
      for (const chunk of planBatches(toRollBack, size)) await rollBack(deps, plan, chunk, reason);
    } else if (toRollBack.length > 0) {
      deps.log.warning(
        `rollback is false: ${toRollBack.map((item) => item.instanceId).join(', ')} stay on ${plan.version}.`,
      );
    }
  }

  const results = items.map((item): InstanceResult => ({
    instanceId: item.instanceId,
    outcome: item.outcome,
    batch: item.batch,
    newVersion: item.newVersion,
    previousVersion: item.previousVersion,
    previousImage: item.previousImage,
    newVersionFailed: item.newVersionFailed,
    message: item.message,
    durationMs: item.durationMs,
    output: item.output,
    commandIds: item.commandIds ?? [],
  }));
  const succeeded = results.every((result) => result.outcome === 'deployed');
  const rolledBack = results.some((result) => result.outcome === 'rolled-back');
  return {
    version: plan.version,
    image: plan.image,
    region: plan.region,
    targetGroupArn: plan.targetGroupArn,
    results,
    succeeded,
    rolledBack,
    failure: succeeded ? undefined : describeFailure(plan, results, failedBatch),
  };
}
