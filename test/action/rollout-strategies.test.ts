// rollOut with the strategies of issue 12: canary and bake (alarms watched, then one re-check),
// alarm rollback, the failure budget, hooks, the journal and what the report says. Every wait runs
// on the fake clock; SSM is the fake fleet, CloudWatch an aws-sdk-client-mock stub.
import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  type DescribeAlarmsCommandOutput,
} from '@aws-sdk/client-cloudwatch';
import { SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { ALARM_BLIND_LIMIT_MS } from '../../action/alarms.js';
import { planRollout } from '../../action/batch-plan.js';
import {
  rollOut,
  type HookRun,
  type RolloutDeps,
  type RolloutJournal,
  type RolloutPlan,
} from '../../action/rollout.js';
import { rolloutOutputs, strategyOutputs } from '../../action/summary.js';
import {
  fakeClock,
  fakeFleet,
  healthy,
  ids,
  recordingLogger,
  REGISTRY,
  REPOSITORY_URI,
  scriptValue,
  unhealthyNewVersion,
  type Behaviour,
} from './fakes.js';

const ssmMock = mockClient(SSMClient);
const cwMock = mockClient(CloudWatchClient);
const ssm = new SSMClient({ region: 'eu-west-1' });
const cloudwatch = new CloudWatchClient({ region: 'eu-west-1' });

beforeEach(() => {
  ssmMock.reset();
  cwMock.reset();
});

function plan(batches: string[][], overrides: Partial<RolloutPlan> = {}): RolloutPlan {
  return {
    version: 'v8',
    image: `${REPOSITORY_URI}:v8`,
    registry: REGISTRY,
    region: 'eu-west-1',
    batches,
    appDir: '/opt/challenge-app',
    healthUrl: 'http://localhost/health',
    healthTimeoutSeconds: 120,
    commandTimeoutSeconds: 600,
    rollback: true,
    ...overrides,
  };
}

function deps(extra: Pick<RolloutDeps, 'journal'> = {}) {
  return { ssm, cloudwatch, clock: fakeClock(), log: recordingLogger(), ...extra };
}

/** Each SendCommand: its mode (deploy, rollback, check) and instances. */
function sent(): Array<[string, string[]]> {
  return ssmMock.commandCalls(SendCommandCommand).map((call) => {
    const input = call.args[0].input;
    return [scriptValue(input.Parameters?.commands?.[0] ?? '', 'MODE'), input.InstanceIds ?? []];
  });
}

const unhealthyCheck: Behaviour = (run) =>
  run.mode === 'check'
    ? {
        exitCode: 15,
        result: {
          outcome: 'unhealthy',
          failedStep: 'health',
          httpStatus: '503',
          healthSeconds: 10,
        },
      }
    : healthy(run);

/** The app on this instance starts failing `afterMs` after its deploy (on the fake clock). */
function degradesAfter(clock: { now(): number }, afterMs: number): Behaviour {
  let deployedAt: number | undefined;
  return (run) => {
    if (run.mode === 'deploy') deployedAt = clock.now();
    if (run.mode === 'check' && deployedAt !== undefined && clock.now() - deployedAt > afterMs)
      return unhealthyCheck(run);
    return healthy(run);
  };
}

function alarmAnswer(state: string, name = 'api-5xx'): Partial<DescribeAlarmsCommandOutput> {
  return {
    MetricAlarms: [
      {
        AlarmName: name,
        StateValue: state as 'OK',
        StateReason: state === 'ALARM' ? 'Threshold Crossed: 1 datapoint [12.0] > 5.0' : 'ok',
        StateUpdatedTimestamp: new Date(Date.UTC(2026, 10, 29, 12, 0, 40)),
      },
    ],
  };
}

describe('canary and bake', () => {
  it('bakes after each batch, then re-checks every instance deployed so far in one command', async () => {
    const fleet = ids(3);
    const running = fakeFleet(ssmMock, fleet);
    const d = deps();
    const started = d.clock.now();
    const report = await rollOut(
      d,
      plan(planRollout(fleet, { count: 2 }, { count: 1 }).batches, { bakeSeconds: 30 }),
    );
    expect(sent()).toEqual([
      ['deploy', [fleet[0]]],
      ['check', [fleet[0]]],
      ['deploy', [fleet[1], fleet[2]]],
      ['check', fleet],
    ]);
    expect(report.succeeded).toBe(true);
    expect([...running.running.values()].map((r) => r.version)).toEqual(['v8', 'v8', 'v8']);
    // Both bakes were waited out on the clock (30 s each), besides the polls' own sleeps.
    expect(d.clock.now() - started).toBeGreaterThanOrEqual(60_000);
    expect(report.timeline.map((t) => [t.section, t.label])).toEqual([
      ['Batches', 'Batch 1 (1)'],
      ['Bake', 'Bake after batch 1'],
      ['Bake', 'Re-check 1 instance(s)'],
      ['Batches', 'Batch 2 (2)'],
      ['Bake', 'Bake after batch 2'],
      ['Bake', 'Re-check 3 instance(s)'],
    ]);
    const bake = report.timeline[1]!;
    expect(bake.endedAt - bake.startedAt).toBe(30_000);
    const check = ssmMock.commandCalls(SendCommandCommand)[1]!.args[0].input;
    expect(check.Parameters?.executionTimeout).toEqual(['70']);
    expect(scriptValue(check.Parameters?.commands?.[0] ?? '', 'VERSION')).toBe('v8');
    expect(scriptValue(check.Parameters?.commands?.[0] ?? '', 'HEALTH_TIMEOUT')).toBe('10');
  });

  it('catches a canary that degrades 20 s after its deploy: rolled back, the rest untouched', async () => {
    const fleet = ids(3);
    const d = deps();
    const running = fakeFleet(ssmMock, fleet, { [fleet[0]!]: degradesAfter(d.clock, 20_000) });
    const report = await rollOut(
      d,
      plan(planRollout(fleet, { count: 2 }, { count: 1 }).batches, { bakeSeconds: 30 }),
    );
    expect(sent()).toEqual([
      ['deploy', [fleet[0]]],
      ['check', [fleet[0]]],
      ['rollback', [fleet[0]]],
    ]);
    expect(running.runs.filter((r) => r.instanceId !== fleet[0])).toEqual([]);
    expect([...running.running.values()].map((r) => r.version)).toEqual(['v7', 'v7', 'v7']);
    expect(report.succeeded).toBe(false);
    expect(report.results.map((r) => [r.outcome, r.failedStep])).toEqual([
      ['rolled-back', 'recheck'],
      ['not-reached', undefined],
      ['not-reached', undefined],
    ]);
    expect(report.failure).toContain(
      `${fleet[0]}: v8 had passed its health gate, but after a 30 s bake v8 failed its health check after 10 s (HTTP 503); then rolled back to v7 (healthy).`,
    );
    expect(report.failure).toMatch(/stopped at batch 1 of 2/);
    expect(rolloutOutputs(report, '')['failed-instances']).toBe(fleet[0]);
  });

  it('says which batch is the canary in the log and on the timeline', async () => {
    const fleet = ids(3);
    fakeFleet(ssmMock, fleet);
    const d = deps();
    const report = await rollOut(
      d,
      plan(planRollout(fleet, { count: 2 }, { count: 1 }).batches, { canary: true }),
    );
    expect(d.log.lines).toContain(`Batch 1 of 2 (canary): deploying v8 to ${fleet[0]}.`);
    expect(d.log.lines).toContain(`Batch 2 of 2: deploying v8 to ${fleet[1]}, ${fleet[2]}.`);
    expect(report.timeline.map((t) => t.label)).toEqual(['Batch 1 canary (1)', 'Batch 2 (2)']);
  });

  it('without a bake (the default) the same degrading canary goes unnoticed, as before', async () => {
    const fleet = ids(3);
    const d = deps();
    fakeFleet(ssmMock, fleet, { [fleet[0]!]: degradesAfter(d.clock, 20_000) });
    const report = await rollOut(d, plan(planRollout(fleet, { count: 2 }, { count: 1 }).batches));
    expect(report.succeeded).toBe(true);
    expect(sent().map(([mode]) => mode)).toEqual(['deploy', 'deploy']);
    expect(cwMock.calls()).toHaveLength(0);
  });

  it('an SSM failure of the re-check stops and rolls back: the rollout does not go on unchecked', async () => {
    const fleet = ids(2);
    const running = fakeFleet(ssmMock, fleet);
    // The re-check is the only command with a 70 s executionTimeout.
    ssmMock.on(SendCommandCommand, { Parameters: { executionTimeout: ['70'] } }).rejects(
      Object.assign(new Error('User is not authorized to perform ssm:SendCommand'), {
        name: 'AccessDeniedException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const report = await rollOut(deps(), plan([[fleet[0]!], [fleet[1]!]], { bakeSeconds: 30 }));
    expect(sent()).toEqual([
      ['deploy', [fleet[0]]],
      ['check', [fleet[0]]],
      ['rollback', [fleet[0]]],
    ]);
    expect(running.running.get(fleet[0]!)?.version).toBe('v7');
    expect(report.failure).toMatch(
      /^The health re-check after the bake of batch 1 could not run through SSM \(User is not authorized to perform ssm:SendCommand\): the rollout stopped rather than go on unchecked\./,
    );
    expect(report.results.map((r) => r.outcome)).toEqual(['rolled-back', 'not-reached']);
  });
});

describe('alarms', () => {
  const alarmPlan = (fleet: string[], overrides: Partial<RolloutPlan> = {}) =>
    plan(
      fleet.map((id) => [id]),
      { alarmNames: ['api-5xx'], ...overrides },
    );

  it('reads metric and composite alarms by name before the first batch and after each one', async () => {
    const fleet = ids(2);
    fakeFleet(ssmMock, fleet);
    cwMock.on(DescribeAlarmsCommand).resolves(alarmAnswer('OK'));
    const report = await rollOut(deps(), alarmPlan(fleet));
    expect(report.succeeded).toBe(true);
    // Before batch 1, after batch 1, after batch 2.
    expect(cwMock).toHaveReceivedCommandTimes(DescribeAlarmsCommand, 3);
    expect(cwMock).toHaveReceivedNthCommandWith(1, DescribeAlarmsCommand, {
      AlarmNames: ['api-5xx'],
      AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
      MaxRecords: 100,
    });
  });

  it('an alarm already in ALARM stops the deploy before anything changes, naming the alarm', async () => {
    const fleet = ids(2);
    const running = fakeFleet(ssmMock, fleet);
    cwMock.on(DescribeAlarmsCommand).resolves(alarmAnswer('ALARM'));
    const report = await rollOut(deps(), alarmPlan(fleet));
    expect(ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
    expect(running.runs).toEqual([]);
    expect(report.succeeded).toBe(false);
    expect(report.rolledBack).toBe(false);
    expect(report.results.map((r) => r.outcome)).toEqual(['not-reached', 'not-reached']);
    expect(report.failure?.split('\n')[0]).toBe(
      'CloudWatch alarm "api-5xx" is in ALARM since 2026-11-29T12:00:40.000Z (Threshold Crossed: 1 datapoint [12.0] > 5.0) before the first batch: the rollout stopped. No instance was changed.',
    );
  });

  it('an alarm entering ALARM during a bake stops and rolls back, naming the alarm', async () => {
    const fleet = ids(3);
    const running = fakeFleet(ssmMock, fleet);
    // OK before batch 1 and for the first 2 reads of its bake (10 s apart), then ALARM.
    cwMock
      .on(DescribeAlarmsCommand)
      .resolvesOnce(alarmAnswer('OK'))
      .resolvesOnce(alarmAnswer('OK'))
      .resolvesOnce(alarmAnswer('OK'))
      .resolves(alarmAnswer('ALARM'));
    const report = await rollOut(deps(), alarmPlan(fleet, { bakeSeconds: 60 }));
    expect(sent()).toEqual([
      ['deploy', [fleet[0]]],
      ['rollback', [fleet[0]]],
    ]);
    expect([...running.running.values()].map((r) => r.version)).toEqual(['v7', 'v7', 'v7']);
    expect(report.results.map((r) => r.outcome)).toEqual([
      'rolled-back',
      'not-reached',
      'not-reached',
    ]);
    expect(report.failure).toMatch(
      /^CloudWatch alarm "api-5xx" is in ALARM since .* during the bake after batch 1: the rollout stopped\./,
    );
    expect(report.failure).toContain(
      `${fleet[0]}: v8 was healthy; rolled back to v7 (healthy) because CloudWatch alarm "api-5xx" entered ALARM.`,
    );
    const bake = report.timeline.find((t) => t.section === 'Bake');
    expect(bake).toMatchObject({ failed: true });
    // Stopped at the third read of the bake, 30 s in, not at its end.
    expect(bake!.endedAt - bake!.startedAt).toBe(30_000);
    // No re-check: the alarm already said it.
    expect(sent().some(([mode]) => mode === 'check')).toBe(false);
  });

  it('without a bake, an alarm read between batches stops the next batch', async () => {
    const fleet = ids(3);
    fakeFleet(ssmMock, fleet);
    cwMock
      .on(DescribeAlarmsCommand)
      .resolvesOnce(alarmAnswer('OK'))
      .resolvesOnce(alarmAnswer('OK'))
      .resolves(alarmAnswer('ALARM'));
    const report = await rollOut(deps(), alarmPlan(fleet));
    expect(sent()).toEqual([
      ['deploy', [fleet[0]]],
      ['deploy', [fleet[1]]],
      ['rollback', [fleet[1]]],
      ['rollback', [fleet[0]]],
    ]);
    expect(report.failure).toMatch(/is in ALARM since .* after batch 2: the rollout stopped/);
  });

  it('keeps asking through throttling, and goes on once an answer says OK', async () => {
    const fleet = ids(2);
    fakeFleet(ssmMock, fleet);
    const throttled = Object.assign(new Error('Rate exceeded'), {
      name: 'Throttling',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });
    cwMock
      .on(DescribeAlarmsCommand)
      .resolvesOnce(alarmAnswer('OK'))
      .rejectsOnce(throttled)
      .rejectsOnce(throttled)
      .resolves(alarmAnswer('OK'));
    const d = deps();
    const report = await rollOut(d, alarmPlan(fleet));
    expect(report.succeeded).toBe(true);
    expect(d.log.lines.filter((l) => l.includes('DescribeAlarms failed'))).toHaveLength(2);
    // Batch 2 waited for a good answer after batch 1.
    expect(cwMock).toHaveReceivedCommandTimes(DescribeAlarmsCommand, 5);
  });

  it(`stops and rolls back when the alarms cannot be read for ${ALARM_BLIND_LIMIT_MS / 60_000} min: never on blind`, async () => {
    const fleet = ids(2);
    const running = fakeFleet(ssmMock, fleet);
    cwMock
      .on(DescribeAlarmsCommand)
      .resolvesOnce(alarmAnswer('OK'))
      .rejects(
        Object.assign(new Error('Service Unavailable'), {
          name: 'ServiceUnavailable',
          $fault: 'server',
          $metadata: { httpStatusCode: 503 },
        }),
      );
    const d = deps();
    const report = await rollOut(d, alarmPlan(fleet));
    expect(sent()).toEqual([
      ['deploy', [fleet[0]]],
      ['rollback', [fleet[0]]],
    ]);
    expect(running.running.get(fleet[0]!)?.version).toBe('v7');
    expect(report.failure?.split('\n')[0]).toMatch(
      /^The CloudWatch alarms could not be read after batch 1 \(Service Unavailable; no answer for \d+ s\): the rollout stopped rather than go on blind\.$/,
    );
  });

  it('stops at once when AWS refuses DescribeAlarms (AccessDenied does not get better)', async () => {
    const fleet = ids(2);
    fakeFleet(ssmMock, fleet);
    cwMock.on(DescribeAlarmsCommand).rejects(
      Object.assign(new Error('not authorized to perform: cloudwatch:DescribeAlarms'), {
        name: 'AccessDenied',
        $fault: 'client',
        $metadata: { httpStatusCode: 403 },
      }),
    );
    const report = await rollOut(deps(), alarmPlan(fleet));
    expect(cwMock).toHaveReceivedCommandTimes(DescribeAlarmsCommand, 1);
    expect(ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
    expect(report.failure?.split('\n')[0]).toMatch(
      /^The CloudWatch alarms could not be read before the first batch \(not authorized to perform: cloudwatch:DescribeAlarms; .*\): the rollout stopped rather than go on blind\. No instance was changed\.$/,
    );
  });

  it('an alarm name CloudWatch does not know stops the deploy before anything changes', async () => {
    const fleet = ids(1);
    fakeFleet(ssmMock, fleet);
    cwMock.on(DescribeAlarmsCommand).resolves(alarmAnswer('OK'));
    const report = await rollOut(deps(), plan([fleet], { alarmNames: ['api-5xx', 'api-5XX'] }));
    expect(ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
    expect(report.failure).toContain('alarm-names: CloudWatch has no alarm named "api-5XX"');
  });

  it('reads every page of the answer and finds a composite alarm in ALARM', async () => {
    const fleet = ids(1);
    fakeFleet(ssmMock, fleet);
    cwMock
      .on(DescribeAlarmsCommand)
      .resolvesOnce({ ...alarmAnswer('OK'), NextToken: 'page-2' })
      .resolvesOnce({
        CompositeAlarms: [{ AlarmName: 'service-health', StateValue: 'ALARM' }],
      });
    const report = await rollOut(
      deps(),
      plan([fleet], { alarmNames: ['api-5xx', 'service-health'] }),
    );
    expect(cwMock).toHaveReceivedNthCommandWith(2, DescribeAlarmsCommand, { NextToken: 'page-2' });
    expect(report.failure).toContain('CloudWatch alarm "service-health" is in ALARM');
    expect(ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
  });
});

describe('max-failures', () => {
  it('1 of 3 broken with a budget of 1: it alone goes back, the rollout goes on and succeeds', async () => {
    const fleet = ids(3);
    const running = fakeFleet(ssmMock, fleet, { [fleet[1]!]: unhealthyNewVersion });
    const d = deps();
    const report = await rollOut(
      d,
      plan(
        fleet.map((id) => [id]),
        { maxFailures: 1 },
      ),
    );
    expect(report.succeeded).toBe(true);
    expect(report.failure).toBeUndefined();
    expect(report.tolerated).toEqual([fleet[1]]);
    expect(sent().map(([mode]) => mode)).toEqual(['deploy', 'deploy', 'deploy']);
    expect([...running.running.values()].map((r) => r.version)).toEqual(['v8', 'v7', 'v8']);
    expect(report.results.map((r) => r.outcome)).toEqual(['deployed', 'rolled-back', 'deployed']);
    expect(rolloutOutputs(report, '')).toMatchObject({
      'deployed-instances': `${fleet[0]},${fleet[2]}`,
      'failed-instances': fleet[1],
      'rolled-back': 'true',
    });
    expect(d.log.lines).toContain(
      `${fleet[1]} failed and is back on v7; 1 of max-failures 1 used, the rollout goes on.`,
    );
  });

  it('past the budget everything rolls back as before', async () => {
    const fleet = ids(4);
    const running = fakeFleet(ssmMock, fleet, {
      [fleet[1]!]: unhealthyNewVersion,
      [fleet[2]!]: unhealthyNewVersion,
    });
    const report = await rollOut(
      deps(),
      plan(
        fleet.map((id) => [id]),
        { maxFailures: 1 },
      ),
    );
    expect(report.succeeded).toBe(false);
    expect(sent()).toEqual([
      ['deploy', [fleet[0]]],
      ['deploy', [fleet[1]]],
      ['deploy', [fleet[2]]],
      ['rollback', [fleet[0]]],
    ]);
    expect([...running.running.values()].map((r) => r.version)).toEqual(Array(4).fill('v7'));
    expect(report.failure?.split('\n')[0]).toBe(
      '2 instance(s) failed, more than max-failures allows (1): the rollout stopped.',
    );
    expect(report.failure).toMatch(/stopped at batch 3 of 4/);
  });

  it('a re-check failure within the budget: the action returns that instance alone, and goes on', async () => {
    const fleet = ids(3);
    const running = fakeFleet(ssmMock, fleet, { [fleet[0]!]: unhealthyCheck });
    const report = await rollOut(
      deps(),
      plan(planRollout(fleet, { count: 2 }, { count: 1 }).batches, {
        bakeSeconds: 30,
        maxFailures: 1,
      }),
    );
    expect(sent()).toEqual([
      ['deploy', [fleet[0]]],
      ['check', [fleet[0]]],
      ['rollback', [fleet[0]]],
      ['deploy', [fleet[1], fleet[2]]],
      ['check', [fleet[1], fleet[2]]],
    ]);
    expect(report.succeeded).toBe(true);
    expect(report.tolerated).toEqual([fleet[0]]);
    expect([...running.running.values()].map((r) => r.version)).toEqual(['v7', 'v8', 'v8']);
    expect(report.results[0]).toMatchObject({ outcome: 'rolled-back', failedStep: 'recheck' });
  });

  it('an instance that cannot be returned is beyond any budget: with rollback false the rollout stops', async () => {
    const fleet = ids(3);
    const running = fakeFleet(ssmMock, fleet, {
      [fleet[0]!]: (run) => ({
        exitCode: 14,
        result: { outcome: 'failed', failedStep: 'health', httpStatus: '503', healthSeconds: 120 },
        runs: { image: run.image, version: run.version },
      }),
    });
    const report = await rollOut(
      deps(),
      plan(
        fleet.map((id) => [id]),
        { maxFailures: 2, rollback: false },
      ),
    );
    expect(sent()).toEqual([['deploy', [fleet[0]]]]);
    expect(running.running.get(fleet[0]!)?.version).toBe('v8');
    expect(report.succeeded).toBe(false);
    expect(report.failure?.split('\n')[0]).toBe(
      `${fleet[0]} failed and could not be returned to the previous version: max-failures covers only instances that are back on it, so the rollout stopped.`,
    );
  });

  it('a budget as big as the fleet does not make a green job of a version that failed everywhere', async () => {
    const fleet = ids(2);
    fakeFleet(ssmMock, fleet, {
      [fleet[0]!]: unhealthyNewVersion,
      [fleet[1]!]: unhealthyNewVersion,
    });
    const report = await rollOut(
      deps(),
      plan(
        fleet.map((id) => [id]),
        { maxFailures: 2 },
      ),
    );
    expect(report.succeeded).toBe(false);
    expect(report.failure?.split('\n')[0]).toBe(
      'v8 failed on every instance it reached (2, all within max-failures 2): it runs nowhere, so the deploy failed.',
    );
  });

  it('a budget of 0 (the default) stops at the first failure exactly as before', async () => {
    const fleet = ids(3);
    fakeFleet(ssmMock, fleet, { [fleet[1]!]: unhealthyNewVersion });
    const report = await rollOut(
      deps(),
      plan(
        fleet.map((id) => [id]),
        { maxFailures: 0 },
      ),
    );
    expect(report.failure?.split('\n')[0]).toBe(
      'v8 is not running healthy on every instance (2 rolled back, 1 not reached). The rollout stopped at batch 2 of 3.',
    );
    expect(report.tolerated).toEqual([]);
  });
});

function hook(
  phase: HookRun['phase'],
  ok: boolean,
  calls: string[],
  clock: { now(): number },
): (instanceId: string) => Promise<HookRun> {
  return (instanceId) => {
    calls.push(`${phase} ${instanceId}`);
    return Promise.resolve({
      phase,
      instanceId,
      ok,
      exitCode: ok ? 0 : 3,
      commandId: `hook-${phase}`,
      outputTail: ok ? 'migrated 2 tables' : 'ERROR: relation "users" already exists',
      startedAt: clock.now(),
      durationMs: 4_000,
      message: ok ? `${phase}-command succeeded` : `${phase}-command exited 3`,
    });
  };
}

describe('hooks', () => {
  it('runs pre-deploy once before the first batch and post-deploy once after the last', async () => {
    const fleet = ids(3);
    const calls: string[] = [];
    fakeFleet(ssmMock, fleet);
    const d = deps();
    const report = await rollOut(
      {
        ...d,
        hooks: {
          preDeploy: hook('pre-deploy', true, calls, d.clock),
          postDeploy: hook('post-deploy', true, calls, d.clock),
        },
      },
      plan(fleet.map((id) => [id])),
    );
    expect(calls).toEqual([`pre-deploy ${fleet[0]}`, `post-deploy ${fleet[0]}`]);
    expect(report.succeeded).toBe(true);
    expect(report.hooks.map((h) => h.phase)).toEqual(['pre-deploy', 'post-deploy']);
    expect(report.commandIds[0]).toBe('hook-pre-deploy');
    expect(report.commandIds.at(-1)).toBe('hook-post-deploy');
    expect(report.timeline.filter((t) => t.section === 'Hooks')).toHaveLength(2);
  });

  it('a failing pre-deploy hook stops with nothing switched, naming the hook and its exit code', async () => {
    const fleet = ids(2);
    const calls: string[] = [];
    const running = fakeFleet(ssmMock, fleet);
    const d = deps();
    const report = await rollOut(
      { ...d, hooks: { preDeploy: hook('pre-deploy', false, calls, d.clock) } },
      plan(fleet.map((id) => [id])),
    );
    expect(ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
    expect(running.runs).toEqual([]);
    expect(report.rolledBack).toBe(false);
    expect(report.failure?.split('\n')[0]).toBe(
      `pre-deploy-command failed on ${fleet[0]} (exit 3): pre-deploy-command exited 3 Nothing was switched.`,
    );
  });

  it('a failing post-deploy hook rolls back every updated instance', async () => {
    const fleet = ids(2);
    const calls: string[] = [];
    const running = fakeFleet(ssmMock, fleet);
    const d = deps();
    const report = await rollOut(
      { ...d, hooks: { postDeploy: hook('post-deploy', false, calls, d.clock) } },
      plan(fleet.map((id) => [id])),
    );
    expect(sent().map(([mode]) => mode)).toEqual(['deploy', 'deploy', 'rollback', 'rollback']);
    expect([...running.running.values()].map((r) => r.version)).toEqual(['v7', 'v7']);
    expect(report.succeeded).toBe(false);
    expect(report.failure).toContain(`post-deploy-command failed on ${fleet[0]} (exit 3)`);
    expect(report.failure).toContain('because post-deploy-command failed');
  });
});

describe('a hook that throws', () => {
  it('after the last batch (SSM refused it) is a failed hook: everything rolls back', async () => {
    const fleet = ids(2);
    const running = fakeFleet(ssmMock, fleet);
    const report = await rollOut(
      {
        ...deps(),
        hooks: {
          postDeploy: () => Promise.reject(new Error('ThrottlingException: Rate exceeded')),
        },
      },
      plan(fleet.map((id) => [id])),
    );
    expect([...running.running.values()].map((r) => r.version)).toEqual(['v7', 'v7']);
    expect(report.failure?.split('\n')[0]).toBe(
      `post-deploy-command failed on ${fleet[0]}: post-deploy-command could not be run: ThrottlingException: Rate exceeded.`,
    );
    expect(report.hooks).toMatchObject([{ phase: 'post-deploy', ok: false }]);
  });
});

describe('the journal for rollback on cancel', () => {
  function recordingJournal(): RolloutJournal & { events: string[] } {
    const events: string[] = [];
    return {
      events,
      deploying: (idList) => events.push(`deploying ${idList.join(',')}`),
      updated: (id, image, version) => events.push(`updated ${id} ${image} ${version}`),
      settled: (id) => events.push(`settled ${id}`),
      finished: () => events.push('finished'),
    };
  }

  it('is told before each send, what each instance ran, what is back, and the end', async () => {
    const fleet = ids(2);
    fakeFleet(ssmMock, fleet, { [fleet[1]!]: unhealthyNewVersion });
    const journal = recordingJournal();
    await rollOut(deps({ journal }), plan(fleet.map((id) => [id])));
    expect(journal.events).toEqual([
      `deploying ${fleet[0]}`,
      `updated ${fleet[0]} ${REPOSITORY_URI}:v7 v7`,
      `deploying ${fleet[1]}`,
      `updated ${fleet[1]} ${REPOSITORY_URI}:v7 v7`,
      // The script rolled its own instance back; the action rolled back the first.
      `settled ${fleet[1]}`,
      `settled ${fleet[0]}`,
      'finished',
    ]);
  });

  it('the deploy script carries the rollout id (restore after a cancel trusts only it), a rollback does not', async () => {
    const fleet = ids(2);
    fakeFleet(ssmMock, fleet, { [fleet[1]!]: unhealthyNewVersion });
    await rollOut(
      deps(),
      plan(
        fleet.map((id) => [id]),
        { deployId: 'run-42-1' },
      ),
    );
    const scripts = ssmMock
      .commandCalls(SendCommandCommand)
      .map((call) => call.args[0].input.Parameters?.commands?.[0] ?? '');
    expect(
      scripts.map((script) => [scriptValue(script, 'MODE'), scriptValue(script, 'DEPLOY_ID')]),
    ).toEqual([
      ['deploy', 'run-42-1'],
      ['deploy', 'run-42-1'],
      ['rollback', ''],
    ]);
  });

  it('is told finished also when the deploy stops before the first batch', async () => {
    const journal = recordingJournal();
    cwMock.on(DescribeAlarmsCommand).resolves(alarmAnswer('ALARM'));
    fakeFleet(ssmMock, ids(1));
    await rollOut(deps({ journal }), plan([ids(1)], { alarmNames: ['api-5xx'] }));
    expect(journal.events).toEqual(['finished']);
  });
});

describe('the outputs of issue 12', () => {
  it('previous-version, every command id (deploys, checks, hooks, rollbacks) and the result JSON', async () => {
    const fleet = ids(3);
    const calls: string[] = [];
    fakeFleet(ssmMock, fleet, { [fleet[2]!]: unhealthyNewVersion });
    const d = deps();
    const report = await rollOut(
      { ...d, hooks: { preDeploy: hook('pre-deploy', true, calls, d.clock) } },
      plan(planRollout(fleet, { count: 2 }, { count: 1 }).batches, { bakeSeconds: 30 }),
    );
    const outputs = strategyOutputs(report);
    expect(outputs['previous-version']).toBe('v7');
    // pre-deploy hook, deploy 1, check 1, deploy 2, rollback of fleet[1] (fleet[2] rolled back itself).
    expect(outputs['command-ids']).toBe('hook-pre-deploy,cmd-1,cmd-2,cmd-3,cmd-4');
    const result = JSON.parse(outputs.result) as Array<Record<string, unknown>>;
    expect(result).toEqual([
      {
        instance: fleet[0],
        outcome: 'rolled-back',
        versionBefore: 'v7',
        versionAfter: 'v7',
        seconds: expect.any(Number),
        failedStep: null,
      },
      {
        instance: fleet[1],
        outcome: 'rolled-back',
        versionBefore: 'v7',
        versionAfter: 'v7',
        seconds: expect.any(Number),
        failedStep: null,
      },
      {
        instance: fleet[2],
        outcome: 'rolled-back',
        versionBefore: 'v7',
        versionAfter: 'v7',
        seconds: expect.any(Number),
        failedStep: 'health',
      },
    ]);
  });

  it('previous-version of a mixed fleet lists every version, most common first', async () => {
    const fleet = ids(3);
    const running = fakeFleet(ssmMock, fleet);
    running.running.set(fleet[0]!, { image: `${REPOSITORY_URI}:v5`, version: 'v5' });
    const report = await rollOut(deps(), plan([fleet]));
    expect(strategyOutputs(report)['previous-version']).toBe('v7,v5');
    expect(JSON.parse(strategyOutputs(report).result)).toEqual(
      fleet.map((id, i) =>
        expect.objectContaining({
          instance: id,
          versionBefore: i === 0 ? 'v5' : 'v7',
          versionAfter: 'v8',
        }),
      ),
    );
  });
});
