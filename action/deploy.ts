import type { ECRClient } from '@aws-sdk/client-ecr';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { Clock } from './clock.js';
import { resolveFleet } from './fleet.js';
import { batchSize, type DeployInputs } from './inputs.js';
import { renderInstanceScript } from './instance-script.js';
import type { Logger } from './logger.js';
import { describeRepository, previewImage, publishImage, type DockerCli } from './registry.js';
import { planBatches, rollOut, type InstanceResult } from './rollout.js';
import { sessionLifetimeWarning, worstCaseRolloutMs } from './session-lifetime.js';
import { checkTargetGroup, type TargetGroupCheck } from './target-group.js';
import type { InFlightCommands } from './run-command.js';
import { renderDryRun, renderSummary, rolloutOutputs, type ActionOutputs } from './summary.js';

export interface DeployDeps {
  ecr: ECRClient;
  ssm: SSMClient;
  /** SSM without SDK retries, for SendCommand (see RunCommandDeps.ssmSend). */
  ssmSend?: SSMClient;
  elb: ElasticLoadBalancingV2Client;
  docker: DockerCli;
  clock: Clock;
  log: Logger;
  /** Hides a secret in the job log. */
  mask: (secret: string) => void;
  /** Told the version and image as soon as they exist, so a later failure still reports them. */
  onImage?: (outputs: Partial<ActionOutputs>) => void;
  inFlight?: InFlightCommands;
  /** When the AWS session's credentials expire, where the SDK knows it. */
  sessionExpiry?: () => Promise<Date | undefined>;
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
export async function deploy(deps: DeployDeps, inputs: DeployInputs): Promise<DeployResult> {
  const { ecr, ssm, log } = deps;
  const fleet = await resolveFleet(ssm, inputs.fleet);
  const ids = fleet.map((instance) => instance.instanceId);
  const batches = planBatches(ids, batchSize(inputs.maxParallel, ids.length));
  log.info(`Fleet: ${ids.length} instance(s) Online, in ${batches.length} batch(es).`);
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
      healthTimeoutSeconds: inputs.healthTimeoutSeconds,
      rollback: inputs.rollback,
    });
    const source =
      inputs.imageSource.kind === 'promote'
        ? `ECR tag ${inputs.imageSource.sourceTag}`
        : `local image ${inputs.imageSource.localImage}`;
    const plan = renderDryRun({ ...image, image: image.uri, source, batches, script });
    log.info(plan);
    log.group('The instance script each instance would run', script);
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

  const image = await publishImage(
    { ecr, docker: deps.docker, mask: deps.mask, log },
    repository,
    inputs.imageSource,
    inputs.tagPrefix,
  );
  deps.onImage?.({ version: image.version, 'image-uri': image.uri, 'image-digest': image.digest });

  let throttled = 0;
  const report = await rollOut(
    {
      ssm,
      ssmSend: deps.ssmSend,
      elb: inputs.targetGroupArn ? deps.elb : undefined,
      clock: deps.clock,
      log,
      inFlight: deps.inFlight,
      onThrottle: () => throttled++,
    },
    {
      version: image.version,
      image: image.uri,
      registry: repository.registry,
      region: inputs.region,
      batches,
      appDir: inputs.appDir,
      healthUrl: inputs.healthUrl,
      healthTimeoutSeconds: inputs.healthTimeoutSeconds,
      commandTimeoutSeconds: inputs.commandTimeoutSeconds,
      rollback: inputs.rollback,
      targetGroupArn: inputs.targetGroupArn,
      drainTimeoutMs: targetGroup?.drainTimeoutMs,
    },
  );
  annotate(log, report.results);
  if (throttled > 0) {
    log.notice(
      `AWS throttled ${throttled} call(s) of this deploy; the action waited and retried them. Frequent throttling slows deploys: other automation in the account may share the SSM/ELBv2 request rate.`,
      { title: 'AWS throttling' },
    );
  }
  return {
    outputs: rolloutOutputs(report, image.digest),
    summary: renderSummary(report, image.digest),
    failure: report.failure,
  };
}

const OUTCOME_TITLE: Partial<Record<InstanceResult['outcome'], string>> = {
  failed: 'failed',
  'rollback-failed': 'rollback failed',
  'rolled-back': 'rolled back',
};

/** One annotation per instance that did not end deployed: errors for failures, warnings for rollbacks. */
function annotate(log: Logger, results: InstanceResult[]): void {
  for (const result of results) {
    const outcome = OUTCOME_TITLE[result.outcome];
    if (!outcome) continue;
    const title = `${result.instanceId}: ${outcome}`;
    const message = result.message ?? title;
    if (result.outcome === 'rolled-back') log.warning(message, { title });
    else log.error(message, { title });
  }
}
