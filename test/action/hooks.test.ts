import { ListCommandsCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { commandWords, hookOutputTail, hookRunner, type HookContext } from '../../action/hooks.js';
import { InputError } from '../../action/inputs.js';
import {
  fakeClock,
  fakeFleet,
  ids,
  recordingLogger,
  REGISTRY,
  REPOSITORY_URI,
  type Behaviour,
} from './fakes.js';

const ssmMock = mockClient(SSMClient);
const ssm = new SSMClient({ region: 'eu-west-1' });
beforeEach(() => {
  ssmMock.reset();
});

const CONTEXT: HookContext = {
  region: 'eu-west-1',
  registry: REGISTRY,
  image: `${REPOSITORY_URI}:v8`,
  version: 'v8',
  appDir: '/opt/challenge-app',
  commandTimeoutSeconds: 900,
};

describe('splitting a hook command into argv', () => {
  it.each([
    ['npm run migrate', ['npm', 'run', 'migrate']],
    ['  rake   db:migrate\n', ['rake', 'db:migrate']],
    [`sh -c 'npm run migrate && echo "done"'`, ['sh', '-c', 'npm run migrate && echo "done"']],
    [`echo "a \\"b\\" \\\\ $HOME"`, ['echo', 'a "b" \\ $HOME']],
    ['echo $(touch PWNED) `id`;reboot', ['echo', '$(touch', 'PWNED)', '`id`;reboot']],
    ["echo it\\'s ''", ['echo', "it's", '']],
    ['one\ntwo', ['one', 'two']],
  ])('splits %j without expanding anything', (raw, words) => {
    expect(commandWords('pre-deploy-command', raw)).toEqual(words);
  });

  it('refuses an unclosed quote, naming the input', () => {
    expect(() => commandWords('post-deploy-command', `sh -c 'echo`)).toThrow(InputError);
    expect(() => commandWords('post-deploy-command', `sh -c 'echo`)).toThrow(
      /Input post-deploy-command: a ' quote is not closed/,
    );
  });
});

describe('the output tail of a hook', () => {
  it('is what the script printed between its markers', () => {
    const output = [
      '[12:00:00] pull: ok (3 s)',
      '----- pre-deploy output (last 40 lines) -----',
      'migrated 3 tables',
      'done',
      '----- end -----',
      'CHALLENGE_DEPLOY_RESULT {"outcome":"hook-succeeded"}',
    ].join('\n');
    expect(hookOutputTail(output)).toBe('migrated 3 tables\ndone');
  });
});

/** An instance's hook: exits with `code`; the output carries the script's markers. */
function hookBehaviour(code: number, outcome = code === 0 ? 'hook-succeeded' : 'hook-failed') {
  const behaviour: Behaviour = () => ({
    exitCode: code === 0 ? 0 : 16,
    result: { outcome, hookExitCode: String(code), failedStep: code === 0 ? '' : 'pre-deploy' },
  });
  return behaviour;
}

describe('running a hook on an instance', () => {
  const [first] = ids(1) as [string];

  it('sends the hook mode with the argv and reports success with its command id and timing', async () => {
    fakeFleet(ssmMock, [first], { [first]: hookBehaviour(0) });
    const clock = fakeClock();
    const log = recordingLogger();
    const run = await hookRunner({ ssm, clock, log }, 'pre-deploy', ['npm', 'run', "it's $(x)"], {
      ...CONTEXT,
      service: 'web',
    })(first);
    expect(run).toMatchObject({
      phase: 'pre-deploy',
      instanceId: first,
      ok: true,
      exitCode: 0,
      commandId: 'cmd-1',
      startedAt: Date.UTC(2026, 10, 29, 12),
      message: `pre-deploy-command succeeded on ${first}.`,
    });
    expect(run.durationMs).toBeGreaterThan(0);
    const input = ssmMock.commandCalls(SendCommandCommand)[0]?.args[0].input;
    const script = input?.Parameters?.commands?.[0] ?? '';
    expect(script).toContain("readonly MODE='hook'");
    expect(script).toContain("readonly HOOK_SERVICE='web'");
    expect(script).toContain(`readonly -a HOOK_ARGS=('npm' 'run' 'it'\\''s $(x)')`);
    expect(input?.Parameters?.executionTimeout).toEqual(['900']);
    expect(input?.InstanceIds).toEqual([first]);
  });

  it('reports the exit code of a failing command', async () => {
    fakeFleet(ssmMock, [first], { [first]: hookBehaviour(3) });
    const run = await hookRunner(
      { ssm, clock: fakeClock(), log: recordingLogger() },
      'post-deploy',
      ['validate'],
      CONTEXT,
    )(first);
    expect(run).toMatchObject({ ok: false, exitCode: 3, commandId: 'cmd-1' });
    expect(run.message).toBe(`post-deploy-command failed on ${first} with exit code 3.`);
  });

  it('names the step when the command never ran (the image could not be pulled)', async () => {
    fakeFleet(ssmMock, [first], {
      [first]: () => ({
        exitCode: 13,
        result: { outcome: 'failed-unchanged', failedStep: 'pull' },
      }),
    });
    const run = await hookRunner(
      { ssm, clock: fakeClock(), log: recordingLogger() },
      'pre-deploy',
      ['migrate'],
      CONTEXT,
    )(first);
    expect(run.ok).toBe(false);
    expect(run.exitCode).toBeUndefined();
    expect(run.message).toContain('step pull failed before the command ran');
  });

  it('reports an SSM error as a failed hook, naming it', async () => {
    ssmMock.on(ListCommandsCommand).resolves({ Commands: [] });
    ssmMock.on(SendCommandCommand).rejects(
      Object.assign(new Error('User is not authorized to perform ssm:SendCommand'), {
        name: 'AccessDeniedException',
        $metadata: {},
      }),
    );
    const run = await hookRunner(
      { ssm, clock: fakeClock(), log: recordingLogger() },
      'pre-deploy',
      ['migrate'],
      CONTEXT,
    )(first);
    expect(run.ok).toBe(false);
    expect(run.commandId).toBeUndefined();
    expect(run.message).toMatch(/could not be run .* through SSM: .*AccessDenied/);
  });
});
