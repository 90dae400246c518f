import {
  CancelCommandCommand,
  type CommandInvocationStatus,
  type ListCommandInvocationsCommandOutput,
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
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

function noInvocation(): Error {
  return Object.assign(new Error('no invocation yet'), { name: 'InvocationDoesNotExist' });
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

  it('retries InvocationDoesNotExist and an empty list right after sending', async () => {
    const fleet = ids(2);
    ssmMock
      .on(ListCommandInvocationsCommand)
      .rejectsOnce(noInvocation())
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
