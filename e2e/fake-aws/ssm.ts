// AWS Systems Manager Run Command over simulated instances: SendCommand really runs the script on
// the instance, and the API shows it the way the real service does (see SsmTiming and limits).
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  AwsError,
  arrayParam,
  epochSeconds,
  paginate,
  stringParam,
  type JsonOperation,
} from './protocol.js';

/** One managed instance, as SSM knows it, and how to run a shell script on it. */
export interface ManagedInstance {
  instanceId: string;
  ipAddress: string;
  computerName: string;
  tags: Record<string, string>;
  /** false: the agent stopped reporting (PingStatus ConnectionLost); commands stay undelivered. */
  online: boolean;
  /** The agent's state directory on the instance (commands are written below it). */
  stateDir: string;
  /** Starts `bash <scriptPath>` on the instance in `cwd`, in its own process group. */
  startScript(scriptPath: string, cwd: string): ChildProcess;
}

export interface SsmTiming {
  /**
   * Invocations are invisible for this long after SendCommand: GetCommandInvocation answers
   * InvocationDoesNotExist, ListCommandInvocations an empty list (or InvalidCommandId, see
   * SsmFaults). ListCommands shows the command at once (SendCommand returned its record).
   */
  invocationVisibleAfterMs: number;
  /** Delivery to the agent: the command stays Pending this long before it starts. */
  deliveryMs: number;
  /** The agent reports the end of a command this long after it exited. */
  reportMs: number;
}

/** Switches a scenario flips to make the service misbehave the way the real one can. */
export interface SsmFaults {
  /** Every Nth call of a polling operation fails with ThrottlingException (0: never). */
  throttleEveryNthPoll: number;
  /**
   * What ListCommandInvocations answers for a command whose invocations are not visible yet:
   * an empty list (default) or InvalidCommandId; both happen on the real service.
   */
  invisibleInvocations: 'empty' | 'InvalidCommandId';
}

// Limits of the real service, from the API reference.
const STDOUT_LIMIT = 24000;
const STDERR_LIMIT = 8000;
const PLUGIN_OUTPUT_LIMIT = 2500;
const MAX_INSTANCES_PER_COMMAND = 50;
const POLLING_OPERATIONS = new Set(['GetCommandInvocation', 'ListCommandInvocations']);
const PLUGIN_NAME = 'aws:runShellScript';
const KEEP_OUTPUT = 1_000_000;

type Status = 'Pending' | 'InProgress' | 'Success' | 'Failed' | 'TimedOut' | 'Cancelled';

interface Invocation {
  commandId: string;
  instanceId: string;
  comment: string;
  documentName: string;
  requestedAt: Date;
  visibleAt: number;
  executionTimeoutSeconds: number;
  deliveryDeadline: number;
  script: string;
  status: Status;
  statusDetails: string;
  responseCode: number;
  stdout: string;
  stderr: string;
  startedAt?: Date;
  endedAt?: Date;
  child?: ChildProcess;
  timer?: NodeJS.Timeout;
}

export interface SsmSimulation {
  operations: Record<string, JsonOperation>;
  faults: SsmFaults;
  /** Every invocation so far (what ran where), for assertions. */
  invocations(): ReadonlyArray<Readonly<Omit<Invocation, 'child' | 'timer'>>>;
  /** Ends every running command (teardown). */
  stop(): Promise<void>;
}

export function simulateSsm(
  instances: ManagedInstance[],
  options: { region: string; accountId: string; timing?: Partial<SsmTiming> },
): SsmSimulation {
  const timing: SsmTiming = {
    invocationVisibleAfterMs: 800,
    deliveryMs: 400,
    reportMs: 300,
    ...options.timing,
  };
  const faults: SsmFaults = { throttleEveryNthPoll: 0, invisibleInvocations: 'empty' };
  const invocations: Invocation[] = [];
  let polls = 0;
  let stopped = false;

  function instance(id: string): ManagedInstance {
    const found = instances.find((candidate) => candidate.instanceId === id);
    if (!found) {
      throw new AwsError(
        'InvalidInstanceId',
        `Instances [[${id}]] not in a valid state for account ${options.accountId}`,
      );
    }
    return found;
  }

  function visible(): Invocation[] {
    const now = Date.now();
    return invocations.filter((inv) => inv.visibleAt <= now);
  }

  function start(inv: Invocation): void {
    if (stopped || inv.status !== 'Pending') return;
    const host = instance(inv.instanceId);
    if (!host.online) {
      if (Date.now() >= inv.deliveryDeadline) {
        finish(inv, 'TimedOut', 'DeliveryTimedOut', -1);
      } else {
        inv.timer = setTimeout(() => start(inv), 1000);
      }
      return;
    }
    const dir = path.join(
      host.stateDir,
      'orchestration',
      inv.commandId,
      'awsrunShellScript',
      '0.awsrunShellScript',
    );
    mkdirSync(dir, { recursive: true });
    const scriptPath = path.join(dir, '_script.sh');
    writeFileSync(scriptPath, inv.script, { mode: 0o700 });
    inv.status = 'InProgress';
    inv.statusDetails = 'InProgress';
    inv.startedAt = new Date();
    const child = host.startScript(scriptPath, dir);
    inv.child = child;
    child.stdout?.on('data', (chunk: Buffer) => {
      if (inv.stdout.length < KEEP_OUTPUT) inv.stdout += chunk.toString('utf8');
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      if (inv.stderr.length < KEEP_OUTPUT) inv.stderr += chunk.toString('utf8');
    });
    inv.timer = setTimeout(() => {
      if (inv.status !== 'InProgress') return;
      inv.status = 'TimedOut';
      inv.statusDetails = 'ExecutionTimedOut';
      killGroup(child);
    }, inv.executionTimeoutSeconds * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(inv.timer);
      inv.child = undefined;
      const exit = code ?? (signal ? -1 : 0);
      setTimeout(() => {
        if (inv.status === 'TimedOut') finish(inv, 'TimedOut', 'ExecutionTimedOut', -1);
        else if (inv.status === 'Cancelled') finish(inv, 'Cancelled', 'Cancelled', -1);
        else if (exit === 0) finish(inv, 'Success', 'Success', 0);
        else finish(inv, 'Failed', 'Failed', exit);
      }, timing.reportMs);
    });
    child.on('error', (error) => {
      inv.stderr += `failed to run commands: ${error.message}\n`;
    });
  }

  function finish(inv: Invocation, status: Status, details: string, code: number): void {
    inv.status = status;
    inv.statusDetails = details;
    inv.responseCode = code;
    inv.endedAt ??= new Date();
  }

  function pluginOutput(inv: Invocation): string {
    const output = inv.stderr ? `${inv.stdout}\n----------ERROR-------\n${inv.stderr}` : inv.stdout;
    return output.slice(0, PLUGIN_OUTPUT_LIMIT);
  }

  function listEntry(inv: Invocation, details: boolean): Record<string, unknown> {
    const host = instance(inv.instanceId);
    return {
      CommandId: inv.commandId,
      InstanceId: inv.instanceId,
      InstanceName: host.computerName,
      Comment: inv.comment,
      DocumentName: inv.documentName,
      DocumentVersion: '$DEFAULT',
      RequestedDateTime: epochSeconds(inv.requestedAt),
      Status: inv.status,
      StatusDetails: inv.statusDetails,
      StandardOutputUrl: '',
      StandardErrorUrl: '',
      CommandPlugins: details
        ? [
            {
              Name: PLUGIN_NAME,
              Status: inv.status,
              StatusDetails: inv.statusDetails,
              ResponseCode: inv.responseCode,
              ResponseStartDateTime: inv.startedAt ? epochSeconds(inv.startedAt) : undefined,
              ResponseFinishDateTime: inv.endedAt ? epochSeconds(inv.endedAt) : undefined,
              Output: pluginOutput(inv),
              StandardOutputUrl: '',
              StandardErrorUrl: '',
            },
          ]
        : [],
    };
  }

  /** The command's overall status, from its invocations, as ListCommands reports it. */
  function commandSummary(group: Invocation[]): Record<string, unknown> {
    const first = group[0]!;
    const statuses = group.map((inv) => inv.status);
    const done = statuses.filter((status) => status !== 'Pending' && status !== 'InProgress');
    let status: Status = 'Success';
    if (statuses.every((s) => s === 'Pending')) status = 'Pending';
    else if (done.length < statuses.length) status = 'InProgress';
    else if (statuses.includes('Cancelled')) status = 'Cancelled';
    else if (statuses.includes('TimedOut')) status = 'TimedOut';
    else if (statuses.includes('Failed')) status = 'Failed';
    return {
      CommandId: first.commandId,
      DocumentName: first.documentName,
      Comment: first.comment,
      RequestedDateTime: epochSeconds(first.requestedAt),
      InstanceIds: group.map((inv) => inv.instanceId),
      Status: status,
      StatusDetails: status,
      TargetCount: group.length,
      CompletedCount: done.length,
      ErrorCount: done.filter((s) => s !== 'Success').length,
    };
  }

  function pingStatus(host: ManagedInstance): string {
    return host.online ? 'Online' : 'ConnectionLost';
  }

  function matchesFilter(host: ManagedInstance, key: string, values: string[]): boolean {
    if (key === 'InstanceIds') return values.includes(host.instanceId);
    if (key === 'PingStatus') return values.includes(pingStatus(host));
    if (key === 'ResourceType') return values.includes('EC2Instance');
    if (key === 'PlatformTypes') return values.includes('Linux');
    if (key === 'tag-key') return values.some((value) => value in host.tags);
    if (key.startsWith('tag:')) {
      const tag = host.tags[key.slice(4)];
      return tag !== undefined && values.includes(tag);
    }
    throw new AwsError(
      'InvalidInstanceInformationFilterValue',
      `The filter key ${key} is not valid.`,
    );
  }

  function checkPoll(op: string): void {
    if (!POLLING_OPERATIONS.has(op) || faults.throttleEveryNthPoll <= 0) return;
    polls += 1;
    if (polls % faults.throttleEveryNthPoll === 0) {
      throw new AwsError('ThrottlingException', 'Rate exceeded');
    }
  }

  const operations: Record<string, JsonOperation> = {
    DescribeInstanceInformation: (input) => {
      const filters = arrayParam<{ Key: string; Values: string[] }>(input, 'Filters');
      const legacy = arrayParam<{ key: string; valueSet: string[] }>(
        input,
        'InstanceInformationFilterList',
      );
      if (filters.length && legacy.length) {
        throw new AwsError(
          'ValidationException',
          'Filters and InstanceInformationFilterList cannot be used together',
        );
      }
      const max = input.MaxResults;
      if (max !== undefined && (typeof max !== 'number' || max < 5 || max > 50)) {
        throw new AwsError(
          'ValidationException',
          `1 validation error detected: Value '${JSON.stringify(max)}' at 'maxResults' failed to satisfy constraint: Member must have value between 5 and 50`,
        );
      }
      const all = [
        ...filters.map((f) => [f.Key, f.Values] as const),
        ...legacy.map((f) => [f.key, f.valueSet] as const),
      ];
      const matching = instances.filter((host) =>
        all.every(([key, values]) => matchesFilter(host, key, values)),
      );
      const { page, next } = paginate(matching, input.NextToken, max, 50);
      return {
        InstanceInformationList: page.map((host) => ({
          InstanceId: host.instanceId,
          PingStatus: pingStatus(host),
          LastPingDateTime: epochSeconds(
            new Date(host.online ? Date.now() : Date.now() - 15 * 60 * 1000),
          ),
          AgentVersion: '3.3.1142.0',
          IsLatestVersion: true,
          PlatformType: 'Linux',
          PlatformName: 'Debian GNU/Linux',
          PlatformVersion: '12',
          ResourceType: 'EC2Instance',
          IPAddress: host.ipAddress,
          ComputerName: host.computerName,
          AssociationStatus: 'Success',
        })),
        NextToken: next,
      };
    },

    SendCommand: (input) => {
      const documentName = stringParam(input, 'DocumentName');
      if (documentName !== 'AWS-RunShellScript') {
        throw new AwsError('InvalidDocument', `Document with name ${documentName} does not exist.`);
      }
      let ids = arrayParam<string>(input, 'InstanceIds');
      const targets = arrayParam<{ Key: string; Values: string[] }>(input, 'Targets');
      if (ids.length && targets.length) {
        throw new AwsError(
          'ValidationException',
          'InstanceIds and Targets cannot be used together',
        );
      }
      if (targets.length) {
        ids = instances
          .filter((host) =>
            targets.every((t) =>
              matchesFilter(host, t.Key === 'InstanceIds' ? 'InstanceIds' : t.Key, t.Values),
            ),
          )
          .map((host) => host.instanceId);
      }
      if (ids.length === 0)
        throw new AwsError('ValidationException', 'At least one instance or target is required');
      if (ids.length > MAX_INSTANCES_PER_COMMAND) {
        throw new AwsError(
          'ValidationException',
          `1 validation error detected: Value at 'instanceIds' failed to satisfy constraint: Member must have length less than or equal to ${MAX_INSTANCES_PER_COMMAND}`,
        );
      }
      ids.forEach(instance);
      const parameters = (input.Parameters ?? {}) as Record<string, unknown>;
      const commands = parameters.commands;
      if (
        !Array.isArray(commands) ||
        commands.length === 0 ||
        !commands.every((c) => typeof c === 'string')
      ) {
        throw new AwsError(
          'InvalidParameters',
          'Parameter "commands" is required and must be a list of strings.',
        );
      }
      const timeoutParam = parameters.executionTimeout;
      let executionTimeoutSeconds = 3600;
      if (timeoutParam !== undefined) {
        const raw: unknown = Array.isArray(timeoutParam)
          ? (timeoutParam as unknown[])[0]
          : undefined;
        executionTimeoutSeconds = Number(raw);
        if (
          typeof raw !== 'string' ||
          !/^\d+$/.test(raw) ||
          executionTimeoutSeconds < 1 ||
          executionTimeoutSeconds > 172800
        ) {
          throw new AwsError(
            'InvalidParameters',
            `Parameter "executionTimeout" "${String(raw)}" is not valid.`,
          );
        }
      }
      const deliveryTimeout =
        typeof input.TimeoutSeconds === 'number' ? input.TimeoutSeconds : 3600;
      const commandId = randomUUID();
      const requestedAt = new Date();
      const comment = typeof input.Comment === 'string' ? input.Comment : '';
      for (const instanceId of ids) {
        const inv: Invocation = {
          commandId,
          instanceId,
          comment,
          documentName,
          requestedAt,
          visibleAt: requestedAt.getTime() + timing.invocationVisibleAfterMs,
          executionTimeoutSeconds,
          deliveryDeadline: requestedAt.getTime() + deliveryTimeout * 1000,
          script: commands.join('\n'),
          status: 'Pending',
          statusDetails: 'Pending',
          responseCode: -1,
          stdout: '',
          stderr: '',
        };
        invocations.push(inv);
        inv.timer = setTimeout(() => start(inv), timing.deliveryMs);
      }
      return {
        Command: {
          CommandId: commandId,
          DocumentName: documentName,
          DocumentVersion: '$DEFAULT',
          Comment: comment,
          Parameters: parameters,
          InstanceIds: ids,
          Targets: targets,
          RequestedDateTime: epochSeconds(requestedAt),
          Status: 'Pending',
          StatusDetails: 'Pending',
          TargetCount: ids.length,
          CompletedCount: 0,
          ErrorCount: 0,
          DeliveryTimedOutCount: 0,
          TimeoutSeconds: deliveryTimeout,
        },
      };
    },

    ListCommands: (input) => {
      const commandId = stringParam(input, 'CommandId', false);
      const instanceId = stringParam(input, 'InstanceId', false);
      const filters = arrayParam<{ key: string; value: string }>(input, 'Filters');
      const ids = [...new Set(invocations.map((inv) => inv.commandId))].filter(
        (id) => !commandId || id === commandId,
      );
      if (commandId && ids.length === 0) throw new AwsError('InvalidCommandId', '');
      const commands = ids
        .map((id) => invocations.filter((inv) => inv.commandId === id))
        .filter((group) => !instanceId || group.some((inv) => inv.instanceId === instanceId))
        .map((group) => commandSummary(group))
        .filter((command) => filters.every((filter) => commandMatches(command, filter)))
        // Newest first, as the console and the CLI show them.
        .reverse();
      const { page, next } = paginate(commands, input.NextToken, input.MaxResults, 50);
      return { Commands: page, NextToken: next };
    },

    ListCommandInvocations: (input) => {
      checkPoll('ListCommandInvocations');
      const commandId = stringParam(input, 'CommandId', false);
      const instanceId = stringParam(input, 'InstanceId', false);
      if (commandId) {
        const sent = invocations.some((inv) => inv.commandId === commandId);
        const seen = visible().some((inv) => inv.commandId === commandId);
        if (!sent || (!seen && faults.invisibleInvocations === 'InvalidCommandId')) {
          throw new AwsError('InvalidCommandId', '');
        }
      }
      const matching = visible().filter(
        (inv) =>
          (!commandId || inv.commandId === commandId) &&
          (!instanceId || inv.instanceId === instanceId),
      );
      const { page, next } = paginate(matching, input.NextToken, input.MaxResults, 50);
      return {
        CommandInvocations: page.map((inv) => listEntry(inv, input.Details === true)),
        NextToken: next,
      };
    },

    GetCommandInvocation: (input) => {
      checkPoll('GetCommandInvocation');
      const commandId = stringParam(input, 'CommandId');
      const instanceId = stringParam(input, 'InstanceId');
      const pluginName = stringParam(input, 'PluginName', false);
      const inv = visible().find(
        (candidate) => candidate.commandId === commandId && candidate.instanceId === instanceId,
      );
      if (!inv) throw new AwsError('InvocationDoesNotExist', '');
      if (pluginName && pluginName !== PLUGIN_NAME) throw new AwsError('InvalidPluginName', '');
      const elapsed = inv.startedAt
        ? ((inv.endedAt ?? new Date()).getTime() - inv.startedAt.getTime()) / 1000
        : 0;
      return {
        CommandId: inv.commandId,
        InstanceId: inv.instanceId,
        Comment: inv.comment,
        DocumentName: inv.documentName,
        DocumentVersion: '$DEFAULT',
        PluginName: PLUGIN_NAME,
        ResponseCode: inv.responseCode,
        ExecutionStartDateTime: inv.startedAt?.toISOString() ?? '',
        ExecutionElapsedTime: inv.startedAt ? `PT${elapsed.toFixed(3)}S` : '',
        ExecutionEndDateTime: inv.endedAt?.toISOString() ?? '',
        Status: inv.status,
        StatusDetails: inv.statusDetails,
        StandardOutputContent: inv.stdout.slice(0, STDOUT_LIMIT),
        StandardOutputUrl: '',
        StandardErrorContent: inv.stderr.slice(0, STDERR_LIMIT),
        StandardErrorUrl: '',
        CloudWatchOutputConfig: { CloudWatchLogGroupName: '', CloudWatchOutputEnabled: false },
      };
    },

    CancelCommand: (input) => {
      const commandId = stringParam(input, 'CommandId');
      const ids = arrayParam<string>(input, 'InstanceIds');
      const matching = invocations.filter(
        (inv) => inv.commandId === commandId && (ids.length === 0 || ids.includes(inv.instanceId)),
      );
      if (matching.length === 0) throw new AwsError('InvalidCommandId', '');
      for (const inv of matching) {
        if (inv.status === 'Pending') {
          clearTimeout(inv.timer);
          finish(inv, 'Cancelled', 'Cancelled', -1);
        } else if (inv.status === 'InProgress' && inv.child) {
          inv.status = 'Cancelled';
          inv.statusDetails = 'Cancelling';
          killGroup(inv.child);
        }
      }
      return {};
    },
  };

  return {
    operations,
    faults,
    // eslint-disable-next-line @typescript-eslint/no-unused-vars -- dropped: process handles
    invocations: () => invocations.map(({ child, timer, ...rest }) => rest),
    async stop() {
      stopped = true;
      const running = invocations.filter((inv) => inv.child);
      for (const inv of invocations) clearTimeout(inv.timer);
      await Promise.all(
        running.map(
          (inv) =>
            new Promise<void>((resolve) => {
              const child = inv.child;
              if (!child || child.exitCode !== null) return resolve();
              child.once('close', () => resolve());
              killGroup(child);
              setTimeout(resolve, 5000).unref();
            }),
        ),
      );
    },
  };
}

const COMMAND_STATUSES = ['Pending', 'InProgress', 'Success', 'Cancelled', 'Failed', 'TimedOut'];

/** ListCommands `Filters` (keys and values as the API reference lists them for ListCommands). */
function commandMatches(
  command: Record<string, unknown>,
  filter: { key: string; value: string },
): boolean {
  const requested = Number(command.RequestedDateTime) * 1000;
  const at = (): number => {
    const ms = Date.parse(filter.value);
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(filter.value) || !Number.isFinite(ms)) {
      throw new AwsError(
        'InvalidFilterKey',
        `The value ${filter.value} of filter ${filter.key} is not a timestamp like 2024-07-07T00:00:00Z.`,
      );
    }
    return ms;
  };
  switch (filter.key) {
    case 'InvokedAfter':
      return requested >= at();
    case 'InvokedBefore':
      return requested <= at();
    case 'DocumentName':
      return command.DocumentName === filter.value;
    case 'Status':
      if (!COMMAND_STATUSES.includes(filter.value)) {
        throw new AwsError(
          'InvalidFilterKey',
          `${filter.value} is not a valid Status filter value.`,
        );
      }
      return command.Status === filter.value;
    case 'ExecutionStage':
      if (filter.value === 'Executing')
        return ['Pending', 'InProgress'].includes(String(command.Status));
      if (filter.value === 'Complete')
        return !['Pending', 'InProgress'].includes(String(command.Status));
      throw new AwsError(
        'InvalidFilterKey',
        `${filter.value} is not a valid ExecutionStage filter value.`,
      );
    default:
      throw new AwsError(
        'InvalidFilterKey',
        `The filter key ${filter.key} is not valid for ListCommands.`,
      );
  }
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}
