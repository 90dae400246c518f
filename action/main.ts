// The action, for both the main and the post run (action.yml has one bundle): the main run saves
// `isPost` in the job state, so a run that finds it is the post run (like actions/checkout).
// index.ts runs it; importing this module runs nothing. This is the only module that touches @actions/core inputs, outputs, state
// and the job summary; everything it calls takes plain values and injected clients.
// Why there is no @actions/github: docs/decisions.md.
import * as core from '@actions/core';
import { getExecOutput } from '@actions/exec';
import { awsClients } from './aws-clients.js';
import { systemClock } from './clock.js';
import { deploy } from './deploy.js';
import { describeAwsError, requestIdOf } from './aws-errors.js';
import { parseInputs, type DeployInputs } from './inputs.js';
import type { Logger } from './logger.js';
import { cancelInFlight, undoRollout } from './post.js';
import { readJournal } from './rollout-journal.js';
import type { DockerCli } from './registry.js';
import { inFlightCommands } from './run-command.js';
import type { ActionOutputs } from './summary.js';

const STATE_IS_POST = 'isPost';
const STATE_REGION = 'region';
const STATE_COMMANDS = 'inFlightCommands';
const STATE_JOURNAL = 'rolloutJournal';
/**
 * How long the post step waits for its rollback: a cancelled job's steps get 5 minutes in all
 * (the main step up to 10 s of them, SIGINT to kill); see docs/decisions.md.
 */
const POST_STEP_BUDGET_MS = 240_000;

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
  let throttled = 0;
  const aws = awsClients({ region: inputs.region, onThrottle: () => throttled++ });
  const inFlight = inFlightCommands((commandIds) =>
    core.saveState(STATE_COMMANDS, JSON.stringify(commandIds)),
  );
  // A cancelled job gets SIGINT, then SIGTERM 7.5 s later and a kill 2.5 s after that: too little
  // time to wait for a rollback. Stop the instances' commands; the post step (run after a cancel)
  // then rolls back what the journal says is unsettled.
  const onSignal = (signal: NodeJS.Signals): void => {
    core.warning(
      `${signal}: cancelling the SSM commands still running; the post step rolls back what this run changed.`,
    );
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
        throttleCount: () => throttled,
        saveJournal: (state) => core.saveState(STATE_JOURNAL, state),
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
  // A finished rollout (every normal run) leaves nothing to undo: say nothing.
  const saved = readJournal(core.getState(STATE_JOURNAL));
  const journal = saved && !saved.finished ? saved : undefined;
  if (!region || (commandIds.length === 0 && !journal)) return;
  const aws = awsClients({ region });
  // First stop what still runs, so that no deploy races the rollback on an instance.
  if (commandIds.length > 0) await cancelInFlight(aws.ssm, commandIds, log);
  if (!journal) return;
  let timer: NodeJS.Timeout | undefined;
  const budget = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, POST_STEP_BUDGET_MS);
  });
  const report = await undoRollout(
    { ssm: aws.ssm, ssmSend: aws.ssmSend, clock: systemClock, log },
    journal,
    budget,
  );
  clearTimeout(timer);
  if (report.summary) await writeSummary(report.summary);
  const unfinished = report.results.filter(
    (r) => r.outcome === 'rollback-failed' || r.outcome === 'not-confirmed',
  );
  if (unfinished.length > 0) {
    core.setFailed(
      `After the cancelled rollout of ${journal.version}, ${unfinished.map((r) => r.instanceId).join(', ')} could not be confirmed back on the previous version: check them (job summary).`,
    );
  }
  // Polls of an undo still running would keep the process (and the job) alive: it goes on on
  // the instances without us.
  if (report.timedOut) process.exit();
}

export async function run(): Promise<void> {
  try {
    if (core.getState(STATE_IS_POST) === 'true') await runPost();
    else await runMain();
  } catch (error) {
    core.setFailed(error instanceof Error ? error.message : String(error));
  }
}
