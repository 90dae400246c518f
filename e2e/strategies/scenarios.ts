// Issue 12's rollout strategies, end to end on the suite's fleet (deploy.test.ts registers this
// block inside its own, so the fleet, the images and the table are shared): a canary that
// degrades during its bake, a CloudWatch alarm (already firing, and firing mid-rollout), a
// failure budget, pre/post-deploy hooks, and a cancelled job rolled back by its post step.
import { describe, expect, it } from '@jest/globals';
import type { ActionRun } from '../infra/action-runner.js';
import type { E2eEnvironment } from '../infra/environment.js';
import { REPOSITORY } from '../infra/environment.js';
import type { ImageVariant } from '../infra/images.js';
import {
  fleetState,
  invocationsSince,
  list,
  migrationRuns,
  resultOutput,
  settled,
  waitFor,
  type InstanceState,
} from './fleet-state.js';

/** What the enclosing suite lends this block. */
export interface Suite {
  fleet(): E2eEnvironment;
  scenario(name: string, body: () => Promise<void>): Promise<void>;
  deploy(
    inputs: Record<string, string>,
    control?: { cancel?: Promise<unknown> },
  ): Promise<ActionRun>;
  expectSucceeded(result: ActionRun): void;
  expectFailed(result: ActionRun): void;
}

const IMAGE = {
  /** Healthy at first; /health answers 500 from 20 s after start (the canary case). */
  degrading: 'localhost/challenge-app:e2e-degrading',
  /** Good builds with digests of their own (each deploy below needs a version the fleet lacks). */
  s1: 'localhost/challenge-app:e2e-strategy-1',
  s2: 'localhost/challenge-app:e2e-strategy-2',
  s3: 'localhost/challenge-app:e2e-strategy-3',
  /** deploy.test.ts's builds (every variant costs build time): a good one, for bringing the
   * fleet to one version, and one that reports a wrong version on the second instance only. */
  baseline: 'localhost/challenge-app:e2e-good-1',
  brokenOnSecond: 'localhost/challenge-app:e2e-broken-on-second',
};

export const STRATEGY_IMAGES: ImageVariant[] = [
  { name: IMAGE.degrading, buildId: 'degrading', degradeAfterSeconds: 20 },
  { name: IMAGE.s1, buildId: 'strategy-1' },
  { name: IMAGE.s2, buildId: 'strategy-2' },
  { name: IMAGE.s3, buildId: 'strategy-3' },
];

/** A deploy command's comment (rollout.ts: `challenge-deploy vN`, run-command.ts adds ` #<hex>`). */
function deployComment(version: string): RegExp {
  return new RegExp(`^challenge-deploy ${version} #[0-9a-f]+$`);
}

/** The alarm the scenarios name in alarm-names. */
const ALARM = 'challenge-app-5xx';
/** Seconds of health retries for a version that will not get healthy. */
const BROKEN_TIMEOUT = '8';

export function describeStrategies(suite: Suite): void {
  describe('rollout strategies (issue 12)', () => {
    const ids = (): string[] => suite.fleet().instances.map((i) => i.instanceId);
    const versions = (states: InstanceState[]) => states.map((s) => s.version);

    /** The fleet on one healthy version (deploys the baseline build if it is not). */
    async function uniformFleet(): Promise<InstanceState[]> {
      const before = await fleetState(suite.fleet());
      const first = before[0]?.version;
      if (first !== undefined && before.every((s) => s.version === first)) return before;
      suite.expectSucceeded(await suite.deploy({ image: IMAGE.baseline }));
      return fleetState(suite.fleet());
    }

    async function tags(): Promise<string[]> {
      return (await suite.fleet().registry.client.tags(REPOSITORY)).sort();
    }

    /** The command-ids output is every SSM command the run sent, nothing else. */
    function expectCommandIds(result: ActionRun, since: number): void {
      const sent = [...new Set(invocationsSince(suite.fleet(), since).map((i) => i.commandId))];
      expect(list(result.outputs['command-ids'])).toEqual(sent.sort());
    }

    it('a. canary 1 with a bake: the canary degrades 20 s after start, the bake catches it and rolls it back; the other instances are never touched', async () => {
      await suite.scenario('12a canary degrades in bake', async () => {
        const e = suite.fleet();
        const before = await uniformFleet();
        const since = Date.now();
        const result = await suite.deploy({
          image: IMAGE.degrading,
          canary: '1',
          'max-parallel': '2',
          // Past the 20 s the app stays healthy, counting from its start.
          'bake-time': '20',
        });
        suite.expectFailed(result);
        await settled(e);
        const [canary, ...rest] = ids() as [string, ...string[]];
        const failure = result.errors.join('\n');
        expect(failure).toContain(canary);
        expect(failure).toMatch(/rolled back/i);
        expect(result.outputs).toMatchObject({
          'rolled-back': 'true',
          'previous-version': before[0]?.version,
        });
        expect(list(result.outputs['failed-instances'])).toEqual([canary]);
        expect(list(result.outputs['deployed-instances'])).toEqual([]);
        const outcome = resultOutput(result.outputs).find((r) => r.instance === canary);
        expect(outcome).toMatchObject({
          outcome: 'rolled-back',
          versionBefore: before[0]?.version,
          // Not the deploy's own health gate (it passed): the re-check after the bake.
          failedStep: 'recheck',
        });
        // The canary passed its health gate (it ran the new version) before the bake failed it.
        const canaryRuns = invocationsSince(e, since).filter((i) => i.instanceId === canary);
        expect(canaryRuns.length).toBeGreaterThanOrEqual(2);
        expect(canaryRuns[0]?.status).toBe('Success');
        for (const id of rest)
          expect(invocationsSince(e, since).filter((i) => i.instanceId === id)).toEqual([]);
        const after = await fleetState(e);
        expect(versions(after)).toEqual(versions(before));
        // Untouched: same .env, same container (not even restarted).
        expect(after.slice(1)).toEqual(before.slice(1));
        expect(after[0]?.dotEnv).toBe(before[0]?.dotEnv);
        expectCommandIds(result, since);
      });
    });

    it('b1. an alarm already in ALARM stops the deploy before anything changes, naming the alarm', async () => {
      await suite.scenario('12b1 alarm already firing', async () => {
        const e = suite.fleet();
        const before = await uniformFleet();
        const tagsBefore = await tags();
        e.cloudwatch.define(ALARM, 'ALARM', 'Threshold Crossed: 1 datapoint [12.0] >= 5.0');
        const since = Date.now();
        let result: ActionRun;
        try {
          result = await suite.deploy({ image: IMAGE.s1, 'alarm-names': ALARM });
        } finally {
          e.cloudwatch.setState(ALARM, 'OK', 'test over');
        }
        suite.expectFailed(result);
        expect(result.errors.join('\n')).toContain(ALARM);
        const calls = e.aws.calls.filter(
          (c) => c.at >= since && c.caller === e.actionEnv.AWS_ACCESS_KEY_ID,
        );
        expect(calls.map((c) => c.operation)).toContain('DescribeAlarms');
        expect(calls.filter((c) => ['SendCommand', 'PutImage'].includes(c.operation))).toEqual([]);
        expect(invocationsSince(e, since)).toEqual([]);
        expect(await tags()).toEqual(tagsBefore);
        expect(await fleetState(e)).toEqual(before);
      });
    });

    it('b2. an alarm entering ALARM mid-rollout stops it, rolls back what was updated and names the alarm', async () => {
      await suite.scenario('12b2 alarm fires mid-rollout', async () => {
        const e = suite.fleet();
        const before = await uniformFleet();
        const [first, , third] = ids() as [string, string, string];
        e.cloudwatch.define(ALARM, 'OK');
        const since = Date.now();
        // The alarm fires once the first instance has taken the new version.
        const firing = waitFor(
          () =>
            invocationsSince(e, since).some(
              (i) =>
                i.instanceId === first &&
                i.status === 'Success' &&
                /^challenge-deploy v\d+ #/.test(i.comment),
            ),
          120_000,
          'the first instance to be deployed',
        ).then(() =>
          e.cloudwatch.setState(ALARM, 'ALARM', 'Threshold Crossed: 3 datapoints [9.0] >= 5.0'),
        );
        firing.catch(() => undefined);
        let result: ActionRun;
        try {
          result = await suite.deploy({
            image: IMAGE.s1,
            'alarm-names': ALARM,
            'max-parallel': '1',
            'bake-time': '5',
          });
          await firing;
        } finally {
          e.cloudwatch.setState(ALARM, 'OK', 'test over');
        }
        suite.expectFailed(result);
        await settled(e);
        const failure = result.errors.join('\n');
        expect(failure).toContain(ALARM);
        expect(failure).toMatch(/rolled back/i);
        expect(result.outputs['rolled-back']).toBe('true');
        expect(invocationsSince(e, since).map((i) => i.instanceId)).not.toContain(third);
        const after = await fleetState(e);
        expect(versions(after)).toEqual(versions(before));
        for (const state of after)
          expect(state.dotEnv).toContain(`APP_VERSION=${before[0]?.version}\n`);
        expectCommandIds(result, since);
      });
    });

    it('d1. a pre-deploy command that fails stops the deploy with nothing switched; its output is in the summary', async () => {
      await suite.scenario('12d1 pre-deploy fails', async () => {
        const e = suite.fleet();
        const before = await uniformFleet();
        const runsBefore = (await migrationRuns(e)).length;
        const since = Date.now();
        const result = await suite.deploy({
          image: IMAGE.s2,
          'pre-deploy-command': 'node /app/e2e-migrate.mjs --fail',
          // A hook that hangs fails in 90 s, not the suite's 300 s.
          'command-timeout': '90',
        });
        suite.expectFailed(result);
        await settled(e);
        const failure = result.errors.join('\n');
        expect(failure).toMatch(/pre-deploy/i);
        expect(failure).toMatch(/\b3\b/);
        // The output tail is HTML-escaped in the summary's <pre> (GitHub shows the quotes).
        expect(result.summary).toContain('column &quot;owner&quot; contains null values');
        expect(result.outputs['rolled-back']).toBe('false');
        // It ran once, in the new image, on the rollout's first instance; nothing else was sent.
        const runs = (await migrationRuns(e)).slice(runsBefore);
        expect(runs).toEqual([
          expect.objectContaining({ buildId: 'strategy-2', instanceId: ids()[0], args: '--fail' }),
        ]);
        const sent = invocationsSince(e, since);
        expect(sent.map((i) => i.instanceId)).toEqual([ids()[0]]);
        expectCommandIds(result, since);
        const after = await fleetState(e);
        expect(after.map((s) => [s.version, s.dotEnv])).toEqual(
          before.map((s) => [s.version, s.dotEnv]),
        );
      });
    });

    it('c. max-failures 1 with one broken instance of three: the job is green with a warning, that one is rolled back alone, the others run the new version', async () => {
      await suite.scenario('12c failure budget 1', async () => {
        const e = suite.fleet();
        const before = await uniformFleet();
        const since = Date.now();
        const result = await suite.deploy({
          image: IMAGE.brokenOnSecond,
          'max-failures': '1',
          // One batch: the budget is per rollout, not per batch (and the scenario is faster).
          'max-parallel': '3',
          'health-timeout': BROKEN_TIMEOUT,
        });
        suite.expectSucceeded(result);
        await settled(e);
        const [first, second, third] = ids() as [string, string, string];
        const version = result.outputs.version ?? '';
        expect(version).toMatch(/^v\d+$/);
        expect(list(result.outputs['failed-instances'])).toEqual([second]);
        expect(list(result.outputs['deployed-instances'])).toEqual([first, third].sort());
        expect(result.warnings.filter((w) => w.includes(second))).toHaveLength(1);
        expect(result.warnings.join('\n')).not.toContain(first);
        expect(result.outputs['previous-version']).toBe(before[0]?.version);
        const outcomes = resultOutput(result.outputs).sort((a, b) =>
          a.instance.localeCompare(b.instance),
        );
        expect(
          outcomes.map((r) => [r.instance, r.outcome, r.versionBefore, r.versionAfter]),
        ).toEqual([
          [first, 'deployed', before[0]?.version, version],
          [second, 'rolled-back', before[1]?.version, before[1]?.version],
          [third, 'deployed', before[2]?.version, version],
        ]);
        expect(outcomes[1]?.failedStep).toBe('health');
        const after = await fleetState(e);
        expect(versions(after)).toEqual([version, before[1]?.version, version]);
        expect(after[1]?.dotEnv).toContain(`APP_VERSION=${before[1]?.version}\n`);
        expectCommandIds(result, since);
      });
    });

    it('d2. a pre-deploy migration that succeeds runs exactly once, in the new image, before any instance switches; the post-deploy command after the last', async () => {
      await suite.scenario('12d2 pre/post-deploy succeed', async () => {
        const e = suite.fleet();
        const runsBefore = (await migrationRuns(e)).length;
        const since = Date.now();
        const result = await suite.deploy({
          image: IMAGE.s2,
          'max-parallel': '3',
          'command-timeout': '90',
          'pre-deploy-command': 'node /app/e2e-migrate.mjs',
          'post-deploy-command': 'node /app/e2e-migrate.mjs post',
        });
        suite.expectSucceeded(result);
        await settled(e);
        const version = result.outputs.version ?? '';
        const runs = (await migrationRuns(e)).slice(runsBefore);
        expect(runs.map((r) => [r.args, r.buildId, r.instanceId])).toEqual([
          ['', 'strategy-2', ids()[0]],
          ['post', 'strategy-2', ids()[0]],
        ]);
        // Before the first deploy command started, after the last one ended.
        const deploys = invocationsSince(e, since).filter((i) =>
          deployComment(version).test(i.comment),
        );
        expect(deploys.map((i) => i.instanceId).sort()).toEqual(ids().sort());
        const firstStart = Math.min(...deploys.map((i) => i.startedAt?.getTime() ?? 0));
        const lastEnd = Math.max(...deploys.map((i) => i.endedAt?.getTime() ?? Infinity));
        expect(runs[0]!.at).toBeLessThan(firstStart);
        expect(runs[1]!.at).toBeGreaterThan(lastEnd);
        expect(versions(await fleetState(e))).toEqual([version, version, version]);
        expectCommandIds(result, since);
        expect(result.summary).toContain('0042_documents_owner applied');
      });
    });

    it('e. a job cancelled mid-rollout (SIGINT to the action, then its post step) leaves the fleet uniform on the previous version', async () => {
      await suite.scenario('12e cancelled job', async () => {
        const e = suite.fleet();
        const before = await uniformFleet();
        const [first, second] = ids() as [string, string];
        const since = Date.now();
        // Cancelled once the first instance runs the new version and the second is being deployed.
        const cancel = waitFor(
          () => {
            const sent = invocationsSince(e, since);
            return (
              sent.some((i) => i.instanceId === first && i.status === 'Success') &&
              sent.some((i) => i.instanceId === second && i.status === 'InProgress')
            );
          },
          120_000,
          'the second instance to be mid-deploy',
        );
        cancel.catch(() => undefined);
        const result = await suite.deploy({ image: IMAGE.s3, 'max-parallel': '1' }, { cancel });
        await cancel;
        expect(result.signals[0]).toBe('SIGINT');
        expect(result.postExitCode).toBe(0);
        await settled(e);
        const after = await fleetState(e);
        expect(versions(after)).toEqual(versions(before));
        for (const state of after)
          expect(state.dotEnv).toContain(`APP_VERSION=${before[0]?.version}\n`);
        // The instances the action had reached are named in the post step's report.
        expect(result.log + result.postLog).toContain(first);
        expect(result.log + result.postLog).toMatch(/rolled back|rolling back/i);
      });
    });
  });
}
