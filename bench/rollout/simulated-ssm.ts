// SSM Run Command over N simulated instances, for the rollout benchmark: no process per instance,
// no docker. Each invocation's status follows from the clock (Pending for the delivery time, then
// InProgress for the script time, then the agent's report), and its output is what
// action/scripts/deploy.sh prints: the PREVIOUS line early, step logs, and the RESULT line last,
// with the script's exit code. Shapes follow the botocore model ssm 2014-11-06.
import { randomUUID } from 'node:crypto';
import {
  AwsError,
  arrayParam,
  epochSeconds,
  paginate,
  stringParam,
  type JsonOperation,
} from '../../e2e/fake-aws/protocol.js';

export interface SimulatedFleetOptions {
  size: number;
  /** How long the instance script runs on every instance. */
  scriptMs: number;
  /** Instances on which every version but the one they started with fails its health check. */
  failing: ReadonlySet<string>;
  /** The image every instance runs at the start (its `.env`). */
  initialImage: string;
  initialVersion: string;
  /** Tag every instance carries, for `instance-tag`. */
  tag: { key: string; value: string };
  deliveryMs?: number;
  reportMs?: number;
  /** ListCommandInvocations and GetCommandInvocation do not know an invocation this long. */
  visibleAfterMs?: number;
}

// Limits of the real service (botocore ssm 2014-11-06 and the API reference).
const STDOUT_LIMIT = 24_000;
const PLUGIN_OUTPUT_LIMIT = 2_500;
const MAX_IDS_PER_COMMAND = 50;
const PLUGIN = 'aws:runShellScript';

interface Instance {
  instanceId: string;
  image: string;
  version: string;
}

interface Invocation {
  commandId: string;
  instanceId: string;
  comment: string;
  requestedAt: number;
  output: string;
  exitCode: number;
  cancelledAt?: number;
}

type Status = 'Pending' | 'InProgress' | 'Success' | 'Failed' | 'Cancelled';

export interface SimulatedSsm {
  instanceIds: string[];
  operations: Record<string, JsonOperation>;
  /** Instances and what they run now. */
  running(instanceId: string): { image: string; version: string } | undefined;
}

/** `i-` and 17 hex digits, like a current EC2 instance id. */
export function instanceId(index: number): string {
  return `i-${(0xbe00000 + index).toString(16).padStart(17, '0')}`;
}

/** The values the action rendered into the script (`readonly NAME='value'` lines). */
function scriptValues(script: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const match of script.matchAll(/^readonly ([A-Z_]+)='([^']*)'$/gm)) {
    values[match[1] ?? ''] = match[2] ?? '';
  }
  return values;
}

function clockTime(at: number): string {
  return new Date(at).toISOString().slice(11, 19);
}

/**
 * Runs the script "on" the instance: changes its state and returns what the real script prints.
 * `failsOn`: the only version that passes the health check on a failing instance.
 */
function runScript(
  instance: Instance,
  values: Record<string, string>,
  failsOn: string | undefined,
  at: number,
): { output: string; exitCode: number } {
  const mode = values.MODE ?? 'deploy';
  const image = values.IMAGE ?? '';
  const version = values.VERSION ?? '';
  const previous = { image: instance.image, version: instance.version };
  const t = clockTime(at);
  const lines = [
    `CHALLENGE_DEPLOY_PREVIOUS ${JSON.stringify(previous)}`,
    `[${t}] ${mode}: ${image} as ${version} in ${values.APP_DIR ?? '?'}`,
    `[${t}] compose: v2`,
    `[${t}] ecr-login: ok (0 s)`,
    `[${t}] pull: ok (1 s)`,
    `[${t}] up: ok (0 s)`,
  ];
  let outcome = 'deployed';
  let exitCode = 0;
  let httpStatus = '200';
  let reported = version;
  if (failsOn !== undefined && version !== failsOn) {
    httpStatus = '503';
    reported = '';
    lines.push(`[${t}] health: HTTP 503, version none (want ${version})`);
    lines.push(`[${t}] health: ${version} not healthy after 1 s (last HTTP 503, version none)`);
    if (values.ROLLBACK === 'true') {
      lines.push(`[${t}] restoring the previous version ${previous.version} (${previous.image})`);
      lines.push(`[${t}] rollback-up: ok (0 s)`);
      outcome = 'rolled-back';
      exitCode = 10;
    } else {
      instance.image = image;
      instance.version = version;
      outcome = 'failed';
      exitCode = 14;
    }
  } else {
    lines.push(`[${t}] health: HTTP 200, version ${version} after 1 s`);
    instance.image = image;
    instance.version = version;
  }
  const result = {
    outcome,
    mode,
    version,
    image,
    previousVersion: previous.version,
    previousImage: previous.image,
    failedStep: exitCode === 0 ? '' : 'health',
    httpStatus,
    reportedVersion: reported,
    healthSeconds: 1,
    rollbackHttpStatus: exitCode === 10 ? '200' : '',
    compose: 'v2',
  };
  lines.push(`CHALLENGE_DEPLOY_RESULT ${JSON.stringify(result)}`);
  return { output: `${lines.join('\n')}\n`, exitCode };
}

export function simulateSsm(options: SimulatedFleetOptions): SimulatedSsm {
  const deliveryMs = options.deliveryMs ?? 200;
  const reportMs = options.reportMs ?? 200;
  const visibleAfterMs = options.visibleAfterMs ?? 500;
  const instances = new Map<string, Instance>();
  for (let i = 1; i <= options.size; i++) {
    const id = instanceId(i);
    instances.set(id, {
      instanceId: id,
      image: options.initialImage,
      version: options.initialVersion,
    });
  }
  const instanceIds = [...instances.keys()];
  const commands = new Map<string, Invocation[]>();

  function status(inv: Invocation, now: number): Status {
    const started = inv.requestedAt + deliveryMs;
    const reported = started + options.scriptMs + reportMs;
    if (inv.cancelledAt !== undefined && inv.cancelledAt < reported) return 'Cancelled';
    if (now < started) return 'Pending';
    if (now < reported) return 'InProgress';
    return inv.exitCode === 0 ? 'Success' : 'Failed';
  }

  function finished(s: Status): boolean {
    return s === 'Success' || s === 'Failed' || s === 'Cancelled';
  }

  function responseCode(inv: Invocation, s: Status): number {
    return s === 'Success' || s === 'Failed' ? inv.exitCode : -1;
  }

  function visible(commandId: string, now: number): Invocation[] {
    const group = commands.get(commandId) ?? [];
    return group.filter((inv) => inv.requestedAt + visibleAfterMs <= now);
  }

  function matchesFilters(filters: Array<{ Key: string; Values: string[] }>, id: string): boolean {
    return filters.every(({ Key, Values }) => {
      if (Key === 'InstanceIds') return Values.includes(id);
      if (Key === 'PingStatus') return Values.includes('Online');
      if (Key === `tag:${options.tag.key}`) return Values.includes(options.tag.value);
      if (Key.startsWith('tag:')) return false;
      throw new AwsError(
        'InvalidInstanceInformationFilterValue',
        `The filter key ${Key} is not valid.`,
      );
    });
  }

  const operations: Record<string, JsonOperation> = {
    DescribeInstanceInformation: (input) => {
      const filters = arrayParam<{ Key: string; Values: string[] }>(input, 'Filters');
      const max = input.MaxResults;
      if (max !== undefined && (typeof max !== 'number' || max < 5 || max > 50)) {
        throw new AwsError('ValidationException', `Value at 'maxResults' must be between 5 and 50`);
      }
      const matching = instanceIds.filter((id) => matchesFilters(filters, id));
      const { page, next } = paginate(matching, input.NextToken, max, 50);
      const now = new Date();
      return {
        InstanceInformationList: page.map((id) => ({
          InstanceId: id,
          PingStatus: 'Online',
          LastPingDateTime: epochSeconds(now),
          AgentVersion: '3.3.1142.0',
          IsLatestVersion: true,
          PlatformType: 'Linux',
          PlatformName: 'Amazon Linux',
          PlatformVersion: '2023',
          ResourceType: 'EC2Instance',
          ComputerName: `${id}.ec2.internal`,
        })),
        NextToken: next,
      };
    },

    SendCommand: (input) => {
      const documentName = stringParam(input, 'DocumentName');
      if (documentName !== 'AWS-RunShellScript') {
        throw new AwsError('InvalidDocument', `Document with name ${documentName} does not exist.`);
      }
      const ids = arrayParam<string>(input, 'InstanceIds');
      if (ids.length === 0 || ids.length > MAX_IDS_PER_COMMAND) {
        throw new AwsError(
          'ValidationException',
          `Value at 'instanceIds' failed to satisfy constraint: Member must have length between 1 and ${MAX_IDS_PER_COMMAND}`,
        );
      }
      for (const id of ids) {
        if (!instances.has(id))
          throw new AwsError('InvalidInstanceId', `Instances [[${id}]] not in a valid state`);
      }
      const parameters = (input.Parameters ?? {}) as { commands?: unknown };
      const script = Array.isArray(parameters.commands) ? parameters.commands.join('\n') : '';
      if (script === '')
        throw new AwsError('InvalidParameters', 'Parameter "commands" is required.');
      const values = scriptValues(script);
      const commandId = randomUUID();
      const requestedAt = Date.now();
      const comment = typeof input.Comment === 'string' ? input.Comment : '';
      const group = ids.map((id): Invocation => {
        const instance = instances.get(id) as Instance;
        const failsOn = options.failing.has(id) ? options.initialVersion : undefined;
        const run = runScript(instance, values, failsOn, requestedAt + deliveryMs);
        return { commandId, instanceId: id, comment, requestedAt, ...run };
      });
      commands.set(commandId, group);
      return {
        Command: {
          CommandId: commandId,
          DocumentName: documentName,
          Comment: comment,
          InstanceIds: ids,
          RequestedDateTime: epochSeconds(new Date(requestedAt)),
          Status: 'Pending',
          StatusDetails: 'Pending',
          TargetCount: ids.length,
          CompletedCount: 0,
          ErrorCount: 0,
          TimeoutSeconds: input.TimeoutSeconds,
        },
      };
    },

    ListCommandInvocations: (input) => {
      const commandId = stringParam(input, 'CommandId', false);
      const max = input.MaxResults;
      if (max !== undefined && (typeof max !== 'number' || max < 1 || max > 50)) {
        throw new AwsError('ValidationException', `Value at 'maxResults' must be between 1 and 50`);
      }
      const now = Date.now();
      const matching = commandId
        ? visible(commandId, now)
        : [...commands.keys()].flatMap((id) => visible(id, now));
      const { page, next } = paginate(matching, input.NextToken, max, 50);
      const details = input.Details === true;
      return {
        CommandInvocations: page.map((inv) => {
          const s = status(inv, now);
          return {
            CommandId: inv.commandId,
            InstanceId: inv.instanceId,
            InstanceName: `${inv.instanceId}.ec2.internal`,
            Comment: inv.comment,
            DocumentName: 'AWS-RunShellScript',
            DocumentVersion: '$DEFAULT',
            RequestedDateTime: epochSeconds(new Date(inv.requestedAt)),
            Status: s,
            StatusDetails: s,
            CommandPlugins: details
              ? [
                  {
                    Name: PLUGIN,
                    Status: s,
                    StatusDetails: s,
                    ResponseCode: responseCode(inv, s),
                    ResponseStartDateTime:
                      s === 'Pending'
                        ? undefined
                        : epochSeconds(new Date(inv.requestedAt + deliveryMs)),
                    ResponseFinishDateTime: finished(s)
                      ? epochSeconds(new Date(inv.requestedAt + deliveryMs + options.scriptMs))
                      : undefined,
                    Output: finished(s) ? inv.output.slice(0, PLUGIN_OUTPUT_LIMIT) : '',
                  },
                ]
              : [],
          };
        }),
        NextToken: next,
      };
    },

    GetCommandInvocation: (input) => {
      const commandId = stringParam(input, 'CommandId');
      const id = stringParam(input, 'InstanceId');
      const now = Date.now();
      const inv = visible(commandId, now).find((candidate) => candidate.instanceId === id);
      if (!inv) throw new AwsError('InvocationDoesNotExist', '');
      const s = status(inv, now);
      return {
        CommandId: commandId,
        InstanceId: id,
        Comment: inv.comment,
        DocumentName: 'AWS-RunShellScript',
        PluginName: PLUGIN,
        ResponseCode: responseCode(inv, s),
        Status: s,
        StatusDetails: s,
        StandardOutputContent: finished(s) ? inv.output.slice(0, STDOUT_LIMIT) : '',
        StandardErrorContent: '',
      };
    },

    ListCommands: (input) => {
      const commandId = stringParam(input, 'CommandId', false);
      const now = Date.now();
      const ids = commandId ? [commandId] : [...commands.keys()];
      const list = ids.flatMap((id) => {
        const group = commands.get(id);
        if (!group) return [];
        const statuses = group.map((inv) => status(inv, now));
        const done = statuses.filter(finished).length;
        const overall =
          done < statuses.length
            ? 'InProgress'
            : statuses.includes('Cancelled')
              ? 'Cancelled'
              : statuses.includes('Failed')
                ? 'Failed'
                : 'Success';
        return [
          { CommandId: id, Status: overall, TargetCount: group.length, CompletedCount: done },
        ];
      });
      if (commandId && list.length === 0) throw new AwsError('InvalidCommandId', '');
      return { Commands: list };
    },

    CancelCommand: (input) => {
      const commandId = stringParam(input, 'CommandId');
      const group = commands.get(commandId);
      if (!group) throw new AwsError('InvalidCommandId', '');
      const ids = arrayParam<string>(input, 'InstanceIds');
      const now = Date.now();
      for (const inv of group) {
        if (ids.length === 0 || ids.includes(inv.instanceId)) inv.cancelledAt ??= now;
      }
      return {};
    },
  };

  return {
    instanceIds,
    operations,
    running: (id) => {
      const instance = instances.get(id);
      return instance && { image: instance.image, version: instance.version };
    },
  };
}
