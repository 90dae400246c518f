// The action's entry point, for both the main and the post run (action.yml has one bundle): the
// main run saves `isPost` in the job state, so a run that finds it is the post run (like
// actions/checkout). This is the only module that touches @actions/core inputs, outputs, state
// and the job summary; everything it calls takes plain values and injected clients.
import * as core from '@actions/core';
import { getExecOutput } from '@actions/exec';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { systemClock } from './clock.js';
import { resolveFleet } from './fleet.js';
import { batchSize, parseInputs, type DeployInputs } from './inputs.js';
import { renderInstanceScript } from './instance-script.js';
import type { Logger } from './logger.js';
import { cancelInFlight } from './post.js';
import { describeRepository, previewImage, publishImage, type DockerCli } from './registry.js';
import { planBatches, rollOut } from './rollout.js';
import { inFlightCommands } from './run-command.js';
import { renderDryRun, renderSummary, rolloutOutputs, type ActionOutputs } from './summary.js';

const STATE_IS_POST = 'isPost';
const STATE_REGION = 'region';
const STATE_COMMANDS = 'inFlightCommands';

const log: Logger = {
  info: (message) => core.info(message),
  warning: (message) => core.warning(message),
  group: (title, body) => {
    core.startGroup(title);
    core.info(body);
    core.endGroup();
  },
};

const docker: DockerCli = async (args, options) => {
  const result = await getExecOutput('docker', args, {
    ignoreReturnCode: true,
    input: options?.input === undefined ? undefined : Buffer.from(options.input),
  });
  return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
};

/** SDK clients with adaptive retries (client-side rate limiting against throttling); they honour AWS_ENDPOINT_URL. */
function clients(region: string): {
  ecr: ECRClient;
  ssm: SSMClient;
  elb: ElasticLoadBalancingV2Client;
} {
  const config = { region, retryMode: 'adaptive', maxAttempts: 5 };
  return {
    ecr: new ECRClient(config),
    ssm: new SSMClient(config),
    elb: new ElasticLoadBalancingV2Client(config),
  };
}

function setOutputs(outputs: Partial<ActionOutputs>): void {
  for (const [name, value] of Object.entries(outputs)) core.setOutput(name, value);
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function dryRun(
  inputs: DeployInputs,
  aws: ReturnType<typeof clients>,
  batches: string[][],
): Promise<void> {
  const repository = await describeRepository(aws.ecr, inputs.ecrRepository);
  const image = await previewImage(aws.ecr, repository, inputs.imageSource, inputs.tagPrefix);
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
  core.info(plan);
  log.group('The instance script each instance would run', script);
  setOutputs({
    version: image.version,
    'image-uri': image.uri,
    'image-digest': image.digest,
    'deployed-instances': '',
    'failed-instances': '',
    'rolled-back': 'false',
  });
  await core.summary
    .addRaw(`### Dry run of ${image.version}\n\n\`\`\`text\n${plan}\n\`\`\`\n`)
    .write();
}

async function runMain(): Promise<void> {
  core.saveState(STATE_IS_POST, 'true');
  const inputs = parseInputs((name) => core.getInput(name), process.env);
  core.saveState(STATE_REGION, inputs.region);
  const aws = clients(inputs.region);

  // Preflight before anything changes: every instance managed by SSM and Online.
  const fleet = await resolveFleet(aws.ssm, inputs.fleet);
  const ids = fleet.map((instance) => instance.instanceId);
  const batches = planBatches(ids, batchSize(inputs.maxParallel, ids.length));
  core.info(`Fleet: ${ids.length} instance(s) Online, ${batches.length} batch(es).`);
  if (inputs.dryRun) return dryRun(inputs, aws, batches);

  const repository = await describeRepository(aws.ecr, inputs.ecrRepository);
  const image = await publishImage(
    { ecr: aws.ecr, docker, mask: (secret) => core.setSecret(secret), log },
    repository,
    inputs.imageSource,
    inputs.tagPrefix,
  );
  setOutputs({ version: image.version, 'image-uri': image.uri, 'image-digest': image.digest });

  const inFlight = inFlightCommands((commandIds) =>
    core.saveState(STATE_COMMANDS, JSON.stringify(commandIds)),
  );
  // A cancelled job gets SIGINT, then SIGTERM: stop the instances' commands before exiting.
  const onSignal = (signal: NodeJS.Signals): void => {
    core.warning(`${signal}: cancelling the SSM commands still running.`);
    void cancelInFlight(aws.ssm, inFlight.list(), log).finally(() => process.exit(1));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const report = await rollOut(
    {
      ssm: aws.ssm,
      elb: inputs.targetGroupArn ? aws.elb : undefined,
      clock: systemClock,
      log,
      inFlight,
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
    },
  );
  process.removeListener('SIGINT', onSignal);
  process.removeListener('SIGTERM', onSignal);

  setOutputs(rolloutOutputs(report, image.digest));
  await core.summary.addRaw(renderSummary(report, image.digest)).write();
  if (report.failure) core.setFailed(report.failure);
  else core.info(`${image.version} runs healthy on ${ids.length} instance(s).`);
}

async function runPost(): Promise<void> {
  const commandIds = JSON.parse(core.getState(STATE_COMMANDS) || '[]') as string[];
  const region = core.getState(STATE_REGION);
  if (commandIds.length === 0 || !region) return;
  await cancelInFlight(clients(region).ssm, commandIds, log);
}

export async function run(): Promise<void> {
  try {
    if (core.getState(STATE_IS_POST) === 'true') await runPost();
    else await runMain();
  } catch (error) {
    core.setFailed(message(error));
  }
}

await run();
