import { randomBytes } from 'node:crypto';
import {
  CancelCommandCommand,
  GetCommandInvocationCommand,
  paginateListCommandInvocations,
  paginateListCommands,
  SendCommandCommand,
  type SendCommandCommandOutput,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { errorName, isRejected, isThrottling, requestIdOf } from './aws-errors.js';
import type { Clock } from './clock.js';
import type { Logger } from './logger.js';

export { isThrottling } from './aws-errors.js';

/** SendCommand takes at most 50 instance ids per call. */
export const MAX_IDS_PER_COMMAND = 50;
/** How long SSM may take to deliver the command (SendCommand TimeoutSeconds, not the run time). */
export const DELIVERY_TIMEOUT_SECONDS = 300;
/**
 * Right after SendCommand, ListCommandInvocations can answer an empty list or InvalidCommandId
 * (the command is not visible yet); InvocationDoesNotExist belongs to GetCommandInvocation only.
 */
export const INVOCATION_GRACE_MS = 60_000;
/** How many times a SendCommand whose answer was lost is looked up and sent again. */
export const MAX_SEND_ATTEMPTS = 3;
/** ListCommands' InvokedAfter filter is compared with AWS's clock, not ours: allow for skew. */
const CLOCK_SKEW_MS = 5 * 60_000;
const FIRST_POLL_MS = 2_000;
const MAX_POLL_MS = 15_000;
const MAX_THROTTLED_POLL_MS = 30_000;

// NoInvocation is ours: SSM never listed the instance's invocation within the grace period.
const FINISHED = new Set(['Success', 'Failed', 'TimedOut', 'Cancelled', 'NoInvocation']);

export interface Invocation {
  instanceId: string;
  commandId: string;
  /** Success | Failed | TimedOut | Cancelled, or NoInvocation when SSM never listed one. */
  status: string;
  statusDetails?: string;
  /** The script's exit code; undefined when it did not finish. */
  exitCode?: number;
  /** The first 24,000 characters of stdout (all SSM keeps). */
  output: string;
}

/** Commands sent and not yet finished: the post step and the signal handler cancel them. */
export interface InFlightCommands {
  add(commandId: string): void;
  remove(commandId: string): void;
  list(): string[];
}

export function inFlightCommands(
  onChange: (ids: string[]) => void = () => undefined,
): InFlightCommands {
  const ids = new Set<string>();
  return {
    add(id) {
      ids.add(id);
      onChange([...ids]);
    },
    remove(id) {
      ids.delete(id);
      onChange([...ids]);
    },
    list: () => [...ids],
  };
}

export interface RunCommandDeps {
  ssm: SSMClient;
  /**
   * The client SendCommand goes through, with SDK retries off (main.ts builds it): SendCommand has
   * no idempotency token, so an SDK retry after a lost response could start a second command.
   * sendScript retries itself, after looking the command up. Defaults to `ssm`.
   */
  ssmSend?: SSMClient;
  clock: Clock;
  log: Logger;
  inFlight?: InFlightCommands;
  /** Told each time AWS throttled a call, for the run's throttling notice. */
  onThrottle?: () => void;
}

export interface ScriptRun {
  instanceIds: string[];
  script: string;
  executionTimeoutSeconds: number;
  comment: string;
}

/**
 * Retries a call that the SDK's adaptive retries already gave up on because of throttling, with a
 * growing pause, until `deadline`.
 */
async function withThrottleRetry<T>(
  deps: Pick<RunCommandDeps, 'clock' | 'onThrottle'>,
  deadline: number,
  call: () => Promise<T>,
): Promise<T> {
  const { clock } = deps;
  let pause = FIRST_POLL_MS;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (!isThrottling(error)) throw error;
      deps.onThrottle?.();
      if (clock.now() + pause > deadline) throw error;
      await clock.sleep(pause);
      pause = Math.min(pause * 2, MAX_THROTTLED_POLL_MS);
    }
  }
}

/** The SSM Run Command console page of a command (linked from the log and the job summary). */
export function commandConsoleUrl(region: string, commandId: string): string {
  return `https://${region}.console.aws.amazon.com/systems-manager/run-command/${encodeURIComponent(commandId)}?region=${region}`;
}

/** Finds a command this run sent whose answer was lost: same comment (unique), same instances. */
async function findSentCommand(
  ssm: SSMClient,
  comment: string,
  instanceIds: string[],
  sentAfter: number,
): Promise<string | undefined> {
  const invokedAfter = new Date(sentAfter - CLOCK_SKEW_MS).toISOString().replace(/\.\d+Z$/, 'Z');
  const pages = paginateListCommands(
    { client: ssm, pageSize: MAX_IDS_PER_COMMAND },
    {
      InstanceId: instanceIds[0],
      Filters: [
        { key: 'InvokedAfter', value: invokedAfter },
        { key: 'DocumentName', value: 'AWS-RunShellScript' },
      ],
    },
  );
  for await (const page of pages) {
    const found = (page.Commands ?? []).find((command) => command.Comment === comment);
    if (found?.CommandId) return found.CommandId;
  }
  return undefined;
}

/**
 * Sends one SendCommand. SendCommand has no idempotency token, so it is never sent again blindly:
 * throttling means it was refused (retry), a 4xx means it was refused (fail), and anything else
 * (5xx, timeout, reset connection) may have started it: look it up by its unique comment first.
 */
async function sendOnce(
  deps: RunCommandDeps,
  run: ScriptRun,
  instanceIds: string[],
): Promise<string> {
  const { clock, log } = deps;
  const client = deps.ssmSend ?? deps.ssm;
  // The comment identifies this very call in ListCommands if its answer is lost.
  const tag = ` #${randomBytes(4).toString('hex')}`;
  const comment = `${run.comment.slice(0, 100 - tag.length)}${tag}`;
  const started = clock.now();
  for (let attempt = 1; ; attempt++) {
    let answer: SendCommandCommandOutput;
    try {
      answer = await withThrottleRetry(deps, clock.now() + 120_000, () =>
        client.send(
          new SendCommandCommand({
            DocumentName: 'AWS-RunShellScript',
            InstanceIds: instanceIds,
            Comment: comment,
            TimeoutSeconds: DELIVERY_TIMEOUT_SECONDS,
            // executionTimeout bounds the script's run; TimeoutSeconds above only bounds delivery.
            Parameters: {
              commands: [run.script],
              executionTimeout: [String(run.executionTimeoutSeconds)],
            },
          }),
        ),
      );
    } catch (error) {
      log.debug(`SSM SendCommand failed, request id ${requestIdOf(error) ?? '(none)'}.`);
      if (isThrottling(error) || isRejected(error)) throw error;
      const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      log.warning(
        `SSM SendCommand for ${instanceIds.join(', ')} got no answer (${what}); looking the command up before sending it again.`,
      );
      await clock.sleep(FIRST_POLL_MS);
      const found = await withThrottleRetry(deps, clock.now() + 120_000, () =>
        findSentCommand(deps.ssm, comment, instanceIds, started),
      );
      if (found) {
        log.info(`SSM had started command ${found} ("${comment}"): following it.`);
        return found;
      }
      if (attempt >= MAX_SEND_ATTEMPTS) {
        throw new Error(
          `SSM SendCommand failed ${attempt} times without an answer and started no command ("${comment}"): ${what}`,
          { cause: error },
        );
      }
      log.info(`SSM started no command "${comment}": sending it again.`);
      continue;
    }
    const commandId = answer.Command?.CommandId;
    if (!commandId) throw new Error('SSM SendCommand returned no command id.');
    // $metadata is absent from some test doubles' answers.
    const requestId = (answer.$metadata as typeof answer.$metadata | undefined)?.requestId;
    log.debug(`SSM SendCommand request id ${requestId ?? '(none)'}: ${commandId}.`);
    return commandId;
  }
}

/** Sends the script to the instances, in calls of at most 50 ids. Returns one command id per call. */
export async function sendScript(
  deps: RunCommandDeps,
  run: ScriptRun,
): Promise<Array<{ commandId: string; instanceIds: string[] }>> {
  const sent: Array<{ commandId: string; instanceIds: string[] }> = [];
  const region = await deps.ssm.config.region();
  for (let i = 0; i < run.instanceIds.length; i += MAX_IDS_PER_COMMAND) {
    const instanceIds = run.instanceIds.slice(i, i + MAX_IDS_PER_COMMAND);
    const commandId = await sendOnce(deps, run, instanceIds);
    deps.inFlight?.add(commandId);
    deps.log.debug(`SSM command ${commandId} sent to ${instanceIds.join(', ')}.`);
    deps.log.info(`SSM command ${commandId}: ${commandConsoleUrl(region, commandId)}`);
    sent.push({ commandId, instanceIds });
  }
  return sent;
}

/**
 * Waits until every instance's invocation of the command has finished, with one
 * ListCommandInvocations call per poll for the whole command (not one call per instance) and a
 * growing interval. Instances still running at `deadline` are cancelled and reported TimedOut.
 *
 * Not the SDK's waitUntilCommandExecuted: that waiter polls GetCommandInvocation for one instance
 * at a time (50 calls per poll for a full command), fails on the first Failed/Cancelled instead of
 * collecting every instance's result, cannot tell "never listed" from "still pending", and would
 * leave the command running at its timeout instead of cancelling it.
 */
export async function waitForInvocations(
  deps: RunCommandDeps,
  commandId: string,
  instanceIds: string[],
  deadline: number,
): Promise<Map<string, { status: string; statusDetails?: string }>> {
  const { ssm, clock } = deps;
  const graceUntil = clock.now() + INVOCATION_GRACE_MS;
  const statuses = new Map<string, { status: string; statusDetails?: string }>();
  let interval = FIRST_POLL_MS;
  for (;;) {
    await clock.sleep(interval);
    try {
      const pages = paginateListCommandInvocations(
        { client: ssm, pageSize: MAX_IDS_PER_COMMAND },
        { CommandId: commandId, Details: false },
      );
      for await (const page of pages) {
        for (const invocation of page.CommandInvocations ?? []) {
          if (invocation.InstanceId && invocation.Status) {
            statuses.set(invocation.InstanceId, {
              status: invocation.Status,
              statusDetails: invocation.StatusDetails,
            });
          }
        }
      }
      interval = Math.min(Math.round(interval * 1.5), MAX_POLL_MS);
    } catch (error) {
      if (isThrottling(error)) {
        deps.onThrottle?.();
        interval = Math.min(interval * 2, MAX_THROTTLED_POLL_MS);
        deps.log.info(`SSM throttled the status poll; next poll in ${interval / 1000} s.`);
      } else if (errorName(error) !== 'InvalidCommandId' || clock.now() > graceUntil) {
        throw error;
      }
    }

    const missing = instanceIds.filter((id) => !statuses.has(id));
    if (missing.length > 0 && clock.now() > graceUntil) {
      for (const id of missing) statuses.set(id, { status: 'NoInvocation' });
    }
    const running = instanceIds.filter((id) => !FINISHED.has(statuses.get(id)?.status ?? ''));
    if (running.length === 0) return statuses;
    if (clock.now() >= deadline) {
      await cancelCommand(ssm, commandId, running).catch(() => undefined);
      for (const id of running) {
        statuses.set(id, { status: 'TimedOut', statusDetails: 'the action stopped waiting' });
      }
      return statuses;
    }
  }
}

export async function cancelCommand(
  ssm: SSMClient,
  commandId: string,
  instanceIds?: string[],
): Promise<void> {
  await ssm.send(new CancelCommandCommand({ CommandId: commandId, InstanceIds: instanceIds }));
}

/**
 * Runs the script on the instances and returns each one's result, with the full output SSM keeps
 * (GetCommandInvocation, once the invocation has finished).
 */
export async function runScript(
  deps: RunCommandDeps,
  run: ScriptRun,
): Promise<Map<string, Invocation>> {
  const { clock } = deps;
  const deadline =
    clock.now() + (DELIVERY_TIMEOUT_SECONDS + run.executionTimeoutSeconds + 60) * 1000;
  const sent = await sendScript(deps, run);
  const results = new Map<string, Invocation>();
  await Promise.all(
    sent.map(async ({ commandId, instanceIds }) => {
      try {
        const statuses = await waitForInvocations(deps, commandId, instanceIds, deadline).catch(
          async (error: unknown) => {
            // We can no longer watch it: do not leave it running unobserved.
            await cancelCommand(deps.ssm, commandId).catch(() => undefined);
            throw error;
          },
        );
        for (const instanceId of instanceIds) {
          const { status, statusDetails } = statuses.get(instanceId) ?? { status: 'NoInvocation' };
          const invocation: Invocation = {
            instanceId,
            commandId,
            status,
            statusDetails,
            output: '',
          };
          if (status !== 'NoInvocation') {
            const detail = await withThrottleRetry(deps, clock.now() + 120_000, () =>
              deps.ssm.send(
                new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }),
              ),
            ).catch(() => undefined);
            invocation.output = detail?.StandardOutputContent ?? '';
            const code = detail?.ResponseCode;
            // Success means exit 0 even when the detail call itself failed.
            invocation.exitCode =
              code !== undefined && code >= 0 ? code : status === 'Success' ? 0 : undefined;
          }
          results.set(instanceId, invocation);
        }
      } finally {
        deps.inFlight?.remove(commandId);
      }
    }),
  );
  return results;
}
