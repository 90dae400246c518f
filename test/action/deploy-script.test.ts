// Runs the rendered instance script with bash in a sandbox whose PATH holds stand-ins for
// docker, docker-compose, aws, curl and sleep (see instance-sandbox.ts).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  parseScriptReport,
  renderCheckScript,
  renderHookScript,
  renderInstanceScript,
  renderRestoreScript,
  type HookScriptValues,
  RESULT_PREFIX,
  ScriptExit,
  type InstanceScriptValues,
} from '../../action/instance-script.js';
import { createSandbox, type AppShape, type Health, type Sandbox } from './instance-sandbox.js';

interface Scenario {
  env?: string;
  health: Health;
  composeV2?: boolean;
  appShape?: AppShape;
  ssmParametersJson?: string;
  values?: Partial<InstanceScriptValues>;
  /** How SSM's agent starts it: `sh <file>` on instances whose sh is dash. */
  shell?: string;
}

const OLD_ENV =
  'DATABASE_URL=postgres://app:s3cret@db:5432/app\nIMAGE=10.231.0.1:5000/challenge-app:v7\nAPP_VERSION=v7\nAPI_TOKEN=token-a,token-b\n';

const BASE: InstanceScriptValues = {
  mode: 'deploy',
  region: 'eu-west-1',
  registry: '10.231.0.1:5000',
  image: '10.231.0.1:5000/challenge-app:v8',
  version: 'v8',
  appDir: '/opt/challenge-app',
  healthUrl: 'http://localhost/health',
  healthTimeoutSeconds: 6,
  healthIntervalSeconds: 2,
  rollback: true,
};

const sandboxes: Sandbox[] = [];
afterEach(() => {
  for (const sandbox of sandboxes.splice(0)) sandbox.remove();
});

function runScenario(scenario: Scenario) {
  const sandbox = createSandbox(scenario);
  sandboxes.push(sandbox);
  const values = { ...BASE, appDir: sandbox.appDir, ...scenario.values };
  const run = sandbox.run(renderInstanceScript(values), scenario.shell);
  return {
    root: sandbox.root,
    exitCode: run.exitCode,
    output: run.stdout + run.stderr,
    lastLine: run.stdout.trimEnd().split('\n').at(-1) ?? '',
    report: parseScriptReport(run.stdout, run.exitCode ?? undefined),
    calls: sandbox.calls(),
    env: sandbox.env(),
    running: sandbox.running(),
    loginPassword: sandbox.loginPassword(),
    lastUrl: sandbox.lastUrl(),
  };
}

describe('the instance script', () => {
  it('deploys a healthy new version and keeps the secrets in .env', () => {
    const run = runScenario({ env: OLD_ENV, health: 'healthy' });
    expect(run.exitCode).toBe(ScriptExit.deployed);
    expect(run.lastLine.startsWith(`${RESULT_PREFIX} {`)).toBe(true);
    expect(run.report).toMatchObject({
      outcome: 'deployed',
      version: 'v8',
      image: '10.231.0.1:5000/challenge-app:v8',
      previousVersion: 'v7',
      previousImage: '10.231.0.1:5000/challenge-app:v7',
      httpStatus: '200',
      fromResultLine: true,
    });
    expect(run.env).toBe(
      'DATABASE_URL=postgres://app:s3cret@db:5432/app\nAPI_TOKEN=token-a,token-b\nIMAGE=10.231.0.1:5000/challenge-app:v8\nAPP_VERSION=v8\n',
    );
    expect(run.calls).toEqual(
      expect.arrayContaining([
        'aws ecr get-login-password --region eu-west-1',
        'docker login --username AWS --password-stdin 10.231.0.1:5000',
        'docker compose pull',
        'docker compose up -d',
      ]),
    );
    expect(run.loginPassword.trim()).toBe('ecr-password');
    expect(run.running).toBe('v8');
    expect(run.output).not.toContain('ecr-password');
  });

  it('rolls an unhealthy new version back to the previous one and restores .env exactly', () => {
    const run = runScenario({ env: OLD_ENV, health: 'new-unhealthy' });
    expect(run.exitCode).toBe(ScriptExit.rolledBack);
    expect(run.report).toMatchObject({
      outcome: 'rolled-back',
      failedStep: 'health',
      httpStatus: '503',
      previousVersion: 'v7',
      rollbackHttpStatus: '200',
    });
    expect(run.report.healthSeconds).toBeGreaterThanOrEqual(0);
    expect(run.env).toBe(OLD_ENV);
    expect(run.running).toBe('v7');
    expect(run.calls.filter((call) => call === 'docker compose up -d')).toHaveLength(2);
  });

  it('does not call an old container that still answers /health with its own version healthy', () => {
    const run = runScenario({ env: OLD_ENV, health: 'old-version-answers' });
    expect(run.exitCode).toBe(ScriptExit.rolledBack);
    expect(run.report).toMatchObject({
      outcome: 'rolled-back',
      httpStatus: '200',
      reportedVersion: 'v7',
    });
    // It gave the new version the whole health timeout (6 s at 2 s intervals: 4 polls) first.
    expect(run.calls.filter((call) => call.startsWith('curl')).length).toBeGreaterThanOrEqual(4);
  });

  it('reports a failed first deploy, with nothing to roll back to, by its own exit code', () => {
    const run = runScenario({ env: 'DATABASE_URL=postgres://db/app\n', health: 'down' });
    expect(run.exitCode).toBe(ScriptExit.firstDeployFailed);
    expect(run.report).toMatchObject({ outcome: 'first-deploy-failed', httpStatus: '000' });
    expect(run.report.previousImage).toBeUndefined();
    expect(run.env).toContain('DATABASE_URL=postgres://db/app\n');
  });

  it('creates .env on a first deploy onto an empty app directory', () => {
    const run = runScenario({ health: 'healthy' });
    expect(run.exitCode).toBe(ScriptExit.deployed);
    expect(run.env).toBe('IMAGE=10.231.0.1:5000/challenge-app:v8\nAPP_VERSION=v8\n');
  });

  it('uses docker-compose (v1) when docker compose (v2) is missing', () => {
    const run = runScenario({ env: OLD_ENV, health: 'healthy', composeV2: false });
    expect(run.exitCode).toBe(ScriptExit.deployed);
    expect(run.calls).toEqual(
      expect.arrayContaining(['docker-compose pull', 'docker-compose up -d']),
    );
    expect(run.calls).not.toContain('docker compose up -d');
    expect(run.output).toContain('"compose":"v1"');
  });

  it('reports a rollback that fails its health check too', () => {
    const run = runScenario({ env: OLD_ENV, health: 'down' });
    expect(run.exitCode).toBe(ScriptExit.rollbackFailed);
    expect(run.report).toMatchObject({ outcome: 'rollback-failed', rollbackHttpStatus: '000' });
    expect(run.env).toBe(OLD_ENV);
  });

  it('leaves the new version in place when rollback is false', () => {
    const run = runScenario({ env: OLD_ENV, health: 'down', values: { rollback: false } });
    expect(run.exitCode).toBe(ScriptExit.failedLeftInPlace);
    expect(run.env).toContain('APP_VERSION=v8');
  });

  it('changes nothing when the app directory does not exist', () => {
    const run = runScenario({
      env: OLD_ENV,
      health: 'healthy',
      values: { appDir: '/nonexistent/challenge-app' },
    });
    expect(run.exitCode).toBe(ScriptExit.failedUnchanged);
    expect(run.report).toMatchObject({ outcome: 'failed-unchanged', failedStep: 'app-dir' });
  });

  it('keeps its output short: the result line and the previous line survive SSM truncation', () => {
    const run = runScenario({ env: OLD_ENV, health: 'old-version-answers' });
    expect(run.output.length).toBeLessThan(4000);
    const head = run.output.slice(0, run.output.indexOf(RESULT_PREFIX));
    expect(parseScriptReport(head, ScriptExit.rolledBack)).toMatchObject({
      outcome: 'rolled-back',
      previousVersion: 'v7',
      previousImage: '10.231.0.1:5000/challenge-app:v7',
      fromResultLine: false,
    });
  });

  it('waits for another deploy on the same instance to finish (flock on the app dir)', () => {
    const sandbox = createSandbox({ env: OLD_ENV, health: 'healthy' });
    sandboxes.push(sandbox);
    const holder = spawn('flock', [sandbox.appDir, '-c', 'sleep 1.5'], { stdio: 'ignore' });
    spawnSync('sleep', ['0.2']);
    const started = Date.now();
    const run = sandbox.run(renderInstanceScript({ ...BASE, appDir: sandbox.appDir }));
    holder.kill();
    expect(run.exitCode).toBe(ScriptExit.deployed);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it('runs itself with bash when started by sh (dash)', () => {
    const run = runScenario({ env: OLD_ENV, health: 'healthy', shell: '/bin/sh' });
    expect(run.exitCode).toBe(ScriptExit.deployed);
    expect(run.report.outcome).toBe('deployed');
  });

  it('keeps hostile values inert: they reach curl literally and run nothing', () => {
    const hostile = `http://localhost/health?a=$(touch${'${IFS}'}PWNED)&b=\`touch${'${IFS}'}PWNED2\`;touch${'${IFS}'}PWNED3'"`;
    const run = runScenario({ env: OLD_ENV, health: 'healthy', values: { healthUrl: hostile } });
    expect(run.exitCode).toBe(ScriptExit.deployed);
    expect(run.lastUrl).toBe(hostile);
    for (const name of ['PWNED', 'PWNED2', 'PWNED3']) {
      expect(existsSync(join(run.root, name))).toBe(false);
    }
  });
});

describe('the instance script recognising the version the way health-version says', () => {
  it('reads a dot path into the JSON body and ignores a "version" elsewhere', () => {
    const run = runScenario({
      env: OLD_ENV,
      health: 'healthy',
      appShape: 'nested',
      values: { healthVersion: { kind: 'json', path: 'app.builds.0.version' } },
    });
    expect(run.exitCode).toBe(ScriptExit.deployed);
    expect(run.report).toMatchObject({ outcome: 'deployed', reportedVersion: 'v8' });
  });

  it('passes neither version under json:version when the body reports it elsewhere', () => {
    const run = runScenario({ env: OLD_ENV, health: 'healthy', appShape: 'nested' });
    expect(run.exitCode).toBe(ScriptExit.rollbackFailed);
    expect(run.report).toMatchObject({ httpStatus: '200', reportedVersion: 'not-this' });
    expect(run.env).toBe(OLD_ENV);
  });

  it('reads the version from a response header, whatever the case of its name', () => {
    const run = runScenario({
      env: OLD_ENV,
      health: 'healthy',
      appShape: 'header',
      values: { healthVersion: { kind: 'header', name: 'X-App-Version' } },
    });
    expect(run.exitCode).toBe(ScriptExit.deployed);
    expect(run.report).toMatchObject({ outcome: 'deployed', reportedVersion: 'v8' });
  });

  it('rolls back when the header still names the old version, and checks the old one by header', () => {
    const run = runScenario({
      env: OLD_ENV,
      health: 'old-version-answers',
      appShape: 'header',
      values: { healthVersion: { kind: 'header', name: 'x-app-version' } },
    });
    expect(run.exitCode).toBe(ScriptExit.rolledBack);
    expect(run.report).toMatchObject({
      outcome: 'rolled-back',
      reportedVersion: 'v7',
      rollbackHttpStatus: '200',
    });
  });

  it('passes an app that reports no version with health-version none on HTTP 200 alone', () => {
    const none = runScenario({
      env: OLD_ENV,
      health: 'healthy',
      appShape: 'plain',
      values: { healthVersion: { kind: 'none' } },
    });
    expect(none.exitCode).toBe(ScriptExit.deployed);
    expect(none.report).toMatchObject({ outcome: 'deployed', httpStatus: '200' });
    expect(none.report.reportedVersion).toBeUndefined();
    // The same app under the default json:version never passes.
    const json = runScenario({ env: OLD_ENV, health: 'healthy', appShape: 'plain' });
    expect(json.exitCode).toBe(ScriptExit.rollbackFailed);
  });

  it('still gates on the HTTP status with health-version none, and rolls back on it', () => {
    const run = runScenario({
      env: OLD_ENV,
      health: 'new-unhealthy',
      appShape: 'plain',
      values: { healthVersion: { kind: 'none' } },
    });
    expect(run.exitCode).toBe(ScriptExit.rolledBack);
    expect(run.report).toMatchObject({ httpStatus: '503', rollbackHttpStatus: '200' });
    expect(run.env).toBe(OLD_ENV);
  });

  it('rolls back by the same rule in rollback mode (the action returning an updated instance)', () => {
    const run = runScenario({
      env: OLD_ENV.replace(/v7/g, 'v8'),
      health: 'healthy',
      appShape: 'header',
      values: {
        mode: 'rollback',
        image: '10.231.0.1:5000/challenge-app:v7',
        version: 'v7',
        healthVersion: { kind: 'header', name: 'X-App-Version' },
      },
    });
    expect(run.exitCode).toBe(ScriptExit.deployed);
    expect(run.report).toMatchObject({ outcome: 'deployed', reportedVersion: 'v7' });
    expect(run.running).toBe('v7');
  });
});

describe('the instance script delivering compose-file and env', () => {
  const COMPOSE_V8 =
    "services:\n  app:\n    image: ${IMAGE}\n    environment:\n      GREETING: 'it''s $(touch PWNED) `touch PWNED2`'\n";
  const ENTRIES = [
    { key: 'GREETING', value: 'hello $(touch PWNED3) `touch PWNED4` "quoted" \\ back' },
    { key: 'API_TOKEN', value: 'token-c' },
  ];

  it('writes the compose file and merges the entries into .env, keeping every other line', () => {
    const run = runScenario({
      env: OLD_ENV,
      health: 'healthy',
      values: { composeContent: COMPOSE_V8, envEntries: ENTRIES },
    });
    expect(run.exitCode).toBe(ScriptExit.deployed);
    expect(readFileSync(join(run.root, 'app', 'docker-compose.yml'), 'utf8')).toBe(COMPOSE_V8);
    expect(run.env).toBe(
      "DATABASE_URL=postgres://app:s3cret@db:5432/app\nGREETING='hello $(touch PWNED3) `touch PWNED4` \"quoted\" \\ back'\nAPI_TOKEN='token-c'\nIMAGE=10.231.0.1:5000/challenge-app:v8\nAPP_VERSION=v8\n",
    );
    for (const name of ['PWNED', 'PWNED2', 'PWNED3', 'PWNED4']) {
      expect(existsSync(join(run.root, name))).toBe(false);
      expect(existsSync(join(run.root, 'app', name))).toBe(false);
    }
    // The values are in .env only, not in the output that SSM keeps and the action logs.
    expect(run.output).not.toContain('token-c');
    expect(run.output).not.toContain('hello');
  });

  it('restores the previous compose file and .env exactly when the new version fails', () => {
    const run = runScenario({
      env: OLD_ENV,
      health: 'new-unhealthy',
      values: { composeContent: COMPOSE_V8, envEntries: ENTRIES },
    });
    expect(run.exitCode).toBe(ScriptExit.rolledBack);
    expect(readFileSync(join(run.root, 'app', 'docker-compose.yml'), 'utf8')).toBe(
      'services: {}\n',
    );
    expect(run.env).toBe(OLD_ENV);
  });

  it('changes nothing when it cannot keep the backup (a file where its directory goes)', () => {
    const sandbox = createSandbox({ env: OLD_ENV, health: 'healthy' });
    sandboxes.push(sandbox);
    writeFileSync(join(sandbox.appDir, '.challenge-deploy'), 'not a directory');
    const run = sandbox.run(
      renderInstanceScript({ ...BASE, appDir: sandbox.appDir, composeContent: COMPOSE_V8 }),
    );
    expect(run.exitCode).toBe(ScriptExit.failedUnchanged);
    expect(parseScriptReport(run.stdout, run.exitCode ?? undefined).failedStep).toBe('backup');
    expect(sandbox.env()).toBe(OLD_ENV);
    expect(readFileSync(join(sandbox.appDir, 'docker-compose.yml'), 'utf8')).toBe('services: {}\n');
  });

  it('leaves the compose file alone when compose-file is not set', () => {
    const run = runScenario({ env: OLD_ENV, health: 'healthy' });
    expect(run.exitCode).toBe(ScriptExit.deployed);
    expect(readFileSync(join(run.root, 'app', 'docker-compose.yml'), 'utf8')).toBe(
      'services: {}\n',
    );
  });

  it("returns an updated instance to exactly what the deploy replaced (the action's rollback)", () => {
    const sandbox = createSandbox({ env: OLD_ENV, health: 'healthy' });
    sandboxes.push(sandbox);
    const base = { ...BASE, appDir: sandbox.appDir };
    const deployed = sandbox.run(
      renderInstanceScript({ ...base, composeContent: COMPOSE_V8, envEntries: ENTRIES }),
    );
    expect(deployed.exitCode).toBe(ScriptExit.deployed);
    expect(sandbox.env()).toContain("API_TOKEN='token-c'");
    const rolledBack = sandbox.run(
      renderInstanceScript({
        ...base,
        mode: 'rollback',
        image: '10.231.0.1:5000/challenge-app:v7',
        version: 'v7',
      }),
    );
    expect(rolledBack.exitCode).toBe(ScriptExit.deployed);
    expect(sandbox.env()).toBe(OLD_ENV);
    expect(readFileSync(join(sandbox.appDir, 'docker-compose.yml'), 'utf8')).toBe('services: {}\n');
    expect(sandbox.running()).toBe('v7');
  });

  it('rewrites only IMAGE and APP_VERSION on a rollback without a matching backup', () => {
    const sandbox = createSandbox({ env: OLD_ENV.replace(/v7/g, 'v8'), health: 'healthy' });
    sandboxes.push(sandbox);
    writeFileSync(join(sandbox.appDir, 'docker-compose.yml'), COMPOSE_V8);
    const run = sandbox.run(
      renderInstanceScript({
        ...BASE,
        appDir: sandbox.appDir,
        mode: 'rollback',
        image: '10.231.0.1:5000/challenge-app:v7',
        version: 'v7',
      }),
    );
    expect(run.exitCode).toBe(ScriptExit.deployed);
    expect(sandbox.env()).toBe(
      'DATABASE_URL=postgres://app:s3cret@db:5432/app\nAPI_TOKEN=token-a,token-b\nIMAGE=10.231.0.1:5000/challenge-app:v7\nAPP_VERSION=v7\n',
    );
    expect(readFileSync(join(sandbox.appDir, 'docker-compose.yml'), 'utf8')).toBe(COMPOSE_V8);
  });
});

describe('the instance script reading env-from-ssm', () => {
  const parameter = (name: string, value: string, type = 'SecureString') => ({
    Name: name,
    Type: type,
    Value: value,
    Version: 3,
    LastModifiedDate: '2026-11-30T12:00:00.000000+00:00',
    ARN: `arn:aws:ssm:eu-west-1:123456789012:parameter${name}`,
    DataType: 'text',
  });
  // As the AWS CLI prints it (--output json: indented, one parameter after another).
  const PARAMETERS = JSON.stringify(
    {
      Parameters: [
        parameter('/my-app/production/API_TOKEN', 's3cret-from-ssm $(touch PWNED) "x" \\ y'),
        parameter('/my-app/production/db/DATABASE_URL', 'postgres://u:p@db/app'),
        parameter('/my-app/production/LOG_LEVEL', 'info', 'String'),
      ],
    },
    null,
    4,
  );
  const FROM_SSM = { envFromSsm: '/my-app/production/' };

  it('writes every parameter under the path into .env, the env input winning, and prints no value', () => {
    const run = runScenario({
      env: OLD_ENV,
      health: 'healthy',
      ssmParametersJson: PARAMETERS,
      values: { ...FROM_SSM, envEntries: [{ key: 'LOG_LEVEL', value: 'debug' }] },
    });
    expect(run.exitCode).toBe(ScriptExit.deployed);
    expect(run.calls).toContain(
      'aws ssm get-parameters-by-path --region eu-west-1 --path /my-app/production/ --recursive --with-decryption --output json',
    );
    expect(run.env).toBe(
      [
        `API_TOKEN='s3cret-from-ssm $(touch PWNED) "x" \\ y'`,
        "DATABASE_URL='postgres://u:p@db/app'",
        "LOG_LEVEL='debug'",
        'IMAGE=10.231.0.1:5000/challenge-app:v8',
        'APP_VERSION=v8',
        '',
      ].join('\n'),
    );
    expect(existsSync(join(run.root, 'PWNED'))).toBe(false);
    expect(existsSync(join(run.root, 'app', 'PWNED'))).toBe(false);
    expect(run.output).not.toContain('s3cret-from-ssm');
    expect(run.output).not.toContain('postgres://u:p@db/app');
  });

  it('changes nothing when the instance may not read the parameters', () => {
    const run = runScenario({ env: OLD_ENV, health: 'healthy', values: FROM_SSM });
    expect(run.exitCode).toBe(ScriptExit.failedUnchanged);
    expect(run.report).toMatchObject({ outcome: 'failed-unchanged', failedStep: 'env-from-ssm' });
    expect(run.output).toContain('AccessDeniedException');
    expect(run.env).toBe(OLD_ENV);
    expect(run.calls).not.toContain('docker compose pull');
  });

  it('refuses a parameter whose value .env cannot carry, naming the parameter and not the value', () => {
    const run = runScenario({
      env: OLD_ENV,
      health: 'healthy',
      ssmParametersJson: JSON.stringify({
        Parameters: [parameter('/my-app/production/TOKEN', "it's-s3cret")],
      }),
      values: FROM_SSM,
    });
    expect(run.exitCode).toBe(ScriptExit.failedUnchanged);
    expect(run.output).toContain('/my-app/production/TOKEN: the value holds a single quote');
    expect(run.output).not.toContain('s3cret');
    expect(run.env).toBe(OLD_ENV);
  });

  it('does not read Parameter Store when env-from-ssm is not set', () => {
    const run = runScenario({ env: OLD_ENV, health: 'healthy' });
    expect(run.exitCode).toBe(ScriptExit.deployed);
    expect(run.calls.some((call) => call.startsWith('aws ssm'))).toBe(false);
  });
});

describe('the instance script in check mode (the bake re-check)', () => {
  const V8_ENV = OLD_ENV.replace(/v7/g, 'v8');

  function runCheck(
    env: string,
    health: Health,
    values: Partial<Parameters<typeof renderCheckScript>[0]> = {},
    appShape?: AppShape,
  ) {
    const sandbox = createSandbox({ env, health, appShape });
    sandboxes.push(sandbox);
    const run = sandbox.run(
      renderCheckScript({
        appDir: sandbox.appDir,
        healthUrl: 'http://localhost/health',
        version: 'v8',
        healthTimeoutSeconds: 4,
        ...values,
      }),
    );
    return {
      sandbox,
      exitCode: run.exitCode,
      output: run.stdout,
      report: parseScriptReport(run.stdout, run.exitCode ?? undefined),
    };
  }

  it('reports deployed when the version answers healthy, and touches nothing but curl', () => {
    const { sandbox, exitCode, report } = runCheck(V8_ENV, 'healthy');
    expect(exitCode).toBe(ScriptExit.deployed);
    expect(report).toMatchObject({
      outcome: 'deployed',
      httpStatus: '200',
      reportedVersion: 'v8',
      fromResultLine: true,
    });
    expect(sandbox.calls().every((call) => call.startsWith('curl '))).toBe(true);
    expect(sandbox.env()).toBe(V8_ENV);
    expect(readdirSync(sandbox.appDir).sort()).toEqual(['.env', 'docker-compose.yml']);
  });

  it('reports unhealthy, with what it saw, when the old version still answers', () => {
    const { sandbox, exitCode, report, output } = runCheck(V8_ENV, 'old-version-answers');
    expect(exitCode).toBe(ScriptExit.unhealthy);
    expect(report).toMatchObject({
      outcome: 'unhealthy',
      failedStep: 'health',
      httpStatus: '200',
      reportedVersion: 'v7',
    });
    // It retried for the timeout it was given (4 s at 2 s intervals: 3 polls), then gave up.
    expect(sandbox.calls().filter((call) => call.startsWith('curl'))).toHaveLength(3);
    expect(sandbox.calls().some((call) => /^(docker|aws)/.test(call))).toBe(false);
    expect(sandbox.env()).toBe(V8_ENV);
    expect(sandbox.running()).toBe('v8');
    expect(output).toContain('health: v8 not healthy');
  });

  it('reports unhealthy with HTTP 503 or no answer, and never rolls back', () => {
    const failing = runCheck(V8_ENV, 'new-unhealthy');
    expect(failing.report).toMatchObject({ outcome: 'unhealthy', httpStatus: '503' });
    expect(failing.sandbox.running()).toBe('v8');
    const down = runCheck(V8_ENV, 'down');
    expect(down.report).toMatchObject({ outcome: 'unhealthy', httpStatus: '000' });
    expect(down.sandbox.env()).toBe(V8_ENV);
  });

  it('matches the version the way health-version says (header, none)', () => {
    const header = runCheck(
      V8_ENV,
      'healthy',
      { healthVersion: { kind: 'header', name: 'X-App-Version' } },
      'header',
    );
    expect(header.report).toMatchObject({ outcome: 'deployed', reportedVersion: 'v8' });
    const wrongPlace = runCheck(V8_ENV, 'healthy', {}, 'nested');
    expect(wrongPlace.report).toMatchObject({ outcome: 'unhealthy', reportedVersion: 'not-this' });
    const none = runCheck(OLD_ENV, 'healthy', { healthVersion: { kind: 'none' } }, 'plain');
    expect(none.report.outcome).toBe('deployed');
  });

  it('does not wait for a deploy holding the instance lock (it takes none)', () => {
    const sandbox = createSandbox({ env: V8_ENV, health: 'healthy' });
    sandboxes.push(sandbox);
    const holder = spawn('flock', [sandbox.appDir, '-c', 'sleep 3'], { stdio: 'ignore' });
    spawnSync('sleep', ['0.2']);
    const started = Date.now();
    const run = sandbox.run(
      renderCheckScript({
        appDir: sandbox.appDir,
        healthUrl: 'http://localhost/health',
        version: 'v8',
      }),
    );
    holder.kill();
    expect(run.exitCode).toBe(ScriptExit.deployed);
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('keeps a hostile health URL inert', () => {
    const hostile = `http://localhost/health?a=$(touch${'${IFS}'}PWNED)&b=\`touch${'${IFS}'}PWNED2\`;'"`;
    const { sandbox, exitCode } = runCheck(V8_ENV, 'healthy', { healthUrl: hostile });
    expect(exitCode).toBe(ScriptExit.deployed);
    expect(sandbox.lastUrl()).toBe(hostile);
    expect(sandbox.calls().every((call) => call.startsWith('curl '))).toBe(true);
    expect(existsSync(join(sandbox.root, 'PWNED'))).toBe(false);
    expect(existsSync(join(sandbox.root, 'PWNED2'))).toBe(false);
  });
});

describe('the instance script in hook mode (pre-/post-deploy-command)', () => {
  const HOOK: Omit<HookScriptValues, 'appDir'> = {
    phase: 'pre-deploy',
    region: 'eu-west-1',
    registry: '10.231.0.1:5000',
    image: '10.231.0.1:5000/challenge-app:v8',
    version: 'v8',
    args: ['npm', 'run', 'migrate'],
  };
  const COMPOSE =
    'services:\n  # the app\n  web:\n    image: ${IMAGE}\n  worker:\n    image: ${IMAGE}\n';

  function runHook(values: Partial<HookScriptValues> = {}, hookExit = 0, env = OLD_ENV) {
    const sandbox = createSandbox({ env, health: 'healthy', hookExit });
    sandboxes.push(sandbox);
    writeFileSync(join(sandbox.appDir, 'docker-compose.yml'), COMPOSE);
    const run = sandbox.run(renderHookScript({ ...HOOK, appDir: sandbox.appDir, ...values }));
    return {
      sandbox,
      exitCode: run.exitCode,
      output: run.stdout,
      report: parseScriptReport(run.stdout, run.exitCode ?? undefined),
    };
  }

  it('runs the command once in a one-off container of the new image, switching nothing', () => {
    const { sandbox, exitCode, report, output } = runHook();
    expect(exitCode).toBe(0);
    expect(report).toMatchObject({ outcome: 'hook-succeeded', hookExitCode: 0 });
    // Detached under a name of its own, waited for, its output read, then removed: an attached
    // `run --rm` (compose v1 on podman) never returns.
    const argv = sandbox.oneOff()?.argv ?? [];
    expect(argv).toEqual([
      '-d',
      '--no-deps',
      '-T',
      '--name',
      expect.stringMatching(/^challenge-deploy-hook-\d+-\d+$/),
      'challenge-deploy-hook',
      'npm',
      'run',
      'migrate',
    ]);
    const name = argv[4];
    expect(sandbox.calls()).toEqual(
      expect.arrayContaining([
        `docker wait ${name}`,
        `docker logs ${name}`,
        `docker rm -f ${name}`,
      ]),
    );
    expect(sandbox.containers()).toEqual([]);
    // The new image was pulled for the service; the running app and its .env are as they were.
    expect(sandbox.pulled()).toEqual(['10.231.0.1:5000/challenge-app:v8 web']);
    expect(sandbox.env()).toBe(OLD_ENV);
    expect(sandbox.running()).toBe('v7');
    expect(sandbox.calls()).not.toContain('docker compose up -d');
    expect(sandbox.oneOff()?.project).toBe(sandbox.appDir);
    // Its output tail is printed between markers, short.
    expect(output).toContain('----- pre-deploy output (last 40 lines) -----\nhook line 11\n');
    expect(output).toContain('hook line 50\n----- end -----');
    expect(output).not.toContain('hook line 10\n');
  });

  it('gives the one-off container the .env of the new version: env, env-from-ssm, IMAGE, APP_VERSION', () => {
    const sandbox = createSandbox({
      env: OLD_ENV,
      health: 'healthy',
      ssmParametersJson: JSON.stringify({
        Parameters: [{ Name: '/app/prod/DATABASE_URL', Value: 'postgres://new@db/app' }],
      }),
    });
    sandboxes.push(sandbox);
    const run = sandbox.run(
      renderHookScript({
        ...HOOK,
        appDir: sandbox.appDir,
        envEntries: [{ key: 'LOG_LEVEL', value: 'debug' }],
        envFromSsm: '/app/prod/',
        composeContent: COMPOSE.replace('web', 'api'),
      }),
    );
    expect(run.exitCode).toBe(0);
    expect(sandbox.oneOff()?.env).toBe(
      "API_TOKEN=token-a,token-b\nDATABASE_URL='postgres://new@db/app'\nLOG_LEVEL='debug'\nIMAGE=10.231.0.1:5000/challenge-app:v8\nAPP_VERSION=v8\n",
    );
    // The compose file it would write (compose-file), found first service api; nothing written.
    expect(sandbox.oneOff()?.compose).toBe(
      'services:\n  # the app\n  api:\n    image: ${IMAGE}\n  challenge-deploy-hook:\n    image: ${IMAGE}\n  worker:\n    image: ${IMAGE}\n',
    );
    expect(sandbox.env()).toBe(OLD_ENV);
    expect(readFileSync(join(sandbox.appDir, 'docker-compose.yml'), 'utf8')).toBe('services: {}\n');
    expect(run.stdout).not.toContain('postgres://new');
  });

  it('reports a failing command with its exit code and output tail', () => {
    const { exitCode, report, output, sandbox } = runHook({ phase: 'post-deploy' }, 3);
    expect(exitCode).toBe(ScriptExit.hookFailed);
    expect(report).toMatchObject({
      outcome: 'hook-failed',
      hookExitCode: 3,
      failedStep: 'post-deploy',
    });
    expect(output).toContain('----- post-deploy output');
    expect(output).toContain('hook line 50\n----- end -----');
    expect(sandbox.env()).toBe(OLD_ENV);
    expect(sandbox.containers()).toEqual([]);
  });

  it('removes the one-off container when the script is stopped while the command still runs (SSM timeout)', () => {
    const sandbox = createSandbox({ env: OLD_ENV, health: 'healthy', hookWait: 'hang' });
    sandboxes.push(sandbox);
    writeFileSync(join(sandbox.appDir, 'docker-compose.yml'), COMPOSE);
    const run = sandbox.run(renderHookScript({ ...HOOK, appDir: sandbox.appDir }), 'bash', 2000);
    // The TERM interrupted the wait: the EXIT trap removed the container, the script ended.
    expect(run.exitCode).toBe(143);
    const name = sandbox.oneOff()?.argv[4] ?? '';
    expect(sandbox.calls()).toContain(`docker rm -f ${name}`);
    expect(sandbox.containers()).toEqual([]);
    expect(sandbox.env()).toBe(OLD_ENV);
    // Removed while it was still running, not after the wait gave up by itself.
    expect(sandbox.waitEnded()).not.toBe('gave-up');
  });

  it("reports a one-off container that does not start with compose's error, and removes it", () => {
    const sandbox = createSandbox({ env: OLD_ENV, health: 'healthy', hookStart: 'fail' });
    sandboxes.push(sandbox);
    writeFileSync(join(sandbox.appDir, 'docker-compose.yml'), COMPOSE);
    const run = sandbox.run(renderHookScript({ ...HOOK, appDir: sandbox.appDir }));
    expect(run.exitCode).toBe(ScriptExit.hookFailed);
    expect(parseScriptReport(run.stdout, run.exitCode ?? undefined)).toMatchObject({
      outcome: 'hook-failed',
      hookExitCode: 1,
      failedStep: 'pre-deploy',
    });
    expect(run.stdout).toContain('executable file not found');
    expect(sandbox.calls()).not.toContain(`docker wait ${sandbox.oneOff()?.argv[4]}`);
    expect(sandbox.calls()).toContain(`docker rm -f ${sandbox.oneOff()?.argv[4]}`);
    expect(sandbox.containers()).toEqual([]);
  });

  it('uses compose-service when given', () => {
    const { sandbox } = runHook({ service: 'worker' });
    // The one-off runs a copy of the service (compose would link it to the running one, which
    // host networking refuses), so the copy must be worker's block.
    expect(sandbox.oneOff()?.argv[5]).toBe('challenge-deploy-hook');
    expect(sandbox.oneOff()?.compose).toBe(
      `${COMPOSE}  challenge-deploy-hook:\n    image: \${IMAGE}\n`,
    );
  });

  it('copies the whole block of the service, comments and nesting included, and nothing else', () => {
    const compose = [
      'version: "3.9"',
      'services:',
      // "." is literal: webXapp is not web.app.
      '    webXapp:',
      '        image: other',
      '    web.app:   # the app',
      '        image: ${IMAGE}',
      '        network_mode: host',
      '',
      '        # settings',
      '        environment:',
      '            A: "1"',
      'volumes:',
      '    data: {}',
      '',
    ].join('\n');
    const { sandbox, exitCode } = runHook({ composeContent: compose, service: 'web.app' });
    expect(exitCode).toBe(0);
    const block = [
      '        image: ${IMAGE}',
      '        network_mode: host',
      '',
      '        # settings',
      '        environment:',
      '            A: "1"',
    ];
    expect(sandbox.oneOff()?.compose).toBe(
      [
        ...compose.split('\n').slice(0, 11),
        '    challenge-deploy-hook:',
        ...block,
        ...compose.split('\n').slice(11),
      ].join('\n'),
    );
  });

  it('stops before running anything when compose-service names no service of the file', () => {
    const { sandbox, report } = runHook({ service: 'webX' });
    expect(report).toMatchObject({ outcome: 'failed-unchanged', failedStep: 'service' });
    expect(sandbox.oneOff()).toBeUndefined();
  });

  it('stops before running anything when no service can be named', () => {
    const { sandbox, report } = runHook({ composeContent: 'services: {web: {image: x}}\n' });
    expect(report).toMatchObject({ outcome: 'failed-unchanged', failedStep: 'service' });
    expect(sandbox.oneOff()).toBeUndefined();
  });

  it('passes hostile arguments to the container as literal words', () => {
    const args = [
      'sh',
      '-c',
      'echo $(touch PWNED) `touch PWNED2`; it\'s "quoted"',
      'line one\nline two',
      '',
      "'",
      '$HOME',
    ];
    const { sandbox, exitCode } = runHook({ args });
    expect(exitCode).toBe(0);
    expect(sandbox.oneOff()?.argv.slice(6)).toEqual(args);
    for (const name of ['PWNED', 'PWNED2']) {
      expect(existsSync(join(sandbox.root, name))).toBe(false);
      expect(existsSync(join(sandbox.appDir, name))).toBe(false);
    }
  });
});

describe('the instance script in restore mode (after a cancelled job)', () => {
  const V8 = { ...BASE, deployId: 'run-42-1' };

  function restoreScript(appDir: string, deployId = 'run-42-1') {
    return renderRestoreScript({
      region: 'eu-west-1',
      registry: '10.231.0.1:5000',
      version: 'v8',
      deployId,
      appDir,
      healthUrl: 'http://localhost/health',
      healthTimeoutSeconds: 4,
    });
  }

  it('puts back what the interrupted deploy replaced and health-checks the previous version', () => {
    const sandbox = createSandbox({ env: OLD_ENV, health: 'healthy' });
    sandboxes.push(sandbox);
    const COMPOSE_V8 = 'services:\n  app:\n    image: ${IMAGE}\n';
    const deployed = sandbox.run(
      renderInstanceScript({ ...V8, appDir: sandbox.appDir, composeContent: COMPOSE_V8 }),
    );
    expect(deployed.exitCode).toBe(ScriptExit.deployed);
    expect(sandbox.running()).toBe('v8');
    const run = sandbox.run(restoreScript(sandbox.appDir));
    const report = parseScriptReport(run.stdout, run.exitCode ?? undefined);
    expect(run.exitCode).toBe(0);
    expect(report).toMatchObject({
      outcome: 'restored',
      restored: true,
      previousVersion: 'v7',
      previousImage: '10.231.0.1:5000/challenge-app:v7',
      httpStatus: '200',
      reportedVersion: 'v7',
    });
    expect(sandbox.env()).toBe(OLD_ENV);
    expect(readFileSync(join(sandbox.appDir, 'docker-compose.yml'), 'utf8')).toBe('services: {}\n');
    expect(sandbox.running()).toBe('v7');
  });

  it('changes nothing when the deploy never got as far as its backup', () => {
    const sandbox = createSandbox({ env: OLD_ENV, health: 'healthy' });
    sandboxes.push(sandbox);
    const run = sandbox.run(restoreScript(sandbox.appDir));
    expect(run.exitCode).toBe(ScriptExit.untouched);
    expect(parseScriptReport(run.stdout, run.exitCode ?? undefined).outcome).toBe('untouched');
    expect(sandbox.env()).toBe(OLD_ENV);
    expect(sandbox.calls().some((call) => call.includes('up -d'))).toBe(false);
  });

  it("ignores another deploy's backup of the same version (a re-run of v8)", () => {
    const sandbox = createSandbox({ env: OLD_ENV, health: 'healthy' });
    sandboxes.push(sandbox);
    expect(sandbox.run(renderInstanceScript({ ...V8, appDir: sandbox.appDir })).exitCode).toBe(0);
    const run = sandbox.run(restoreScript(sandbox.appDir, 'run-43-1'));
    expect(run.exitCode).toBe(ScriptExit.untouched);
    expect(sandbox.running()).toBe('v8');
    expect(sandbox.env()).toContain('APP_VERSION=v8');
  });

  it('leaves files alone when they are already the previous ones, and still checks health', () => {
    const sandbox = createSandbox({ env: OLD_ENV, health: 'new-unhealthy' });
    sandboxes.push(sandbox);
    // The deploy failed and rolled itself back before the cancel reached it.
    const deployed = sandbox.run(renderInstanceScript({ ...V8, appDir: sandbox.appDir }));
    expect(deployed.exitCode).toBe(ScriptExit.rolledBack);
    const run = sandbox.run(restoreScript(sandbox.appDir));
    expect(run.exitCode).toBe(0);
    expect(parseScriptReport(run.stdout, 0)).toMatchObject({
      outcome: 'restored',
      restored: false,
    });
    expect(sandbox.env()).toBe(OLD_ENV);
  });

  it('reports rollback-failed when the previous version does not come back healthy', () => {
    const sandbox = createSandbox({ env: OLD_ENV, health: 'healthy' });
    sandboxes.push(sandbox);
    expect(sandbox.run(renderInstanceScript({ ...V8, appDir: sandbox.appDir })).exitCode).toBe(0);
    sandbox.setHealth('down');
    const run = sandbox.run(restoreScript(sandbox.appDir));
    expect(run.exitCode).toBe(ScriptExit.rollbackFailed);
    expect(parseScriptReport(run.stdout, run.exitCode ?? undefined)).toMatchObject({
      outcome: 'rollback-failed',
      failedStep: 'health',
      httpStatus: '000',
      restored: true,
    });
    expect(sandbox.env()).toBe(OLD_ENV);
  });
});
