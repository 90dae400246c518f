import {
  CancelCommandCommand,
  type CommandInvocationStatus,
  type ListCommandInvocationsCommandOutput,
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import {
  DELIVERY_TIMEOUT_SECONDS,
  inFlightCommands,
  INVOCATION_GRACE_MS,
  runScript,
  waitForInvocations,
} from '../../action/run-command.js';
import { fakeClock, ids, recordingLogger } from './fakes.js';

const ssmMock = mockClient(SSMClient);
const ssm = new SSMClient({ region: 'eu-west-1' });

beforeEach(() => {
  ssmMock.reset();
});

function throttled(): Error {
  return Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
}

function commandNotVisibleYet(): Error {
  return Object.assign(new Error('InvalidCommandId'), {
    name: 'InvalidCommandId',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
  });
}

/** SSM's answer was lost: a 5xx (InternalServerError) after SSM may have started the command. */
function internalError(): Error {
  return Object.assign(new Error('Internal Server Error'), {
    name: 'InternalServerError',
    $fault: 'server',
    $metadata: { httpStatusCode: 500 },
  });
}

/** The connection dropped before any answer: no HTTP status at all. */
function connectionReset(): Error {
  return Object.assign(new Error('socket hang up'), { name: 'Error', code: 'ECONNRESET' });
}

const done = (
  instanceIds: string[],
  status: CommandInvocationStatus = 'Success',
): ListCommandInvocationsCommandOutput => ({
  $metadata: {},
  CommandInvocations: instanceIds.map((InstanceId) => ({ InstanceId, Status: status })),
});

describe('running the script through SSM', () => {
  it('sends 120 instances in calls of at most 50 ids, with delivery and execution timeouts', async () => {
    const fleet = ids(120);
    let n = 0;
    ssmMock.on(SendCommandCommand).callsFake(() => ({ Command: { CommandId: `cmd-${++n}` } }));
    ssmMock.on(ListCommandInvocationsCommand).callsFake((input: { CommandId: string }) => {
      const index = Number(input.CommandId.slice(4)) - 1;
      return done(fleet.slice(index * 50, index * 50 + 50));
    });
    ssmMock
      .on(GetCommandInvocationCommand)
      .resolves({ ResponseCode: 0, StandardOutputContent: 'ok' });
    const results = await runScript(
      { ssm, clock: fakeClock(), log: recordingLogger() },
      { instanceIds: fleet, script: 'echo hi', executionTimeoutSeconds: 600, comment: 'test' },
    );
    const sent = ssmMock.commandCalls(SendCommandCommand).map((c) => c.args[0].input);
    expect(sent.map((input) => input.InstanceIds?.length)).toEqual([50, 50, 20]);
    expect(sent[0]).toMatchObject({
      DocumentName: 'AWS-RunShellScript',
      TimeoutSeconds: DELIVERY_TIMEOUT_SECONDS,
      Parameters: { commands: ['echo hi'], executionTimeout: ['600'] },
    });
    expect(results.size).toBe(120);
    expect([...results.values()].every((r) => r.status === 'Success' && r.exitCode === 0)).toBe(
      true,
    );
    expect(ssmMock).toHaveReceivedCommandTimes(ListCommandInvocationsCommand, 3);
  });

  it('polls with one ListCommandInvocations call per poll for the whole command, backing off', async () => {
    const fleet = ids(30);
    ssmMock
      .on(ListCommandInvocationsCommand)
      .resolvesOnce(done(fleet, 'Pending'))
      .resolvesOnce(done(fleet, 'InProgress'))
      .resolvesOnce(done(fleet, 'InProgress'))
      .resolves(done(fleet));
    const clock = fakeClock();
    const statuses = await waitForInvocations(
      { ssm, clock, log: recordingLogger() },
      'cmd-1',
      fleet,
      clock.now() + 3_600_000,
    );
    expect(ssmMock).toHaveReceivedCommandTimes(ListCommandInvocationsCommand, 4);
    expect(ssmMock).toHaveReceivedCommandWith(ListCommandInvocationsCommand, {
      CommandId: 'cmd-1',
      Details: false,
    });
    expect(clock.slept).toEqual([2000, 3000, 4500, 6750]);
    expect([...statuses.values()].every((s) => s.status === 'Success')).toBe(true);
  });

  it('retries a throttled poll after a longer pause', async () => {
    const fleet = ids(2);
    ssmMock.on(ListCommandInvocationsCommand).rejectsOnce(throttled()).resolves(done(fleet));
    const clock = fakeClock();
    const statuses = await waitForInvocations(
      { ssm, clock, log: recordingLogger() },
      'cmd-1',
      fleet,
      clock.now() + 3_600_000,
    );
    expect(ssmMock).toHaveReceivedCommandTimes(ListCommandInvocationsCommand, 2);
    expect(clock.slept).toEqual([2000, 4000]);
    expect(statuses.get(fleet[0]!)?.status).toBe('Success');
  });

  it('treats every throttling answer the SDK knows as throttling, not only three names (HTTP 429, ThrottledException)', async () => {
    const fleet = ids(1);
    ssmMock
      .on(ListCommandInvocationsCommand)
      .rejectsOnce(
        Object.assign(new Error('Too Many Requests'), {
          name: 'Unknown',
          $metadata: { httpStatusCode: 429 },
        }),
      )
      .rejectsOnce(Object.assign(new Error('slow down'), { name: 'ThrottledException' }))
      .resolves(done(fleet));
    const clock = fakeClock();
    let throttled = 0;
    const statuses = await waitForInvocations(
      { ssm, clock, log: recordingLogger(), onThrottle: () => throttled++ },
      'cmd-1',
      fleet,
      clock.now() + 3_600_000,
    );
    expect(statuses.get(fleet[0]!)?.status).toBe('Success');
    expect(throttled).toBe(2);
  });

  it('retries InvalidCommandId and an empty list right after sending (what ListCommandInvocations answers before the command is visible)', async () => {
    const fleet = ids(2);
    ssmMock
      .on(ListCommandInvocationsCommand)
      .rejectsOnce(commandNotVisibleYet())
      .resolvesOnce({ CommandInvocations: [] })
      .resolvesOnce(done(fleet.slice(0, 1)))
      .resolves(done(fleet));
    const clock = fakeClock();
    const statuses = await waitForInvocations(
      { ssm, clock, log: recordingLogger() },
      'cmd-1',
      fleet,
      clock.now() + 3_600_000,
    );
    expect(ssmMock).toHaveReceivedCommandTimes(ListCommandInvocationsCommand, 4);
    expect(statuses.get(fleet[1]!)?.status).toBe('Success');
  });

  it('fails on InvalidCommandId once the grace period has passed', async () => {
    ssmMock.on(ListCommandInvocationsCommand).rejects(commandNotVisibleYet());
    const clock = fakeClock();
    const started = clock.now();
    await expect(
      waitForInvocations(
        { ssm, clock, log: recordingLogger() },
        'cmd-1',
        ids(1),
        clock.now() + 3_600_000,
      ),
    ).rejects.toThrow('InvalidCommandId');
    expect(clock.now() - started).toBeGreaterThan(INVOCATION_GRACE_MS);
  });

  it('reads every page of invocations', async () => {
    const fleet = ids(3);
    ssmMock
      .on(ListCommandInvocationsCommand)
      .callsFake((input: { NextToken?: string }) =>
        input.NextToken === 'page-2'
          ? done(fleet.slice(2))
          : { ...done(fleet.slice(0, 2)), NextToken: 'page-2' },
      );
    const clock = fakeClock();
    const statuses = await waitForInvocations(
      { ssm, clock, log: recordingLogger() },
      'cmd-1',
      fleet,
      clock.now() + 3_600_000,
    );
    expect(statuses.size).toBe(3);
    expect(ssmMock).toHaveReceivedCommandTimes(ListCommandInvocationsCommand, 2);
  });

  it('gives up on an invocation SSM never lists once the grace period has passed', async () => {
    const fleet = ids(2);
    ssmMock.on(ListCommandInvocationsCommand).resolves(done(fleet.slice(0, 1)));
    const clock = fakeClock();
    const started = clock.now();
    const statuses = await waitForInvocations(
      { ssm, clock, log: recordingLogger() },
      'cmd-1',
      fleet,
      clock.now() + 3_600_000,
    );
    expect(statuses.get(fleet[1]!)?.status).toBe('NoInvocation');
    expect(clock.now() - started).toBeGreaterThan(INVOCATION_GRACE_MS);
  });

  it('cancels what still runs at the deadline and reports it TimedOut', async () => {
    const fleet = ids(1);
    ssmMock.on(ListCommandInvocationsCommand).resolves(done(fleet, 'InProgress'));
    ssmMock.on(CancelCommandCommand).resolves({});
    const clock = fakeClock();
    const statuses = await waitForInvocations(
      { ssm, clock, log: recordingLogger() },
      'cmd-1',
      fleet,
      clock.now() + 120_000,
    );
    expect(statuses.get(fleet[0]!)?.status).toBe('TimedOut');
    expect(ssmMock).toHaveReceivedCommandWith(CancelCommandCommand, {
      CommandId: 'cmd-1',
      InstanceIds: fleet,
    });
  });

  it('retries a throttled SendCommand and tracks the command while it runs', async () => {
    const fleet = ids(1);
    const seen: string[][] = [];
    const inFlight = inFlightCommands((list) => seen.push(list));
    ssmMock
      .on(SendCommandCommand)
      .rejectsOnce(throttled())
      .resolves({ Command: { CommandId: 'cmd-9' } });
    ssmMock.on(ListCommandInvocationsCommand).resolves(done(fleet, 'Failed'));
    ssmMock
      .on(GetCommandInvocationCommand)
      .resolves({ ResponseCode: 10, StandardOutputContent: 'x' });
    const results = await runScript(
      { ssm, clock: fakeClock(), log: recordingLogger(), inFlight },
      { instanceIds: fleet, script: 'x', executionTimeoutSeconds: 60, comment: 'c' },
    );
    expect(results.get(fleet[0]!)).toMatchObject({ status: 'Failed', exitCode: 10, output: 'x' });
    expect(seen).toEqual([['cmd-9'], []]);
  });
});

describe('when a SendCommand answer is lost (SendCommand has no idempotency token)', () => {
  const run = {
    instanceIds: ids(2),
    script: 'x',
    executionTimeoutSeconds: 60,
    comment: 'deploy v3',
  };

  function sentComment(index = 0): string {
    return ssmMock.commandCalls(SendCommandCommand)[index]!.args[0].input.Comment ?? '';
  }

  beforeEach(() => {
    ssmMock.on(ListCommandInvocationsCommand).resolves(done(run.instanceIds));
    ssmMock.on(GetCommandInvocationCommand).resolves({ ResponseCode: 0 });
  });

  it('follows the command SSM did start instead of sending a second one', async () => {
    ssmMock.on(SendCommandCommand).rejects(internalError());
    ssmMock.on(ListCommandsCommand).callsFake(() => ({
      Commands: [
        { CommandId: 'other', Comment: 'deploy v3 #00000000' },
        { CommandId: 'cmd-lost', Comment: sentComment() },
      ],
    }));
    const log = recordingLogger();
    const seen: string[][] = [];
    const results = await runScript(
      { ssm, clock: fakeClock(), log, inFlight: inFlightCommands((list) => seen.push(list)) },
      run,
    );
    expect(ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    expect(sentComment()).toMatch(/^deploy v3 #[0-9a-f]{8}$/);
    const lookup = ssmMock.commandCalls(ListCommandsCommand)[0]!.args[0].input;
    expect(lookup.InstanceId).toBe(run.instanceIds[0]);
    expect(lookup.Filters).toEqual([
      { key: 'InvokedAfter', value: '2026-11-29T11:55:00Z' },
      { key: 'DocumentName', value: 'AWS-RunShellScript' },
    ]);
    expect(results.get(run.instanceIds[0]!)).toMatchObject({ commandId: 'cmd-lost' });
    expect(seen[0]).toEqual(['cmd-lost']);
    expect(log.lines.join('\n')).toContain('got no answer (InternalServerError');
  });

  it('sends again, with the same comment, only after finding no command', async () => {
    ssmMock
      .on(SendCommandCommand)
      .rejectsOnce(connectionReset())
      .resolves({ Command: { CommandId: 'cmd-2' } });
    ssmMock.on(ListCommandsCommand).resolves({ Commands: [] });
    const results = await runScript({ ssm, clock: fakeClock(), log: recordingLogger() }, run);
    expect(ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 2);
    expect(ssmMock).toHaveReceivedCommandTimes(ListCommandsCommand, 1);
    expect(sentComment(1)).toBe(sentComment(0));
    expect(results.get(run.instanceIds[1]!)).toMatchObject({
      commandId: 'cmd-2',
      status: 'Success',
    });
  });

  it('gives up after three lost answers and says that no command was started', async () => {
    ssmMock.on(SendCommandCommand).rejects(internalError());
    ssmMock.on(ListCommandsCommand).resolves({ Commands: [] });
    await expect(
      runScript({ ssm, clock: fakeClock(), log: recordingLogger() }, run),
    ).rejects.toThrow(/failed 3 times without an answer and started no command/);
    expect(ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 3);
  });

  it('fails at once, without a lookup, when SSM refuses the command (4xx)', async () => {
    ssmMock.on(SendCommandCommand).rejects(
      Object.assign(new Error('Instances not in a valid state'), {
        name: 'InvalidInstanceId',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    await expect(
      runScript({ ssm, clock: fakeClock(), log: recordingLogger() }, run),
    ).rejects.toThrow('Instances not in a valid state');
    expect(ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    expect(ssmMock).not.toHaveReceivedCommand(ListCommandsCommand);
  });

  it('retries a throttled SendCommand blindly (AWS refused it) and counts the throttling', async () => {
    ssmMock
      .on(SendCommandCommand)
      .rejectsOnce(
        Object.assign(new Error('Rate exceeded'), {
          name: 'ThrottlingException',
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
        }),
      )
      .resolves({ Command: { CommandId: 'cmd-1' } });
    let throttled = 0;
    await runScript(
      { ssm, clock: fakeClock(), log: recordingLogger(), onThrottle: () => throttled++ },
      run,
    );
    expect(ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 2);
    expect(ssmMock).not.toHaveReceivedCommand(ListCommandsCommand);
    expect(throttled).toBe(1);
  });

  it('sends through the retry-free client when one is given', async () => {
    const ssmSend = new SSMClient({ region: 'eu-west-1', maxAttempts: 1 });
    const used: unknown[] = [];
    ssmMock.on(SendCommandCommand).callsFake((_input, getClient: () => unknown) => {
      used.push(getClient());
      return { Command: { CommandId: 'cmd-1' } };
    });
    await runScript({ ssm, ssmSend, clock: fakeClock(), log: recordingLogger() }, run);
    expect(used).toEqual([ssmSend]);
  });

  it('logs a console link for each command', async () => {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-7' } });
    const log = recordingLogger();
    await runScript({ ssm, clock: fakeClock(), log }, run);
    expect(log.lines).toContain(
      'SSM command cmd-7: https://eu-west-1.console.aws.amazon.com/systems-manager/run-command/cmd-7?region=eu-west-1',
    );
  });
});

describe('when SSM stops answering the status poll', () => {
  it('cancels the command it can no longer watch, and fails', async () => {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-1' } });
    ssmMock
      .on(ListCommandInvocationsCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    ssmMock.on(CancelCommandCommand).resolves({});
    await expect(
      runScript(
        { ssm, clock: fakeClock(), log: recordingLogger() },
        { instanceIds: ids(1), script: 'x', executionTimeoutSeconds: 60, comment: 'c' },
      ),
    ).rejects.toThrow('not authorized');
    expect(ssmMock).toHaveReceivedCommandWith(CancelCommandCommand, { CommandId: 'cmd-1' });
  });
});
