import {
  CancelCommandCommand,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { undoRollout } from '../../action/post.js';
import {
  readJournal,
  rolloutJournal,
  unsettled,
  type JournalContext,
} from '../../action/rollout-journal.js';
import {
  fakeClock,
  fakeFleet,
  healthy,
  ids,
  recordingLogger,
  REGISTRY,
  REPOSITORY_URI,
  scriptValue,
  type Behaviour,
} from './fakes.js';

const ssmMock = mockClient(SSMClient);
const ssm = new SSMClient({ region: 'eu-west-1' });
beforeEach(() => {
  ssmMock.reset();
});

const CONTEXT: JournalContext = {
  version: 'v8',
  deployId: 'run-42-1',
  region: 'eu-west-1',
  registry: REGISTRY,
  appDir: '/opt/challenge-app',
  healthUrl: 'http://localhost/health',
  healthTimeoutSeconds: 120,
  commandTimeoutSeconds: 600,
  rollback: true,
};
const [a, b, c, d] = ids(4) as [string, string, string, string];
const V7 = `${REPOSITORY_URI}:v7`;
const NEVER = new Promise<void>(() => undefined);

/** A journal as the rollout leaves it, and the states it saved (the last one is the job state). */
function journal(context: Partial<JournalContext> = {}) {
  const saved: string[] = [];
  const j = rolloutJournal((state) => saved.push(state), { ...CONTEXT, ...context });
  return { j, saved, last: () => readJournal(saved.at(-1) ?? '') };
}

/** The instance script's restore mode: files put back, previous healthy. */
const restores: Behaviour = (run) =>
  run.mode === 'restore'
    ? {
        exitCode: 0,
        result: { outcome: 'restored', restored: 'true', previousVersion: 'v7', httpStatus: '200' },
        runs: { image: V7, version: 'v7' },
      }
    : healthy(run);
/** Restore mode where the deploy never got as far as its backup. */
const untouched: Behaviour = () => ({ exitCode: 17, result: { outcome: 'untouched' } });

describe('the rollout journal', () => {
  it('saves at once before instances may switch, and once per turn for their reports', async () => {
    const { j, saved, last } = journal();
    j.deploying([a, b]);
    expect(saved).toHaveLength(1);
    expect(last()?.instances).toEqual({ [a]: {}, [b]: {} });
    j.updated(a, V7, 'v7');
    j.updated(b, V7, 'v7');
    j.settled(b);
    expect(saved).toHaveLength(1);
    await Promise.resolve();
    expect(saved).toHaveLength(2);
    expect(last()?.instances).toEqual({
      [a]: { previousImage: V7, previousVersion: 'v7' },
      [b]: { previousImage: V7, previousVersion: 'v7', settled: true },
    });
    expect(unsettled(last()!).map((e) => e.instanceId)).toEqual([a]);
    j.finished();
    expect(last()?.finished).toBe(true);
    expect(unsettled(last()!)).toEqual([]);
  });

  it('reads no journal from an empty or foreign state', () => {
    expect(readJournal('')).toBeUndefined();
    expect(readJournal('{"version":')).toBeUndefined();
    expect(readJournal('["a"]')).toBeUndefined();
    expect(readJournal('{"instances":{}}')).toBeUndefined();
  });
});

describe('the post step undoing a cancelled rollout', () => {
  function deps() {
    return { ssm, clock: fakeClock(), log: recordingLogger() };
  }

  it('cancelled mid-batch: rolls back the updated instances by image and restores the one mid-command', async () => {
    const fleet = fakeFleet(ssmMock, [a, b, c], { [c]: restores }, { startVersion: 8 });
    const { j, last } = journal();
    j.deploying([a, b]);
    j.updated(a, V7, 'v7');
    j.updated(b, V7, 'v7');
    j.deploying([c]); // batch 2: cancelled while its command ran
    const log = recordingLogger();
    const report = await undoRollout({ ...deps(), log }, last()!, NEVER);
    expect(report.timedOut).toBe(false);
    expect(report.results).toEqual([
      expect.objectContaining({ instanceId: a, outcome: 'rolled-back' }),
      expect.objectContaining({ instanceId: b, outcome: 'rolled-back' }),
      expect.objectContaining({ instanceId: c, outcome: 'rolled-back' }),
    ]);
    expect(fleet.runs.map((run) => [run.instanceId, run.mode, run.version])).toEqual([
      [a, 'rollback', 'v7'],
      [b, 'rollback', 'v7'],
      [c, 'restore', 'v8'],
    ]);
    const scripts = ssmMock
      .commandCalls(SendCommandCommand)
      .map((call) => call.args[0].input.Parameters?.commands?.[0] ?? '');
    expect(scriptValue(scripts[1] ?? '', 'DEPLOY_ID')).toBe('run-42-1');
    expect([...fleet.running.values()].map((r) => r.version)).toEqual(['v7', 'v7', 'v7']);
    expect(report.summary).toContain('### ⏹️ Cancelled rollout of v8');
    expect(report.summary).toContain(`| \`${a}\` | rolled-back | \`cmd-1\` |`);
    expect(log.annotations[0]).toMatchObject({ level: 'warning' });
  });

  it('reports an instance the deploy never changed as unchanged', async () => {
    fakeFleet(ssmMock, [a], { [a]: untouched });
    const { j, last } = journal();
    j.deploying([a]);
    const report = await undoRollout(deps(), last()!, NEVER);
    expect(report.results).toEqual([
      expect.objectContaining({
        outcome: 'unchanged',
        message: `${a}: v8 never got as far as changing it; nothing to undo.`,
      }),
    ]);
  });

  it('cancelled during the rollback: returns only the instances not yet back', async () => {
    const fleet = fakeFleet(ssmMock, [a, b, c], {}, { startVersion: 8 });
    const { j, last } = journal();
    j.deploying([a, b, c]);
    j.updated(a, V7, 'v7');
    j.updated(b, V7, 'v7');
    j.updated(c, V7, 'v7');
    j.settled(c); // the rollout's own rollback finished c, then the job was cancelled
    await Promise.resolve();
    const report = await undoRollout(deps(), last()!, NEVER);
    expect(report.results.map((r) => r.instanceId)).toEqual([a, b]);
    expect(fleet.runs.map((run) => run.instanceId)).toEqual([a, b]);
  });

  it('rollback: false leaves the instances as they are, and says so', async () => {
    const { j, last } = journal({ rollback: false });
    j.deploying([a, b]);
    const log = recordingLogger();
    const report = await undoRollout({ ...deps(), log }, last()!, NEVER);
    expect(ssmMock.calls()).toHaveLength(0);
    expect(report.results).toEqual([]);
    expect(report.summary).toContain(`rollback is false: ${a}, ${b} may run v8`);
    expect(log.annotations).toEqual([expect.objectContaining({ level: 'warning' })]);
  });

  it('has nothing to undo after a finished rollout, or before any instance was sent the deploy', async () => {
    const finished = journal();
    finished.j.deploying([a]);
    finished.j.finished();
    const before = journal();
    before.j.deploying([]);
    for (const state of [finished.last()!, before.last()!]) {
      const report = await undoRollout(deps(), state, NEVER);
      expect(report).toEqual({ results: [], summary: '', timedOut: false });
    }
    expect(ssmMock.calls()).toHaveLength(0);
  });

  it('reports SSM errors in the post step per instance and still undoes the rest', async () => {
    const fleet = fakeFleet(ssmMock, [a, b], {}, { startVersion: 8 });
    ssmMock.on(ListCommandsCommand).resolves({ Commands: [] });
    // SendCommand goes through ssmSend: refused for b's group only.
    const ssmSend = {
      send: (command: SendCommandCommand) =>
        command.input.InstanceIds?.includes(b)
          ? Promise.reject(
              Object.assign(new Error('User is not authorized to perform ssm:SendCommand'), {
                name: 'AccessDeniedException',
                $metadata: { httpStatusCode: 400 },
              }),
            )
          : ssm.send(command),
    } as unknown as SSMClient;
    const { j, last } = journal();
    j.deploying([a, b]);
    j.updated(a, V7, 'v7');
    j.updated(b, `${REPOSITORY_URI}:v6`, 'v6');
    await Promise.resolve();
    const log = recordingLogger();
    const report = await undoRollout({ ...deps(), ssmSend, log }, last()!, NEVER);
    expect(report.results[0]).toMatchObject({
      instanceId: a,
      outcome: 'rolled-back',
      message: `${a}: rolled back to v7 (healthy).`,
    });
    expect(report.results[1]).toMatchObject({ instanceId: b, outcome: 'rollback-failed' });
    expect(report.results[1]?.message).toMatch(/could not be run through SSM: .*not authorized/);
    expect(fleet.running.get(a)?.version).toBe('v7');
    expect(log.annotations).toContainEqual(
      expect.objectContaining({ level: 'error', title: `${b}: rollback-failed` }),
    );
  });

  it('reports a rollback whose status polls keep failing as failed, naming the error', async () => {
    fakeFleet(ssmMock, [a], {}, { startVersion: 8 });
    ssmMock.on(ListCommandInvocationsCommand).rejects(
      Object.assign(new Error('internal error'), {
        name: 'InternalServerError',
        $metadata: { httpStatusCode: 500 },
      }),
    );
    ssmMock.on(CancelCommandCommand).resolves({});
    const { j, last } = journal();
    j.deploying([a]);
    j.updated(a, V7, 'v7');
    await Promise.resolve();
    const report = await undoRollout(deps(), last()!, NEVER);
    expect(report.results[0]).toMatchObject({ outcome: 'rollback-failed' });
    expect(report.results[0]?.message).toContain('could not be run through SSM: internal error');
  });

  it('stops waiting when the runner’s time is up, reporting what was sent and not cancelling it', async () => {
    fakeFleet(ssmMock, [a, d], {}, { startVersion: 8 });
    const { j, last } = journal();
    j.deploying([a, d]);
    const report = await undoRollout(deps(), last()!, Promise.resolve());
    expect(report.timedOut).toBe(true);
    expect(report.results.map((r) => r.outcome)).toEqual(['not-confirmed', 'not-confirmed']);
    expect(ssmMock).not.toHaveReceivedCommand(CancelCommandCommand);
  });
});
