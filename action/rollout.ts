import type {
  ElasticLoadBalancingV2Client,
  TargetDescription,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { AlarmWatch, describeAlarm, type AlarmVerdict } from './alarms.js';
import { describeAwsError } from './aws-errors.js';
import { recheckHealth, watchAlarms } from './bake.js';
import type { HookRun } from './hooks.js';
import type { Clock } from './clock.js';
import type { EnvEntry } from './app-config.js';
import type { HealthVersion } from './health-version.js';
import { parseScriptReport, patterns, renderInstanceScript } from './instance-script.js';
import type { Logger } from './logger.js';
import type { RolloutJournal } from './rollout-journal.js';
import {
  inFlightCommands,
  runScript,
  type InFlightCommands,
  type Invocation,
} from './run-command.js';
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
export type { RolloutJournal } from './rollout-journal.js';
export type { HookRun } from './hooks.js';

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
  /** `bake-time`: seconds watched after each batch, then a health re-check; absent or 0: none. */
  bakeSeconds?: number;
  /** `alarm-names`: CloudWatch alarms read before the first batch and after each one. */
  alarmNames?: string[];
  /** `max-failures` as a number of instances (batch-plan.ts failureBudget); default 0. */
  maxFailures?: number;
  /** The rollout's id, kept by each instance with its backup (restore after a cancel trusts it). */
  deployId?: string;
  /** The first batch is a canary (`canary` set): the log says so. */
  canary?: boolean;
}

/** One bar of the job summary's timeline, in the injected clock's milliseconds. */
export interface TimelineEntry {
  section: 'Hooks' | 'Batches' | 'Bake' | 'Rollback';
  label: string;
  startedAt: number;
  endedAt: number;
  failed: boolean;
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
  /** Instances that failed within `max-failures` and were returned to their previous version. */
  tolerated: string[];
  /** Lifecycle hooks that ran, in order. */
  hooks: HookRun[];
  /** Every SSM command sent (deploys, re-checks, hooks, rollbacks), in the order sent. */
  commandIds: string[];
  /** Batches, bakes, hooks and rollbacks, for the summary's gantt chart. */
  timeline: TimelineEntry[];
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
  /** DescribeAlarms for `alarm-names`; required when the plan names alarms. */
  cloudwatch?: CloudWatchClient;
  /** Lifecycle hooks (pre/post-deploy-command); absent: none. */
  hooks?: {
    /** Before the first batch, on the rollout's first instance; nothing has switched yet. */
    preDeploy?: (instanceId: string) => Promise<HookRun>;
    /** After the last batch succeeded (and its bake), on the rollout's first instance. */
    postDeploy?: (instanceId: string) => Promise<HookRun>;
  };
  /** Told, as the rollout goes, what the post step would need to undo it after a cancel. */
  journal?: RolloutJournal;
}

/** The rollout's own state beside its deps: what it sent and when things happened. */
interface Ctx extends RolloutDeps {
  pollSchedule: PollSchedule;
  inFlight: InFlightCommands;
  sent: Set<string>;
  timeline: TimelineEntry[];
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
  /** It is back on its previous version (or never left it): nothing to undo. */
  returned?: boolean;
  /** The action's rollback already ran on it (it is not tried twice). */
  rollbackTried?: boolean;
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
    deployId: mode === 'deploy' ? plan.deployId : undefined,
    healthTimeoutSeconds: plan.healthTimeoutSeconds,
    rollback: plan.rollback || mode === 'rollback',
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

async function deployBatch(
  deps: Ctx,
  plan: RolloutPlan,
  items: Tracked[],
  label: string,
): Promise<void> {
  const started = deps.clock.now();
  const ready = await drainAll(deps, plan, items);
  if (ready.length > 0) {
    let invocations: Map<string, Invocation>;
    deps.journal?.deploying(ready.map((item) => item.instanceId));
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
        item.failedStep = 'ssm';
        item.message = `${item.instanceId}: ${plan.version} could not be run through SSM: ${errorText(error)}`;
      }
    }
    for (const item of ready) {
      const invocation = invocations.get(item.instanceId);
      if (invocation) {
        Object.assign(item, deployOutcome(item.instanceId, plan.version, invocation));
        item.commandIds = [...(item.commandIds ?? []), invocation.commandId];
        if (item.previousImage !== undefined || item.previousVersion !== undefined)
          deps.journal?.updated(item.instanceId, item.previousImage, item.previousVersion);
        if (item.returned) deps.journal?.settled(item.instanceId);
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
          item.failedStep = 'target-group';
          item.message = `${item.instanceId}: ${plan.version} is healthy on the instance, but ${problem}.`;
        } else if (problem) {
          item.returned = false;
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
  deps.timeline.push({
    section: 'Batches',
    label,
    startedAt: started,
    endedAt: deps.clock.now(),
    failed: items.some((item) => item.outcome !== 'deployed'),
  });
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
  deps: Ctx,
  plan: RolloutPlan,
  back: Returning,
  invocation: Invocation | undefined,
  reason: string,
): Promise<void> {
  const { item, previousVersion, before } = back;
  item.rollbackTried = true;
  if (invocation) item.commandIds = [...(item.commandIds ?? []), invocation.commandId];
  const report = invocation
    ? parseScriptReport(invocation.output, invocation.exitCode)
    : parseScriptReport('', undefined);
  if (invocation)
    item.output = `${item.output}\n----- rollback to ${previousVersion} -----\n${invocation.output}`;
  if (report.outcome === 'deployed') {
    const problem = await registerBack(deps, plan, item);
    item.outcome = problem ? 'rollback-failed' : 'rolled-back';
    item.returned = !problem;
    if (!problem) deps.journal?.settled(item.instanceId);
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
  deps: Ctx,
  plan: RolloutPlan,
  items: Tracked[],
  reason: string,
): Promise<void> {
  const started = deps.clock.now();
  const returning: Returning[] = [];
  for (const item of items) {
    item.rollbackTried = true;
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
  deps.timeline.push({
    section: 'Rollback',
    label: `Roll back ${items.length} instance(s)`,
    startedAt: started,
    endedAt: deps.clock.now(),
    failed: items.some((item) => item.outcome !== 'rolled-back'),
  });
}

/** Why the rollout stopped, when it was not (only) an instance's own failure. */
export interface Stop {
  /** Finishes "… rolled back because <reason>". */
  reason: string;
  /** The line that leads the failure text; unset when the instances' messages say it all. */
  headline?: string;
  batch?: number;
}

export function alarmStop(verdict: Exclude<AlarmVerdict, { kind: 'ok' }>, when: string): Stop {
  switch (verdict.kind) {
    case 'alarm':
      return {
        reason: `CloudWatch alarm "${verdict.alarm.name}" entered ALARM`,
        headline: `${describeAlarm(verdict.alarm)} ${when}: the rollout stopped.`,
      };
    case 'missing':
      return {
        reason: `CloudWatch has no alarm named ${verdict.names.map((n) => `"${n}"`).join(', ')}`,
        headline: `alarm-names: CloudWatch has no alarm named ${verdict.names.map((n) => `"${n}"`).join(', ')} in this region and account (${when}): the rollout stopped rather than watch nothing.`,
      };
    case 'blind':
      return {
        reason: 'the CloudWatch alarms could not be read',
        headline: `The CloudWatch alarms could not be read ${when} (${verdict.error}; no answer for ${seconds(verdict.sinceMs)}): the rollout stopped rather than go on blind.`,
      };
  }
}

/** What the instance runs now, where the action knows it (the `result` output). */
function versionAfter(item: Tracked): string | undefined {
  if (item.outcome === 'deployed') return item.newVersion;
  if (item.returned) return item.previousVersion;
  // Left on the new version: rollback false, or the action's rollback never ran on it.
  const leftInPlace =
    item.outcome === 'failed' && item.updated && !item.rollbackTried && item.failedStep !== 'ssm';
  return leftInPlace ? item.newVersion : undefined;
}

/** The inFlight registry the rollout hands to runScript: it also remembers every command sent. */
function recordingInFlight(
  sent: Set<string>,
  outer: InFlightCommands | undefined,
): InFlightCommands {
  const own = outer ?? inFlightCommands();
  return {
    add: (id) => {
      sent.add(id);
      own.add(id);
    },
    remove: (id) => own.remove(id),
    list: () => own.list(),
  };
}

/**
 * Deploys batch by batch (the canary is batch 1, batch-plan.ts). After each batch: the failures
 * are judged against `max-failures`, then the bake (`bake-time`: alarms watched, then every
 * instance deployed so far re-checked with one SSM command) or, without one, a read of the
 * alarms. Anything past the budget, an alarm, or a failed post-deploy hook stops the rollout;
 * then, when `rollback` is set, every instance already updated returns to its previous version,
 * newest first, as many at once as were deployed at once, each gated on its health check.
 */
export async function rollOut(given: RolloutDeps, plan: RolloutPlan): Promise<RolloutReport> {
  const sent = new Set<string>();
  const ctx: Ctx = {
    ...given,
    // One schedule for the whole rollout: each batch is first polled when the last one took.
    pollSchedule: given.pollSchedule ?? new PollSchedule(),
    inFlight: recordingInFlight(sent, given.inFlight),
    sent,
    timeline: [],
  };
  const { clock, log } = ctx;
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
  const hooks: HookRun[] = [];
  const tolerated: Tracked[] = [];
  const budget = plan.maxFailures ?? 0;
  const bakeMs = (plan.bakeSeconds ?? 0) * 1000;
  const alarmNames = plan.alarmNames ?? [];
  if (alarmNames.length > 0 && !ctx.cloudwatch) {
    throw new Error('rollOut: alarm-names are set but no CloudWatch client was given');
  }
  const alarms =
    alarmNames.length > 0 && ctx.cloudwatch
      ? new AlarmWatch({ cloudwatch: ctx.cloudwatch, clock, log }, alarmNames)
      : undefined;

  const runHook = async (
    hook: ((instanceId: string) => Promise<HookRun>) | undefined,
    instanceId: string | undefined,
  ): Promise<HookRun | undefined> => {
    if (!hook || !instanceId) return undefined;
    const startedAt = clock.now();
    let run: HookRun;
    try {
      run = await hook(instanceId);
    } catch (error) {
      // A hook that could not even report is a failed hook: after the last batch that means a
      // rollback, never a fleet left switched because an exception skipped it.
      const phase = hook === ctx.hooks?.preDeploy ? 'pre-deploy' : 'post-deploy';
      run = {
        phase,
        instanceId,
        ok: false,
        outputTail: '',
        startedAt,
        durationMs: clock.now() - startedAt,
        message: `${phase}-command could not be run: ${errorText(error)}.`,
      };
    }
    hooks.push(run);
    if (run.commandId) sent.add(run.commandId);
    ctx.timeline.push({
      section: 'Hooks',
      label: `${run.phase}-command on ${run.instanceId}`,
      startedAt: run.startedAt,
      endedAt: run.startedAt + run.durationMs,
      failed: !run.ok,
    });
    log.group(`${run.phase}-command on ${run.instanceId}: ${run.message}`, run.outputTail);
    return run;
  };

  /**
   * Judges the instances that just failed against the budget. Within it, each must end on its
   * previous version (the script's own rollback, or the action's, for that instance alone);
   * past it, or when one cannot be returned, the rollout stops.
   */
  const absorb = async (failed: Tracked[], batch: number): Promise<Stop | undefined> => {
    if (failed.length === 0) return undefined;
    const stop: Stop = {
      reason: `${plan.version} failed on ${failed.map((item) => item.instanceId).join(', ')}`,
      batch,
    };
    const total = tolerated.length + failed.length;
    if (total > budget) {
      if (budget > 0) {
        stop.headline = `${total} instance(s) failed, more than max-failures allows (${budget}): the rollout stopped.`;
      }
      return stop;
    }
    const toReturn = failed.filter((item) => !item.returned && item.updated && !item.rollbackTried);
    if (toReturn.length > 0 && plan.rollback) {
      await rollBack(ctx, plan, toReturn, 'it failed itself, within max-failures');
    }
    const stuck = failed.filter((item) => !item.returned);
    if (stuck.length > 0) {
      stop.headline = `${stuck.map((item) => item.instanceId).join(', ')} failed and could not be returned to the previous version: max-failures covers only instances that are back on it, so the rollout stopped.`;
      return stop;
    }
    for (const item of failed) {
      tolerated.push(item);
      log.info(
        `${item.instanceId} failed and is back on ${item.previousVersion ?? 'its previous version'}; ${tolerated.length} of max-failures ${budget} used, the rollout goes on.`,
      );
    }
    return undefined;
  };

  /** The bake after a batch (or, without one, a read of the alarms). */
  const afterBatch = async (batch: number): Promise<Stop | undefined> => {
    if (bakeMs === 0 && !alarms) return undefined;
    const started = clock.now();
    if (bakeMs > 0) log.info(`Baking batch ${batch} for ${seconds(bakeMs)}.`);
    const verdict = await watchAlarms(clock, alarms, bakeMs);
    if (bakeMs > 0) {
      ctx.timeline.push({
        section: 'Bake',
        label: `Bake after batch ${batch}`,
        startedAt: started,
        endedAt: clock.now(),
        failed: verdict.kind !== 'ok',
      });
    }
    if (verdict.kind !== 'ok') {
      return {
        ...alarmStop(
          verdict,
          bakeMs > 0 ? `during the bake after batch ${batch}` : `after batch ${batch}`,
        ),
        batch,
      };
    }
    if (bakeMs === 0) return undefined;

    const deployed = items.filter((item) => item.outcome === 'deployed');
    if (deployed.length === 0) return undefined;
    const checkStarted = clock.now();
    log.info(
      `Re-checking ${plan.version} on the ${deployed.length} instance(s) deployed so far, in one SSM command.`,
    );
    let checks: Awaited<ReturnType<typeof recheckHealth>>;
    try {
      checks = await recheckHealth(
        ctx,
        plan,
        deployed.map((item) => item.instanceId),
      );
    } catch (error) {
      ctx.timeline.push({
        section: 'Bake',
        label: `Re-check after batch ${batch}`,
        startedAt: checkStarted,
        endedAt: clock.now(),
        failed: true,
      });
      return {
        reason: `the re-check after batch ${batch} could not run`,
        headline: `The health re-check after the bake of batch ${batch} could not run through SSM (${errorText(error)}): the rollout stopped rather than go on unchecked.`,
        batch,
      };
    }
    const failed: Tracked[] = [];
    for (const check of checks) {
      const item = deployed.find((d) => d.instanceId === check.instanceId) as Tracked;
      if (check.invocation) {
        item.commandIds = [...(item.commandIds ?? []), check.invocation.commandId];
      }
      if (check.healthy) continue;
      if (check.invocation) {
        item.output = `${item.output}\n----- re-check after the bake -----\n${check.invocation.output}`;
      }
      item.outcome = 'failed';
      item.newVersionFailed = true;
      item.failedStep = 'recheck';
      const what =
        check.report.outcome === 'unhealthy'
          ? newVersionFailure(plan.version, check.report)
          : `${plan.version}'s re-check got no result (${check.invocation ? describeInvocation(check.invocation) : 'no invocation'})`;
      item.message = `${item.instanceId}: ${plan.version} had passed its health gate, but after a ${seconds(bakeMs)} bake ${what}`;
      failed.push(item);
      logInstance(ctx, item, 're-check failed');
    }
    if (failed.length === 0) {
      log.info(`Re-check after batch ${batch}: ${plan.version} healthy on all ${deployed.length}.`);
    }
    ctx.timeline.push({
      section: 'Bake',
      label: `Re-check ${deployed.length} instance(s)`,
      startedAt: checkStarted,
      endedAt: clock.now(),
      failed: failed.length > 0,
    });
    return absorb(failed, batch);
  };

  const deployedOrder: Tracked[] = [];
  let stop: Stop | undefined;

  // Before anything changes: an alarm already firing stops the deploy here.
  if (alarms) {
    const verdict = await alarms.checkFresh();
    if (verdict.kind !== 'ok') {
      const early = alarmStop(verdict, 'before the first batch');
      stop = { ...early, headline: `${early.headline} No instance was changed.` };
    } else {
      log.info(`CloudWatch alarms ${alarmNames.join(', ')}: none in ALARM.`);
    }
  }
  if (!stop) {
    const run = await runHook(ctx.hooks?.preDeploy, plan.batches[0]?.[0]);
    if (run && !run.ok) {
      stop = {
        reason: 'pre-deploy-command failed',
        headline: `pre-deploy-command failed on ${run.instanceId}${run.exitCode === undefined ? '' : ` (exit ${run.exitCode})`}: ${run.message} Nothing was switched.`,
      };
    }
  }

  for (const [index, batch] of plan.batches.entries()) {
    if (stop) break;
    const number = index + 1;
    const batchItems = items.filter((item) => item.batch === number);
    const canary = index === 0 && plan.canary === true && plan.batches.length > 1;
    log.info(
      `Batch ${number} of ${plan.batches.length}${canary ? ' (canary)' : ''}: deploying ${plan.version} to ${batch.join(', ')}.`,
    );
    await deployBatch(
      ctx,
      plan,
      batchItems,
      `Batch ${number}${canary ? ' canary' : ''} (${batch.length})`,
    );
    deployedOrder.push(...batchItems.filter((item) => item.updated));
    stop =
      (await absorb(
        batchItems.filter((item) => item.outcome !== 'deployed'),
        number,
      )) ?? (await afterBatch(number));
  }

  if (!stop) {
    const first = items.find((item) => item.outcome === 'deployed');
    const run = await runHook(ctx.hooks?.postDeploy, first?.instanceId);
    if (run && !run.ok) {
      stop = {
        reason: 'post-deploy-command failed',
        headline: `post-deploy-command failed on ${run.instanceId}${run.exitCode === undefined ? '' : ` (exit ${run.exitCode})`}: ${run.message}`,
      };
    }
  }

  // A budget as big as the fleet must not turn "it failed everywhere" into a green job.
  if (!stop && tolerated.length > 0 && !items.some((item) => item.outcome === 'deployed')) {
    stop = {
      reason: `${plan.version} failed on every instance`,
      headline: `${plan.version} failed on every instance it reached (${tolerated.length}, all within max-failures ${budget}): it runs nowhere, so the deploy failed.`,
    };
  }

  if (stop) {
    const toRollBack = deployedOrder
      .filter((item) => item.updated && !item.returned && !item.rollbackTried)
      .reverse();
    if (plan.rollback && toRollBack.length > 0) {
      // As many at once as the rollout deployed at once: the parallelism the user allowed.
      const size = Math.max(1, ...plan.batches.map((batch) => batch.length));
      log.info(
        `Rolling back ${toRollBack.length} updated instance(s), newest first, ${size} at a time.`,
      );
      for (const chunk of planBatches(toRollBack, size))
        await rollBack(ctx, plan, chunk, stop.reason);
    } else if (toRollBack.length > 0) {
      log.warning(
        `rollback is false: ${toRollBack.map((item) => item.instanceId).join(', ')} stay on ${plan.version}.`,
      );
    }
  }
  ctx.journal?.finished();

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
    failedStep: item.failedStep,
    versionAfter: versionAfter(item),
  }));
  const toleratedIds = tolerated.map((item) => item.instanceId);
  const succeeded =
    !stop &&
    results.every(
      (result) => result.outcome === 'deployed' || toleratedIds.includes(result.instanceId),
    );
  const rolledBack = results.some((result) => result.outcome === 'rolled-back');
  const failure = succeeded
    ? undefined
    : [
        ...(stop?.headline ? [stop.headline] : []),
        describeFailure(plan, results, stop?.batch),
      ].join('\n');
  return {
    version: plan.version,
    image: plan.image,
    region: plan.region,
    targetGroupArn: plan.targetGroupArn,
    results,
    succeeded,
    rolledBack,
    failure,
    tolerated: toleratedIds,
    hooks,
    commandIds: [...sent],
    timeline: ctx.timeline,
  };
}
