// Small, explicit fakes: an in-memory clock, a recording logger, and a fake SSM fleet behind
// aws-sdk-client-mock that "runs" the rendered instance script by reading its values.
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  SendCommandCommand,
  type DescribeInstanceInformationCommandInput,
  type GetCommandInvocationCommandInput,
  type ListCommandInvocationsCommandInput,
  type SendCommandCommandInput,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import type { Clock } from '../../action/clock.js';
import type { Logger } from '../../action/logger.js';

export function fakeClock(start = Date.UTC(2026, 10, 29, 12)): Clock & { slept: number[] } {
  let now = start;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: (ms) => {
      slept.push(ms);
      now += ms;
      return Promise.resolve();
    },
  };
}

export function recordingLogger(): Logger & {
  lines: string[];
  groups: Array<{ title: string; body: string }>;
  annotations: Array<{ level: 'error' | 'warning' | 'notice'; message: string; title?: string }>;
} {
  const lines: string[] = [];
  const groups: Array<{ title: string; body: string }> = [];
  const annotations: Array<{
    level: 'error' | 'warning' | 'notice';
    message: string;
    title?: string;
  }> = [];
  return {
    lines,
    groups,
    annotations,
    info: (message) => lines.push(message),
    warning: (message, annotation) => {
      lines.push(`warning: ${message}`);
      annotations.push({ level: 'warning', message, ...annotation });
    },
    error: (message, annotation) => {
      lines.push(`error: ${message}`);
      annotations.push({ level: 'error', message, ...annotation });
    },
    notice: (message, annotation) => {
      lines.push(`notice: ${message}`);
      annotations.push({ level: 'notice', message, ...annotation });
    },
    debug: (message) => lines.push(`debug: ${message}`),
    group: (title, body) => groups.push({ title, body }),
  };
}

export const REGISTRY = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
export const REPOSITORY_URI = `${REGISTRY}/challenge-app`;

export function ids(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `i-${(i + 1).toString(16).padStart(17, '0')}`);
}

/** The values the action rendered into an instance script. */
export function scriptValue(script: string, name: string): string {
  return new RegExp(`^readonly ${name}='([^']*)'$`, 'm').exec(script)?.[1] ?? '';
}

export interface ScriptRunOnInstance {
  instanceId: string;
  mode: string;
  image: string;
  version: string;
  /** What .env named before this run. */
  previousImage: string;
  previousVersion: string;
}

/** What an instance does with a script: its exit code and result line fields. */
export type Behaviour = (run: ScriptRunOnInstance) => {
  exitCode: number;
  result: Record<string, string | number>;
  /** The instance ends up running this (default: the new image on success, else unchanged). */
  runs?: { image: string; version: string };
};

export const healthy: Behaviour = () => ({
  exitCode: 0,
  result: { outcome: 'deployed', httpStatus: '200' },
});

/** The new version fails its health check with HTTP 503 and the script rolls back (exit 10). */
export const unhealthyNewVersion: Behaviour = (run) =>
  run.mode === 'deploy'
    ? {
        exitCode: 10,
        result: {
          outcome: 'rolled-back',
          failedStep: 'health',
          httpStatus: '503',
          healthSeconds: 120,
          rollbackHttpStatus: '200',
        },
        runs: { image: run.previousImage, version: run.previousVersion },
      }
    : healthy(run);

export interface FakeFleet {
  /** What each instance runs now. */
  running: Map<string, { image: string; version: string }>;
  /** Every script run, in order. */
  runs: ScriptRunOnInstance[];
}

/**
 * Answers SSM like a fleet would: DescribeInstanceInformation lists the instances; SendCommand
 * records the script; the first ListCommandInvocations poll shows every invocation InProgress, the
 * next one finished (with Details: exit code and the start of the output, as SSM gives them);
 * GetCommandInvocation returns the output with the script's result line.
 */
export function fakeFleet(
  ssm: AwsClientStub<SSMClient>,
  instanceIds: string[],
  behaviours: Record<string, Behaviour> = {},
  options: { pingStatus?: Record<string, string>; startVersion?: number } = {},
): FakeFleet {
  const start = options.startVersion ?? 7;
  const running = new Map(
    instanceIds.map((id) => [id, { image: `${REPOSITORY_URI}:v${start}`, version: `v${start}` }]),
  );
  const runs: ScriptRunOnInstance[] = [];
  const commands = new Map<
    string,
    { polls: number; results: Map<string, { exitCode: number; output: string }> }
  >();
  let sequence = 0;

  ssm
    .on(DescribeInstanceInformationCommand)
    .callsFake((input: DescribeInstanceInformationCommandInput) => {
      const wanted = input.Filters?.find((f) => f.Key === 'InstanceIds')?.Values ?? instanceIds;
      return {
        InstanceInformationList: wanted
          .filter((id) => running.has(id))
          .map((id) => ({
            InstanceId: id,
            PingStatus: options.pingStatus?.[id] ?? 'Online',
            PlatformType: 'Linux',
          })),
      };
    });

  ssm.on(SendCommandCommand).callsFake((input: SendCommandCommandInput) => {
    const script = (input.Parameters?.commands ?? []).join('\n');
    const instanceIds = input.InstanceIds ?? [];
    const commandId = `cmd-${++sequence}`;
    const results = new Map<string, { exitCode: number; output: string }>();
    for (const instanceId of instanceIds) {
      const before = running.get(instanceId) ?? { image: '', version: '' };
      const run: ScriptRunOnInstance = {
        instanceId,
        mode: scriptValue(script, 'MODE'),
        image: scriptValue(script, 'IMAGE'),
        version: scriptValue(script, 'VERSION'),
        previousImage: before.image,
        previousVersion: before.version,
      };
      runs.push(run);
      const outcome = (behaviours[instanceId] ?? healthy)(run);
      // The check mode (the bake's re-check) changes nothing on the instance.
      if (run.mode !== 'check') {
        running.set(
          instanceId,
          outcome.runs ??
            (outcome.exitCode === 0 ? { image: run.image, version: run.version } : before),
        );
      }
      const result = {
        mode: run.mode,
        version: run.version,
        image: run.image,
        previousVersion: run.previousVersion,
        previousImage: run.previousImage,
        ...outcome.result,
      };
      results.set(instanceId, {
        exitCode: outcome.exitCode,
        output: [
          `CHALLENGE_DEPLOY_PREVIOUS ${JSON.stringify({ image: run.previousImage, version: run.previousVersion })}`,
          `[12:00:00] ${run.mode}: ${run.image} as ${run.version}`,
          `CHALLENGE_DEPLOY_RESULT ${JSON.stringify(result)}`,
        ].join('\n'),
      });
    }
    commands.set(commandId, { polls: 0, results });
    return { Command: { CommandId: commandId, InstanceIds: instanceIds } };
  });

  ssm.on(ListCommandInvocationsCommand).callsFake((input: ListCommandInvocationsCommandInput) => {
    const command = commands.get(input.CommandId ?? '');
    if (!command)
      throw Object.assign(new Error('no such command'), { name: 'InvocationDoesNotExist' });
    command.polls += 1;
    return {
      CommandInvocations: [...command.results].map(([instanceId, result]) => {
        const finished = command.polls >= 2;
        const status = !finished ? 'InProgress' : result.exitCode === 0 ? 'Success' : 'Failed';
        return {
          CommandId: input.CommandId,
          InstanceId: instanceId,
          Status: status,
          // With Details, SSM adds the plugin's exit code and the first 2,500 characters of output.
          CommandPlugins: input.Details
            ? [
                {
                  Name: 'aws:runShellScript',
                  Status: status,
                  ResponseCode: finished ? result.exitCode : -1,
                  Output: finished ? result.output.slice(0, 2500) : '',
                },
              ]
            : undefined,
        };
      }),
    };
  });

  ssm.on(GetCommandInvocationCommand).callsFake((input: GetCommandInvocationCommandInput) => {
    const result = commands.get(input.CommandId ?? '')?.results.get(input.InstanceId ?? '');
    if (!result)
      throw Object.assign(new Error('no such invocation'), { name: 'InvocationDoesNotExist' });
    return {
      Status: result.exitCode === 0 ? 'Success' : 'Failed',
      ResponseCode: result.exitCode,
      StandardOutputContent: result.output,
    };
  });

  return { running, runs };
}
