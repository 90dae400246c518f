import {
  CancelCommandCommand,
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  SendCommandCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import type { Clock } from './clock.js';
import type { Logger } from './logger.js';

/** SendCommand takes at most 50 instance ids per call. */
export const MAX_IDS_PER_COMMAND = 50;
/** How long SSM may take to deliver the command (SendCommand TimeoutSeconds, not the run time). */
export const DELIVERY_TIMEOUT_SECONDS = 300;
/** ListCommandInvocations can answer InvocationDoesNotExist or an empty list right after SendCommand. */
export const INVOCATION_GRACE_MS = 60_000;
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
  clock: Clock;
  log: Logger;
  inFlight?: InFlightCommands;
}

export interface ScriptRun {
  instanceIds: string[];
  script: string;
  executionTimeoutSeconds: number;
  comment: string;
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : '';
}

export function isThrottling(error: unknown): boolean {
  return ['ThrottlingException', 'TooManyRequestsException', 'RequestLimitExceeded'].includes(
    errorName(error),
  );
}

/**
 * Retries a call that the SDK's adaptive retries already gave up on because of throttling, with a
 * growing pause, until `deadline`.
 */
async function withThrottleRetry<T>(
  clock: Clock,
  deadline: number,
  call: () => Promise<T>,
): Promise<T> {
  let pause = FIRST_POLL_MS;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (!isThrottling(error) || clock.now() + pause > deadline) throw error;
      await clock.sleep(pause);
      pause = Math.min(pause * 2, MAX_THROTTLED_POLL_MS);
    }
  }
}

/** Sends the script to the instances, in calls of at most 50 ids. Returns one command id per call. */
export async function sendScript(
  deps: RunCommandDeps,
  run: ScriptRun,
): Promise<Array<{ commandId: string; instanceIds: string[] }>> {
  const sent: Array<{ commandId: string; instanceIds: string[] }> = [];
  for (let i = 0; i < run.instanceIds.length; i += MAX_IDS_PER_COMMAND) {
    const instanceIds = run.instanceIds.slice(i, i + MAX_IDS_PER_COMMAND);
    const answer = await withThrottleRetry(deps.clock, deps.clock.now() + 120_000, () =>
      deps.ssm.send(
        new SendCommandCommand({
          DocumentName: 'AWS-RunShellScript',
          InstanceIds: instanceIds,
          Comment: run.comment.slice(0, 100),
          TimeoutSeconds: DELIVERY_TIMEOUT_SECONDS,
          // executionTimeout bounds the script's run; TimeoutSeconds above only bounds delivery.
          Parameters: {
            commands: [run.script],
            executionTimeout: [String(run.executionTimeoutSeconds)],
          },
        }),
      ),
    );
    const commandId = answer.Command?.CommandId;
    if (!commandId) throw new Error('SSM SendCommand returned no command id.');
    deps.inFlight?.add(commandId);
    sent.push({ commandId, instanceIds });
  }
  return sent;
}

/**
 * Waits until every instance's invocation of the command has finished, with one
 * ListCommandInvocations call per poll for the whole command (not one call per instance) and a
 * growing interval. Instances still running at `deadline` are cancelled and reported TimedOut.
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
      let nextToken: string | undefined;
      do {
        const page = await ssm.send(
          new ListCommandInvocationsCommand({
            CommandId: commandId,
            Details: false,
            MaxResults: MAX_IDS_PER_COMMAND,
            NextToken: nextToken,
          }),
        );
        for (const invocation of page.CommandInvocations ?? []) {
          if (invocation.InstanceId && invocation.Status) {
            statuses.set(invocation.InstanceId, {
              status: invocation.Status,
              statusDetails: invocation.StatusDetails,
            });
          }
        }
        nextToken = page.NextToken;
      } while (nextToken);
      interval = Math.min(Math.round(interval * 1.5), MAX_POLL_MS);
    } catch (error) {
      if (isThrottling(error)) {
        interval = Math.min(interval * 2, MAX_THROTTLED_POLL_MS);
        deps.log.info(`SSM throttled the status poll; next poll in ${interval / 1000} s.`);
      } else if (errorName(error) !== 'InvocationDoesNotExist' || clock.now() > graceUntil) {
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
            const detail = await withThrottleRetry(clock, clock.now() + 120_000, () =>
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
