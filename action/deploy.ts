import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { Clock } from './clock.js';
import { AppConfigError, checkComposeContent, envLines } from './app-config.js';
import { deployScriptTemplate } from './deploy-script.generated.js';
import { hookRunner, type HookContext, type HookRun } from './hooks.js';
import { rolloutJournal, type RolloutJournal } from './rollout-journal.js';
import { resolveFleet } from './fleet.js';
import { AlarmWatch } from './alarms.js';
import { RECHECK_WORST_CASE_SECONDS } from './bake.js';
import { describeBudget, failureBudget, planRollout } from './batch-plan.js';
import { InputError, type DeployInputs } from './inputs.js';
import { renderInstanceScript } from './instance-script.js';
import { publishRelease, runContext, type Release } from './release.js';
import type { Logger } from './logger.js';
import { describeRepository, previewImage, publishImage, type DockerCli } from './registry.js';
import { alarmStop, rollOut, type InstanceResult } from './rollout.js';
import { sessionLifetimeWarning, worstCaseRolloutMs } from './session-lifetime.js';
import { checkTargetGroup, type TargetGroupCheck } from './target-group.js';
import type { InFlightCommands } from './run-command.js';
import {
  renderDryRun,
  renderSummary,
  rolloutOutputs,
  strategyOutputs,
  type ActionOutputs,
} from './summary.js';

export interface DeployDeps {
  ecr: ECRClient;
  ssm: SSMClient;
  /** SSM without SDK retries, for SendCommand (see RunCommandDeps.ssmSend). */
  ssmSend?: SSMClient;
  elb: ElasticLoadBalancingV2Client;
  /** DescribeAlarms, for `alarm-names`. */
  cloudwatch?: CloudWatchClient;
  docker: DockerCli;
  clock: Clock;
  log: Logger;
  /** Hides a secret in the job log. */
  mask: (secret: string) => void;
  /** Told the version and image as soon as they exist, so a later failure still reports them. */
  onImage?: (outputs: Partial<ActionOutputs>) => void;
  inFlight?: InFlightCommands;
  /** How many AWS answers were throttled so far (main.ts counts them in every client). */
  throttleCount?: () => number;
  /** When the AWS session's credentials expire, where the SDK knows it. */
  sessionExpiry?: () => Promise<Date | undefined>;
  /** The commit and run recorded in release-parameter; default: from the runner's environment. */
  run?: { commit: string; run: string };
  /** Reads `compose-file`; default: the file under GITHUB_WORKSPACE. */
  readWorkspaceFile?: (path: string) => Uint8Array;
  /** Keeps the rollout journal in the job state (core.saveState), for the post step after a cancel. */
  saveJournal?: (state: string) => void;
  /** The rollout's id (instances keep it with their backup); default: a random UUID. */
  deployId?: string;
}

export interface DeployResult {
  outputs: ActionOutputs;
  /** Markdown for the job summary. */
  summary: string;
  /** Set when the new version does not run healthy on every instance. */
  failure?: string;
}

/**
 * A whole deploy, in the order of DESIGN.md: preflight the fleet (nothing has changed yet), then
 * the version and the image, then the rollout. A dry run stops before the image and prints the plan.
 */
/** Reads and checks `compose-file` before any AWS call; undefined when it is not set. */
function composeContent(deps: DeployDeps, inputs: DeployInputs): string | undefined {
  if (inputs.composeFile === undefined) return undefined;
  const read =
    deps.readWorkspaceFile ??
    ((path: string) => readFileSync(resolve(process.env.GITHUB_WORKSPACE ?? '.', path)));
  let bytes: Uint8Array;
  try {
    bytes = read(inputs.composeFile);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new InputError(`Input compose-file: cannot read ${inputs.composeFile} (${code}).`);
  }
  if (bytes.length === 0)
    throw new InputError(`Input compose-file: ${inputs.composeFile} is empty.`);
  // Room for the template, the env entries and the other values (paths, URL, image: < 4 KiB).
  const otherBytes =
    Buffer.byteLength(deployScriptTemplate) + Buffer.byteLength(envLines(inputs.env)) + 4096;
  try {
    return checkComposeContent(inputs.composeFile, bytes, otherBytes);
  } catch (error) {
    if (error instanceof AppConfigError) throw new InputError(error.message);
    throw error;
  }
}

export async function deploy(deps: DeployDeps, inputs: DeployInputs): Promise<DeployResult> {
  const { ecr, ssm, log } = deps;
  const compose = composeContent(deps, inputs);
  const fleet = await resolveFleet(ssm, inputs.fleet);
  const ids = fleet.map((instance) => instance.instanceId);
  const { batches, rules } = planRollout(ids, inputs.maxParallel, inputs.canary);
  log.info(`Fleet: ${ids.length} instance(s) Online, in ${batches.length} batch(es).`);
  if (inputs.canary) log.info(`Canary: ${batches[0]?.join(', ')} (${rules[0]}).`);
  const maxFailures = failureBudget(inputs.maxFailures, ids.length);
  if (maxFailures > 0) {
    log.info(`max-failures ${describeBudget(inputs.maxFailures, ids.length)} instance(s).`);
  }
  if (inputs.alarmNames.length > 0 && !deps.cloudwatch) {
    throw new Error('alarm-names is set, but the action was given no CloudWatch client.');
  }
  let targetGroup: TargetGroupCheck | undefined;
  if (inputs.targetGroupArn) {
    targetGroup = await checkTargetGroup(
      { elb: deps.elb, clock: deps.clock, log },
      inputs.targetGroupArn,
      ids,
    );
  }
  const lifetime = sessionLifetimeWarning(
    worstCaseRolloutMs({
      batches: batches.length,
      instances: ids.length,
      commandTimeoutSeconds: inputs.commandTimeoutSeconds,
      healthTimeoutSeconds: inputs.healthTimeoutSeconds,
      drainTimeoutMs: targetGroup?.drainTimeoutMs,
      rollback: inputs.rollback,
      bakeSeconds: inputs.bakeSeconds,
      recheckTimeoutSeconds: RECHECK_WORST_CASE_SECONDS,
    }),
    deps.clock.now(),
    await deps.sessionExpiry?.().catch(() => undefined),
  );
  if (lifetime) log.warning(lifetime, { title: 'AWS session may expire mid-deploy' });
  const repository = await describeRepository(ecr, inputs.ecrRepository, inputs.tagPrefix);
  if (!repository.tagsImmutable) {
    const filtered = repository.tagMutability?.endsWith('_WITH_EXCLUSION') ?? false;
    const what = filtered
      ? `has mutable version tags (its ${repository.tagMutability} filters leave ${inputs.tagPrefix}N tags mutable)`
      : 'has mutable tags';
    log.warning(
      `ECR repository ${repository.name} ${what}: two concurrent runs could both write the same version tag and the later one would win. Set its imageTagMutability to IMMUTABLE${filtered ? ` or change the filters so that no ${inputs.tagPrefix}N tag is mutable` : ''}.`,
    );
  }

  if (inputs.dryRun) {
    const image = await previewImage(ecr, repository, inputs.imageSource, inputs.tagPrefix);
    const script = renderInstanceScript({
      mode: 'deploy',
      region: inputs.region,
      registry: repository.registry,
      image: image.uri,
      version: image.version,
      appDir: inputs.appDir,
      healthUrl: inputs.healthUrl,
      healthVersion: inputs.healthVersion,
      healthTimeoutSeconds: inputs.healthTimeoutSeconds,
      rollback: inputs.rollback,
      composeContent: compose,
      // The plan is printed: the env values are not.
      envEntries: inputs.env.map(({ key }) => ({ key, value: '(hidden)' })),
      envFromSsm: inputs.envFromSsm,
    });
    const source =
      inputs.imageSource.kind === 'promote'
        ? `ECR tag ${inputs.imageSource.sourceTag}`
        : `local image ${inputs.imageSource.localImage}`;
    const plan = renderDryRun({
      ...image,
      image: image.uri,
      source,
      batches,
      rules,
      script,
      strategy: strategyLines(inputs, ids.length),
    });
    log.info(plan);
    log.group('The instance script each instance would run', script);
    for (const [name, words] of [
      ['pre-deploy-command', inputs.preDeployCommand],
      ['post-deploy-command', inputs.postDeployCommand],
    ] as const) {
      if (words) {
        log.info(
          `${name} would run on ${ids[0] ?? '?'} in service ${inputs.composeService ?? '(the first of the compose file)'}, as argv: ${JSON.stringify(words)}`,
        );
      }
    }
    return {
      outputs: {
        version: image.version,
        'image-uri': image.uri,
        'image-digest': image.digest,
        'deployed-instances': '',
        'failed-instances': '',
        'rolled-back': 'false',
      },
      summary: `### Dry run of ${image.version}\n\n\`\`\`text\n${plan}\n\`\`\`\n`,
    };
  }

  // Before the image: an alarm already firing stops the deploy with nothing changed, not even a
  // tag in ECR. rollOut reads the alarms again before its first batch (a push can take minutes).
  if (inputs.alarmNames.length > 0 && deps.cloudwatch) {
    const verdict = await new AlarmWatch(
      { cloudwatch: deps.cloudwatch, clock: deps.clock, log },
      inputs.alarmNames,
    ).checkFresh();
    if (verdict.kind !== 'ok') {
      throw new Error(
        `${alarmStop(verdict, 'before the deploy').headline ?? ''} Nothing was changed: no version was tagged and no instance was touched.`,
      );
    }
    log.info(`CloudWatch alarms ${inputs.alarmNames.join(', ')}: none in ALARM.`);
  }

  const image = await publishImage(
    { ecr, docker: deps.docker, mask: deps.mask, log },
    repository,
    inputs.imageSource,
    inputs.tagPrefix,
  );
  deps.onImage?.({ version: image.version, 'image-uri': image.uri, 'image-digest': image.digest });

  // Hooks and the journal for rollback on cancel (issue 12): spread in, built below.
  const deployId = deps.deployId ?? randomUUID();
  const lifecycle = lifecycleDeps(deps, inputs, {
    deployId,
    region: inputs.region,
    registry: repository.registry,
    image: image.uri,
    version: image.version,
    appDir: inputs.appDir,
    service: inputs.composeService,
    composeContent: compose,
    envEntries: inputs.env,
    envFromSsm: inputs.envFromSsm,
    commandTimeoutSeconds: inputs.commandTimeoutSeconds,
  });
  const report = await rollOut(
    {
      ssm,
      ssmSend: deps.ssmSend,
      elb: inputs.targetGroupArn ? deps.elb : undefined,
      clock: deps.clock,
      log,
      inFlight: deps.inFlight,
      ...lifecycle,
      cloudwatch: deps.cloudwatch,
    },
    {
      version: image.version,
      image: image.uri,
      registry: repository.registry,
      region: inputs.region,
      batches,
      appDir: inputs.appDir,
      healthUrl: inputs.healthUrl,
      healthVersion: inputs.healthVersion,
      composeContent: compose,
      envEntries: inputs.env,
      envFromSsm: inputs.envFromSsm,
      healthTimeoutSeconds: inputs.healthTimeoutSeconds,
      commandTimeoutSeconds: inputs.commandTimeoutSeconds,
      rollback: inputs.rollback,
      targetGroupArn: inputs.targetGroupArn,
      drainTimeoutMs: targetGroup?.drainTimeoutMs,
      deployId,
      bakeSeconds: inputs.bakeSeconds,
      alarmNames: inputs.alarmNames,
      maxFailures,
      canary: inputs.canary !== undefined,
    },
  );
  annotate(log, report.results, report.tolerated);
  const throttled = deps.throttleCount?.() ?? 0;
  if (throttled > 0) {
    log.notice(
      `AWS throttled ${throttled} request(s) of this deploy; the SDK and the action waited and retried them. Frequent throttling slows deploys: other automation in the account may share the SSM/ELBv2 request rate.`,
      { title: 'AWS throttling' },
    );
  }
  let failure = report.failure;
  let summary = renderSummary(report, image.digest);
  if (report.succeeded && !failure && inputs.releaseParameter) {
    failure = await recordRelease(deps, inputs.releaseParameter, {
      version: image.version,
      image: image.uri,
      digest: image.digest,
      ...(deps.run ?? runContext(process.env)),
    });
    if (failure) summary += `\n### ❌ ${failure}\n`;
  }
  return {
    outputs: { ...rolloutOutputs(report, image.digest), ...strategyOutputs(report) },
    summary,
    failure,
  };
}

/** What the dry run says about bake-time, alarm-names and max-failures (nothing when unset). */
function strategyLines(inputs: DeployInputs, fleetSize: number): string[] {
  const lines: string[] = [];
  if (inputs.bakeSeconds > 0) {
    lines.push(
      `Bake: ${inputs.bakeSeconds} s after each batch, then one SSM command re-checks every instance deployed so far.`,
    );
  }
  if (inputs.alarmNames.length > 0) {
    lines.push(
      `Alarms: ${inputs.alarmNames.join(', ')}, read before the first batch, ${inputs.bakeSeconds > 0 ? 'during each bake' : 'after each batch'}; one in ALARM stops and rolls back.`,
    );
  }
  const budget = failureBudget(inputs.maxFailures, fleetSize);
  if (budget > 0) {
    lines.push(
      `max-failures: ${describeBudget(inputs.maxFailures, fleetSize)}: up to ${budget} failed instance(s) go back alone and the rollout goes on.`,
    );
  }
  return lines;
}

/** Writes release-parameter; a failure is the job's failure (new instances would boot the old one). */
async function recordRelease(
  deps: DeployDeps,
  name: string,
  release: Release,
): Promise<string | undefined> {
  try {
    await publishRelease(deps.ssm, name, release);
    deps.log.info(`Release ${release.version} recorded in SSM parameter ${name}.`);
    return undefined;
  } catch (error) {
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return `${release.version} runs healthy on every instance, but recording it in the SSM parameter ${name} failed (${text}): instances launched from now on would start the previous release. Re-run the job, or put the release there by hand.`;
  }
}

const OUTCOME_TITLE: Partial<Record<InstanceResult['outcome'], string>> = {
  failed: 'failed',
  'rollback-failed': 'rollback failed',
  'rolled-back': 'rolled back',
};

/**
 * One annotation per instance that did not end deployed: errors for failures, warnings for
 * rollbacks and for failures within max-failures (`tolerated`: the job still succeeds).
 */
function annotate(log: Logger, results: InstanceResult[], tolerated: string[] = []): void {
  for (const result of results) {
    const outcome = OUTCOME_TITLE[result.outcome];
    if (!outcome) continue;
    const within = tolerated.includes(result.instanceId);
    const title = `${result.instanceId}: ${outcome}${within ? ' (within max-failures)' : ''}`;
    const message = result.message ?? title;
    if (result.outcome === 'rolled-back' || within) log.warning(message, { title });
    else log.error(message, { title });
  }
}

/** The RolloutDeps fields for hooks and the journal (interface of issue 12, rollout.ts). */
export interface LifecycleDeps {
  hooks?: {
    preDeploy?: (instanceId: string) => Promise<HookRun>;
    postDeploy?: (instanceId: string) => Promise<HookRun>;
  };
  journal?: RolloutJournal;
}

/**
 * The rollout's hooks (pre-/post-deploy-command) and its journal (saved for the post step), as
 * RolloutDeps fields; absent when the inputs and deps ask for neither.
 */
export function lifecycleDeps(
  deps: DeployDeps,
  inputs: DeployInputs,
  context: HookContext & { deployId: string },
): LifecycleDeps {
  const runDeps = {
    ssm: deps.ssm,
    ssmSend: deps.ssmSend,
    clock: deps.clock,
    log: deps.log,
    inFlight: deps.inFlight,
  };
  const hooks: NonNullable<LifecycleDeps['hooks']> = {};
  if (inputs.preDeployCommand) {
    hooks.preDeploy = hookRunner(runDeps, 'pre-deploy', inputs.preDeployCommand, context);
  }
  if (inputs.postDeployCommand) {
    hooks.postDeploy = hookRunner(runDeps, 'post-deploy', inputs.postDeployCommand, context);
  }
  const journal = deps.saveJournal
    ? rolloutJournal(deps.saveJournal, {
        version: context.version,
        deployId: context.deployId,
        region: inputs.region,
        registry: context.registry,
        appDir: inputs.appDir,
        healthUrl: inputs.healthUrl,
        healthVersion: inputs.healthVersion,
        healthTimeoutSeconds: inputs.healthTimeoutSeconds,
        commandTimeoutSeconds: inputs.commandTimeoutSeconds,
        rollback: inputs.rollback,
      })
    : undefined;
  return {
    ...(hooks.preDeploy || hooks.postDeploy ? { hooks } : {}),
    ...(journal ? { journal } : {}),
  };
}
