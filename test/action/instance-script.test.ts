import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { deployScriptTemplate } from '../../action/deploy-script.generated.js';
import {
  parseScriptReport,
  renderCheckScript,
  renderHookScript,
  renderInstanceScript,
  renderRestoreScript,
  ScriptExit,
  shellQuote,
  type InstanceScriptValues,
} from '../../action/instance-script.js';

const VALUES: InstanceScriptValues = {
  mode: 'deploy',
  region: 'eu-west-1',
  registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
  image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/challenge-app:v8',
  version: 'v8',
  appDir: '/opt/challenge-app',
  healthUrl: 'http://localhost/health',
  healthTimeoutSeconds: 120,
  rollback: true,
};

const HOSTILE = [
  '$(touch /tmp/pwned)',
  '`touch /tmp/pwned`',
  "it's; rm -rf / #",
  '"double" \\ back\\slash',
  'line one\nline two\r\n$HOME',
  "'",
  '',
];

describe('rendering the instance script', () => {
  it.each(HOSTILE)('shell-quotes %j so that bash reads it back unchanged', (value) => {
    const echoed = execFileSync('bash', ['-c', `printf '%s' ${shellQuote(value)}`]).toString();
    expect(echoed).toBe(value);
  });

  it('renders health-version as VERSION_SOURCE and VERSION_FIELD, json:version by default', () => {
    expect(renderInstanceScript(VALUES)).toContain(
      "readonly VERSION_SOURCE='json'\nreadonly VERSION_FIELD='version'",
    );
    const header = renderInstanceScript({
      ...VALUES,
      healthVersion: { kind: 'header', name: 'X-App-Version' },
    });
    expect(header).toContain(
      "readonly VERSION_SOURCE='header'\nreadonly VERSION_FIELD='X-App-Version'",
    );
    const none = renderInstanceScript({ ...VALUES, healthVersion: { kind: 'none' } });
    expect(none).toContain("readonly VERSION_SOURCE='none'\nreadonly VERSION_FIELD=''");
  });

  it.each(HOSTILE.filter((value) => value !== ''))(
    'refuses %j as a JSON path or a header name',
    (value) => {
      expect(() =>
        renderInstanceScript({ ...VALUES, healthVersion: { kind: 'json', path: value } }),
      ).toThrow(/VERSION_FIELD/);
      expect(() =>
        renderInstanceScript({ ...VALUES, healthVersion: { kind: 'header', name: value } }),
      ).toThrow(/VERSION_FIELD/);
    },
  );

  it('refuses to render a script larger than one SSM command carries', () => {
    const compose = `# ${'x'.repeat(64 * 1024)}\n`;
    expect(() => renderInstanceScript({ ...VALUES, composeContent: compose })).toThrow(
      /more than one SSM command carries \(65536\)/,
    );
  });

  it('sets every value as a quoted readonly variable in place of the placeholder', () => {
    const script = renderInstanceScript(VALUES);
    expect(script).not.toContain('#@VALUES@#');
    expect(script).toContain(
      "readonly IMAGE='123456789012.dkr.ecr.eu-west-1.amazonaws.com/challenge-app:v8'",
    );
    expect(script).toContain("readonly HEALTH_TIMEOUT='120'");
    expect(script).toContain("readonly ROLLBACK='true'");
    expect(script.startsWith('#!/usr/bin/env bash\n')).toBe(true);
  });

  it('keeps a hostile health URL inert: bash -n parses it and it stays one quoted word', () => {
    const healthUrl = 'http://x/$(touch${IFS}/tmp/pwned)`id`;\'"&&reboot';
    const script = renderInstanceScript({ ...VALUES, healthUrl });
    const check = spawnSync('bash', ['-n'], { input: script });
    expect(check.status).toBe(0);
    const line = script.split('\n').find((l) => l.startsWith('readonly HEALTH_URL='));
    const value = execFileSync('bash', ['-c', `${line}; printf '%s' "$HEALTH_URL"`]).toString();
    expect(value).toBe(healthUrl);
  });

  it.each([
    ['image', { image: 'registry/app:v8; touch /tmp/pwned' }],
    ['image', { image: 'registry/app:$(id)' }],
    ['version', { version: 'v8\ntouch /tmp/pwned' }],
    ['appDir', { appDir: '/opt/$(touch /tmp/pwned)' }],
    ['appDir', { appDir: 'relative/dir' }],
    ['appDir', { appDir: '/opt/../etc' }],
    ['region', { region: "eu-west-1' ; id '" }],
    ['registry', { registry: 'host name' }],
    ['healthUrl', { healthUrl: 'http://x/\nid' }],
    ['healthUrl', { healthUrl: 'file:///etc/passwd' }],
    ['healthTimeoutSeconds', { healthTimeoutSeconds: 1.5 }],
  ])('refuses a %s that does not have its shape', (_name, bad) => {
    expect(() => renderInstanceScript({ ...VALUES, ...bad })).toThrow(/instance script/);
  });

  it.each(['my__app', 'my--app', 'team/my__svc'])(
    'accepts an image of the ECR repository %s (ECR allows "__" and runs of "-")',
    (repository) => {
      const image = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/${repository}:v8`;
      expect(renderInstanceScript({ ...VALUES, image })).toContain(`readonly IMAGE='${image}'`);
    },
  );

  it('passes shellcheck', () => {
    const result = spawnSync('shellcheck', ['-s', 'bash', '-'], {
      input: renderInstanceScript(VALUES),
      encoding: 'utf8',
    });
    expect(result.stdout).toBe('');
    expect(result.status).toBe(0);
  });

  it('passes shellcheck with a compose file, env entries and a header health-version', () => {
    const script = renderInstanceScript({
      ...VALUES,
      healthVersion: { kind: 'header', name: 'X-App-Version' },
      composeContent: "services:\n  app:\n    image: ${IMAGE} # it's $(x)\n",
      envEntries: [{ key: 'A', value: '$(touch /tmp/pwned) `x` "y"' }],
    });
    const result = spawnSync('shellcheck', ['-s', 'bash', '-'], {
      input: script,
      encoding: 'utf8',
    });
    expect(result.stdout).toBe('');
    expect(result.status).toBe(0);
    expect(spawnSync('bash', ['-n'], { input: script }).status).toBe(0);
  });

  it('is bundled from action/scripts/deploy.sh (run npm run bundle after editing it)', () => {
    const source = readFileSync(new URL('../../action/scripts/deploy.sh', import.meta.url), 'utf8');
    expect(deployScriptTemplate).toBe(source);
  });
});

describe('rendering the check mode', () => {
  const CHECK = {
    appDir: '/opt/challenge-app',
    healthUrl: 'http://localhost/health',
    version: 'v8',
  };

  it('sets MODE=check, a short health timeout by default, and leaves the deploy values empty', () => {
    const script = renderCheckScript(CHECK);
    for (const line of [
      "readonly MODE='check'",
      "readonly VERSION='v8'",
      "readonly HEALTH_TIMEOUT='10'",
      "readonly IMAGE=''",
      "readonly REGION=''",
      "readonly ENV_FROM_SSM=''",
    ]) {
      expect(script).toContain(line);
    }
    expect(renderCheckScript({ ...CHECK, healthTimeoutSeconds: 30 })).toContain(
      "readonly HEALTH_TIMEOUT='30'",
    );
  });

  it('passes shellcheck', () => {
    const result = spawnSync('shellcheck', ['-s', 'bash', '-'], {
      input: renderCheckScript({ ...CHECK, healthVersion: { kind: 'header', name: 'X-V' } }),
      encoding: 'utf8',
    });
    expect(result.stdout).toBe('');
    expect(result.status).toBe(0);
  });

  it.each([
    ['version', { version: 'v8; touch /tmp/pwned' }],
    ['appDir', { appDir: '/opt/../etc' }],
    ['healthUrl', { healthUrl: 'http://x/\nid' }],
    ['healthTimeoutSeconds', { healthTimeoutSeconds: 0 }],
  ])('refuses a %s that does not have its shape', (_name, bad) => {
    expect(() => renderCheckScript({ ...CHECK, ...bad })).toThrow(/instance script/);
  });
});

describe('rendering the hook and restore modes', () => {
  const HOOK = {
    phase: 'pre-deploy' as const,
    region: 'eu-west-1',
    registry: VALUES.registry,
    image: VALUES.image,
    version: 'v8',
    appDir: '/opt/challenge-app',
    args: ['sh', '-c', 'echo $(id) `id`; it\'s "x"', 'two\nlines'],
  };

  it('renders the argv as one quoted word per argument, and passes shellcheck', () => {
    const script = renderHookScript(HOOK);
    // The rendered values block, evaluated by bash on its own.
    const block = script.slice(
      script.indexOf("readonly MODE='hook'"),
      script.indexOf('\n# ---------------------------------------'),
    );
    const printed = execFileSync('bash', [
      '-c',
      `${block}\nprintf '%s\\0' "\${HOOK_ARGS[@]}"`,
    ]).toString();
    expect(printed.split('\0').slice(0, -1)).toEqual(HOOK.args);
    for (const rendered of [
      script,
      renderRestoreScript({ ...VALUES, deployId: 'run-1', healthTimeoutSeconds: 30 }),
    ]) {
      const result = spawnSync('shellcheck', ['-s', 'bash', '-'], {
        input: rendered,
        encoding: 'utf8',
      });
      expect(result.stdout).toBe('');
      expect(result.status).toBe(0);
    }
  });

  it.each([
    ['service', { service: 'web; id' }],
    ['args', { args: [] }],
    ['image', { image: 'x/$(id)' }],
  ])('refuses a hook %s that does not have its shape', (_name, bad) => {
    expect(() => renderHookScript({ ...HOOK, ...bad })).toThrow(/instance script/);
  });

  it('refuses a deploy id that does not have its shape', () => {
    expect(() =>
      renderRestoreScript({ ...VALUES, deployId: "x' ; id", healthTimeoutSeconds: 30 }),
    ).toThrow(/DEPLOY_ID/);
    expect(() => renderInstanceScript({ ...VALUES, deployId: 'a b' })).toThrow(/DEPLOY_ID/);
  });
});

describe('reading the script result', () => {
  it('takes the last result line', () => {
    const output = [
      'CHALLENGE_DEPLOY_PREVIOUS {"image":"r/app:v6","version":"v6"}',
      'CHALLENGE_DEPLOY_RESULT {"outcome":"rolled-back","version":"v8","previousVersion":"v7","previousImage":"r/app:v7","httpStatus":"503","healthSeconds":120}',
    ].join('\n');
    expect(parseScriptReport(output, 10)).toMatchObject({
      outcome: 'rolled-back',
      previousVersion: 'v7',
      previousImage: 'r/app:v7',
      httpStatus: '503',
      healthSeconds: 120,
      fromResultLine: true,
    });
  });

  it.each([
    [ScriptExit.deployed, 'deployed'],
    [ScriptExit.rolledBack, 'rolled-back'],
    [ScriptExit.rollbackFailed, 'rollback-failed'],
    [ScriptExit.firstDeployFailed, 'first-deploy-failed'],
    [ScriptExit.failedUnchanged, 'failed-unchanged'],
    [ScriptExit.failedLeftInPlace, 'failed'],
    [ScriptExit.unhealthy, 'unhealthy'],
    [1, 'unknown'],
  ])(
    'falls back to exit code %i (%s) when the output was cut before the result line',
    (code, outcome) => {
      const truncated =
        'CHALLENGE_DEPLOY_PREVIOUS {"image":"r/app:v7","version":"v7"}\nlots of log';
      expect(parseScriptReport(truncated, code)).toMatchObject({
        outcome,
        previousImage: 'r/app:v7',
        previousVersion: 'v7',
        fromResultLine: false,
      });
    },
  );

  it('ignores a result line cut in the middle', () => {
    expect(parseScriptReport('CHALLENGE_DEPLOY_RESULT {"outcome":"depl', undefined).outcome).toBe(
      'unknown',
    );
  });
});
