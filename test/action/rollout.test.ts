import {
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { batchSize } from '../../action/inputs.js';
import { planBatches, rollOut, type RolloutPlan } from '../../action/rollout.js';
import { rolloutOutputs } from '../../action/summary.js';
import {
  fakeClock,
  fakeFleet,
  healthy,
  ids,
  recordingLogger,
  REGISTRY,
  REPOSITORY_URI,
  unhealthyNewVersion,
  type Behaviour,
} from './fakes.js';

const ssmMock = mockClient(SSMClient);
const ssm = new SSMClient({ region: 'eu-west-1' });

beforeEach(() => {
  ssmMock.reset();
});

function plan(
  instanceIds: string[],
  size: number,
  overrides: Partial<RolloutPlan> = {},
): RolloutPlan {
  return {
    version: 'v8',
    image: `${REPOSITORY_URI}:v8`,
    registry: REGISTRY,
    region: 'eu-west-1',
    batches: planBatches(instanceIds, size),
    appDir: '/opt/challenge-app',
    healthUrl: 'http://localhost/health',
    healthTimeoutSeconds: 120,
    commandTimeoutSeconds: 600,
    rollback: true,
    ...overrides,
  };
}

function deps() {
  return { ssm, clock: fakeClock(), log: recordingLogger() };
}

function sentBatches(): string[][] {
  return ssmMock
    .commandCalls(SendCommandCommand)
    .map((call) => call.args[0].input.InstanceIds ?? []);
}

describe('a rollout', () => {
  it.each([
    ['1', { count: 1 }, [[1], [2], [3], [4], [5]]],
    ['2', { count: 2 }, [[1, 2], [3, 4], [5]]],
    ['50%', { percent: 50 }, [[1, 2], [3, 4], [5]]],
  ] as const)(
    'deploys 5 instances with max-parallel %s, batch by batch, and succeeds',
    async (_label, maxParallel, expected) => {
      const fleet = ids(5);
      const running = fakeFleet(ssmMock, fleet);
      const report = await rollOut(deps(), plan(fleet, batchSize(maxParallel, fleet.length)));

      expect(sentBatches()).toEqual(expected.map((batch) => batch.map((n) => fleet[n - 1])));
      expect(report.succeeded).toBe(true);
      expect(report.failure).toBeUndefined();
      expect([...running.running.values()].every((r) => r.version === 'v8')).toBe(true);
      expect(rolloutOutputs(report, 'sha256:abc')).toEqual({
        version: 'v8',
        'image-uri': `${REPOSITORY_URI}:v8`,
        'image-digest': 'sha256:abc',
        'deployed-instances': fleet.join(','),
        'failed-instances': '',
        'rolled-back': 'false',
      });
      expect(report.results.map((r) => r.previousVersion)).toEqual(Array(5).fill('v7'));
    },
  );

  it('sends the rendered script as AWS-RunShellScript with executionTimeout from command-timeout', async () => {
    const fleet = ids(1);
    fakeFleet(ssmMock, fleet);
    await rollOut(deps(), plan(fleet, 1, { commandTimeoutSeconds: 900 }));
    expect(ssmMock).toHaveReceivedCommandWith(SendCommandCommand, {
      DocumentName: 'AWS-RunShellScript',
      InstanceIds: fleet,
      Parameters: expect.objectContaining({ executionTimeout: ['900'] }),
    });
    const script =
      ssmMock.commandCalls(SendCommandCommand)[0]?.args[0].input.Parameters?.commands?.[0];
    expect(script).toContain(`readonly IMAGE='${REPOSITORY_URI}:v8'`);
  });

  it('stops the rollout at the first unhealthy instance and rolls back the ones already updated, newest first', async () => {
    const fleet = ids(5);
    const log = recordingLogger();
    const running = fakeFleet(ssmMock, fleet, { [fleet[2]!]: unhealthyNewVersion });
    const report = await rollOut({ ssm, clock: fakeClock(), log }, plan(fleet, 1));

    expect(running.runs.map((r) => [r.instanceId, r.mode, r.version])).toEqual([
      [fleet[0], 'deploy', 'v8'],
      [fleet[1], 'deploy', 'v8'],
      [fleet[2], 'deploy', 'v8'],
      [fleet[1], 'rollback', 'v7'],
      [fleet[0], 'rollback', 'v7'],
    ]);
    expect(running.runs[3]?.image).toBe(`${REPOSITORY_URI}:v7`);
    expect([...running.running.values()].map((r) => r.version)).toEqual(Array(5).fill('v7'));
    expect(report.succeeded).toBe(false);
    expect(report.results.map((r) => r.outcome)).toEqual([
      'rolled-back',
      'rolled-back',
      'rolled-back',
      'not-reached',
      'not-reached',
    ]);
    expect(report.failure).toContain(
      `${fleet[2]}: v8 failed its health check after 120 s (HTTP 503); rolled back to v7 (healthy).`,
    );
    expect(report.failure).toContain(
      `${fleet[0]}: v8 was healthy; rolled back to v7 (healthy) because v8 failed on ${fleet[2]}.`,
    );
    expect(report.failure).toMatch(/stopped at batch 3 of 5/);
    expect(rolloutOutputs(report, '')).toMatchObject({
      'deployed-instances': '',
      'failed-instances': fleet[2],
      'rolled-back': 'true',
    });
    expect(log.groups.map((g) => g.title)).toEqual([
      expect.stringContaining(`${fleet[0]}: v8 deployed`),
      expect.stringContaining(`${fleet[1]}: v8 deployed`),
      expect.stringContaining(`${fleet[2]}: rolled-back`),
      expect.stringContaining(`${fleet[1]}: rolled back to v7`),
      expect.stringContaining(`${fleet[0]}: rolled back to v7`),
    ]);
  });

  it('finishes the failing batch, then rolls back its healthy members too', async () => {
    const fleet = ids(4);
    const running = fakeFleet(ssmMock, fleet, { [fleet[3]!]: unhealthyNewVersion });
    const report = await rollOut(deps(), plan(fleet, 2));
    expect(running.runs.filter((r) => r.mode === 'rollback').map((r) => r.instanceId)).toEqual([
      fleet[2],
      fleet[1],
      fleet[0],
    ]);
    expect(report.results.every((r) => r.outcome === 'rolled-back')).toBe(true);
  });

  it('rolls back as many instances at once as it deployed at once, newest first', async () => {
    const fleet = ids(6);
    const running = fakeFleet(ssmMock, fleet, { [fleet[5]!]: unhealthyNewVersion });
    const report = await rollOut(deps(), plan(fleet, 3));
    const rollbackCommands = ssmMock
      .commandCalls(SendCommandCommand)
      .map((call) => call.args[0].input)
      .filter((input) => input.Parameters?.commands?.[0]?.includes("readonly MODE='rollback'"))
      .map((input) => input.InstanceIds);
    expect(rollbackCommands).toEqual([
      [fleet[4], fleet[3], fleet[2]],
      [fleet[1], fleet[0]],
    ]);
    expect([...running.running.values()].map((r) => r.version)).toEqual(Array(6).fill('v7'));
    expect(report.results.map((r) => r.outcome)).toEqual(Array(6).fill('rolled-back'));
    expect(report.failure).toContain(
      `${fleet[0]}: v8 was healthy; rolled back to v7 (healthy) because v8 failed on ${fleet[5]}.`,
    );
  });

  it('reports a rollback that fails as such, and still rolls back the others', async () => {
    const fleet = ids(3);
    const rollbackFails: Behaviour = (run) =>
      run.mode === 'rollback'
        ? {
            exitCode: 10,
            result: {
              outcome: 'rolled-back',
              failedStep: 'health',
              httpStatus: '000',
              healthSeconds: 120,
            },
            runs: { image: run.previousImage, version: run.previousVersion },
          }
        : healthy(run);
    const running = fakeFleet(ssmMock, fleet, {
      [fleet[0]!]: rollbackFails,
      [fleet[2]!]: unhealthyNewVersion,
    });
    const report = await rollOut(deps(), plan(fleet, 1));
    expect(report.results.map((r) => r.outcome)).toEqual([
      'rollback-failed',
      'rolled-back',
      'rolled-back',
    ]);
    expect(report.failure).toContain(
      `${fleet[0]}: v8 was healthy; rolling back to v7 failed: v7 failed its health check after 120 s (no answer); it still runs v8.`,
    );
    expect(running.running.get(fleet[0]!)?.version).toBe('v8');
    expect(rolloutOutputs(report, '')['rolled-back']).toBe('true');
  });

  it('reports an instance whose own rollback failed (exit 11) and stops', async () => {
    const fleet = ids(2);
    fakeFleet(ssmMock, fleet, {
      [fleet[0]!]: () => ({
        exitCode: 11,
        result: {
          outcome: 'rollback-failed',
          failedStep: 'health',
          httpStatus: '503',
          healthSeconds: 120,
          rollbackHttpStatus: '000',
        },
      }),
    });
    const report = await rollOut(deps(), plan(fleet, 1));
    expect(report.results.map((r) => r.outcome)).toEqual(['rollback-failed', 'not-reached']);
    expect(report.failure).toContain(
      `${fleet[0]}: v8 failed its health check after 120 s (HTTP 503); rolling back to v7 failed too (no answer): the app is down on this instance.`,
    );
  });

  it('with rollback false, leaves updated instances on the new version and still fails', async () => {
    const fleet = ids(3);
    const running = fakeFleet(ssmMock, fleet, {
      [fleet[1]!]: () => ({
        exitCode: 14,
        result: { outcome: 'failed', failedStep: 'health', httpStatus: '503', healthSeconds: 120 },
      }),
    });
    const report = await rollOut(deps(), plan(fleet, 1, { rollback: false }));
    expect(running.runs.filter((r) => r.mode === 'rollback')).toHaveLength(0);
    expect(report.succeeded).toBe(false);
    expect(report.results.map((r) => r.outcome)).toEqual(['deployed', 'failed', 'not-reached']);
    expect(rolloutOutputs(report, '')).toMatchObject({
      'deployed-instances': fleet[0],
      'failed-instances': fleet[1],
      'rolled-back': 'false',
    });
  });

  it('rolls back an instance whose command timed out, using the previous version it printed first', async () => {
    const fleet = ids(2);
    fakeFleet(ssmMock, fleet);
    // The first instance's deploy ran out of time: SSM says TimedOut, the output stops early.
    ssmMock
      .on(GetCommandInvocationCommand, { CommandId: 'cmd-2' })
      .resolves({
        Status: 'TimedOut',
        ResponseCode: -1,
        StandardOutputContent: `CHALLENGE_DEPLOY_PREVIOUS {"image":"${REPOSITORY_URI}:v7","version":"v7"}\n[12:00:00] pull: ok`,
      })
      .on(ListCommandInvocationsCommand, { CommandId: 'cmd-2' })
      .resolves({
        CommandInvocations: [
          { InstanceId: fleet[1], Status: 'TimedOut', StatusDetails: 'ExecutionTimedOut' },
        ],
      });
    const report = await rollOut(deps(), plan(fleet, 1));
    expect(report.results[1]).toMatchObject({ outcome: 'rolled-back', newVersionFailed: true });
    expect(report.failure).toContain(
      `${fleet[1]}: v8 did not finish: the SSM command ended TimedOut (ExecutionTimedOut); its state is unknown; then rolled back to v7 (healthy)`,
    );
  });

  it('sends 120 instances in SendCommand calls of at most 50 ids', async () => {
    const fleet = ids(120);
    fakeFleet(ssmMock, fleet);
    const report = await rollOut(deps(), plan(fleet, batchSize({ percent: 100 }, 120)));
    expect(sentBatches().map((batch) => batch.length)).toEqual([50, 50, 20]);
    expect(report.succeeded).toBe(true);
  });

  it('makes 60 SSM calls to roll out 20 instances one at a time (and 12 with max-parallel 5): a send and two polls per batch, nothing per instance', async () => {
    const fleet = ids(20);
    fakeFleet(ssmMock, fleet);
    await rollOut(deps(), plan(fleet, 1));
    const count = (command: Parameters<typeof ssmMock.commandCalls>[0]) =>
      ssmMock.commandCalls(command).length;
    expect(count(SendCommandCommand)).toBe(20);
    // One ListCommandInvocations per poll for the whole command: two polls per batch here (the
    // fake answers InProgress first); the second, with Details, brings exit codes and output.
    expect(count(ListCommandInvocationsCommand)).toBe(40);
    expect(count(GetCommandInvocationCommand)).toBe(0);
    expect(ssmMock.calls()).toHaveLength(60);

    ssmMock.reset();
    fakeFleet(ssmMock, fleet);
    await rollOut(deps(), plan(fleet, 5));
    expect(count(SendCommandCommand)).toBe(4);
    expect(count(ListCommandInvocationsCommand)).toBe(8);
    expect(count(GetCommandInvocationCommand)).toBe(0);
  });
});
