// The action, for both the main and the post run (action.yml has one bundle): the main run saves
// `isPost` in the job state, so a run that finds it is the post run (like actions/checkout).
// index.ts runs it; importing this module runs nothing. This is the only module that touches @actions/core inputs, outputs, state
// and the job summary; everything it calls takes plain values and injected clients.
import * as core from '@actions/core';
import { getExecOutput } from '@actions/exec';
import { awsClients } from './aws-clients.js';
import { systemClock } from './clock.js';
import { deploy } from './deploy.js';
import { describeAwsError, requestIdOf } from './aws-errors.js';
import { parseInputs, type DeployInputs } from './inputs.js';
import type { Logger } from './logger.js';
import { cancelInFlight } from './post.js';
import type { DockerCli } from './registry.js';
import { inFlightCommands } from './run-command.js';
import type { ActionOutputs } from './summary.js';

const STATE_IS_POST = 'isPost';
const STATE_REGION = 'region';
const STATE_COMMANDS = 'inFlightCommands';

const log: Logger = {
  info: (message) => core.info(message),
  warning: (message, annotation) => core.warning(message, annotation),
  error: (message, annotation) => core.error(message, annotation),
  notice: (message, annotation) => core.notice(message, annotation),
  debug: (message) => core.debug(message),
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

/** The job summary is a report, not the result: failing to write it must not change the outcome. */
async function writeSummary(markdown: string): Promise<void> {
  try {
    await core.summary.addRaw(markdown).write();
  } catch (error) {
    core.warning(
      `Could not write the job summary: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

function setOutputs(outputs: Partial<ActionOutputs>): void {
  for (const [name, value] of Object.entries(outputs)) core.setOutput(name, value);
}

/** Writes why the deploy stopped to the job summary, then lets the error fail the step. */
async function stopped(error: unknown): Promise<never> {
  const requestId = requestIdOf(error);
  if (requestId) core.debug(`AWS request id of the failed call: ${requestId}`);
  const text = describeAwsError(error);
  await writeSummary(`### ❌ The deploy stopped\n\n\`\`\`text\n${text}\n\`\`\`\n`);
  throw new Error(text, { cause: error });
}

async function runMain(): Promise<void> {
  core.saveState(STATE_IS_POST, 'true');
  let inputs: DeployInputs;
  try {
    inputs = parseInputs((name) => core.getInput(name), process.env);
  } catch (error) {
    return stopped(error);
  }
  core.saveState(STATE_REGION, inputs.region);
  const aws = awsClients({ region: inputs.region });
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
  try {
    const result = await deploy(
      {
        ...aws,
        docker,
        clock: systemClock,
        log,
        mask: (secret) => core.setSecret(secret),
        onImage: setOutputs,
        inFlight,
        sessionExpiry: async () => (await aws.ssm.config.credentials()).expiration,
      },
      inputs,
    );
    setOutputs(result.outputs);
    await writeSummary(result.summary);
    if (result.failure) core.setFailed(result.failure);
  } catch (error) {
    await stopped(error);
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

async function runPost(): Promise<void> {
  const commandIds = JSON.parse(core.getState(STATE_COMMANDS) || '[]') as string[];
  const region = core.getState(STATE_REGION);
  if (commandIds.length === 0 || !region) return;
  await cancelInFlight(awsClients({ region }).ssm, commandIds, log);
}

export async function run(): Promise<void> {
  try {
    if (core.getState(STATE_IS_POST) === 'true') await runPost();
    else await runMain();
  } catch (error) {
    core.setFailed(error instanceof Error ? error.message : String(error));
  }
}
