// End to end: the bundled action (dist/index.js, run as the Actions runner runs it) deploys real
// containers to a fleet of simulated instances behind a real load balancer, through a fake AWS
// endpoint whose ECR is a real registry and whose SSM really runs the commands on the instances.
// Topology and what is real or simulated: e2e/README.md.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { runAction, type ActionRun } from './infra/action-runner.js';
import {
  REPOSITORY,
  TARGET_GROUP_ARN,
  logTails,
  startEnvironment,
  type E2eEnvironment,
} from './infra/environment.js';
import { run } from './infra/processes.js';
import { bootWithUserData } from './infra/boot.js';
import { APP_DIR, type SimulatedInstance } from './infra/fleet.js';
import { filesContaining } from './infra/leaks.js';
import { describeViolation } from './fake-aws/model-validator.js';
import type { RecordedViolation } from './fake-aws/server.js';
import { startLoad, type LoadReport } from './infra/load.js';
import { STRATEGY_IMAGES, describeStrategies } from './strategies/scenarios.js';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const ACTION_ENTRY = process.env.E2E_ACTION_ENTRY ?? path.join(REPO_ROOT, 'dist', 'index.js');
const SERVICE_COMPOSE = path.join(REPO_ROOT, 'service', 'docker-compose.yml');
const E2E_COMPOSE = path.join(REPO_ROOT, 'e2e', 'fixtures', 'docker-compose.yml');
const USER_DATA = path.join(REPO_ROOT, 'examples', 'instance', 'user-data.sh');

const IMAGE = {
  good1: 'localhost/challenge-app:e2e-good-1',
  good2: 'localhost/challenge-app:e2e-good-2',
  good3: 'localhost/challenge-app:e2e-good-3',
  good4: 'localhost/challenge-app:e2e-good-4',
  brokenEverywhere: 'localhost/challenge-app:e2e-broken-everywhere',
  brokenOnSecond: 'localhost/challenge-app:e2e-broken-on-second',
  plain: 'localhost/challenge-app:e2e-plain',
  plainFailing: 'localhost/challenge-app:e2e-plain-failing',
  header: 'localhost/challenge-app:e2e-header',
};
const SECOND_INSTANCE_ID = 'i-0e2e0000000000002';
const HEALTHY_TIMEOUT = '40';
const BROKEN_TIMEOUT = '8';

interface Row {
  scenario: string;
  passed: boolean;
  seconds: number;
  actionCalls: number;
  byOperation: string;
  instanceCalls: number;
  throttled: number;
  /** Requests the fake refused because the service model forbids them (must be 0). */
  invalid: number;
  load?: LoadReport;
  /** haproxy retries / redispatches while the scenario ran. */
  lbRetries: string;
}

const rows: Row[] = [];
let env: E2eEnvironment | undefined;

function fleet(): E2eEnvironment {
  if (!env) throw new Error('the e2e environment did not start (see the error of beforeAll)');
  return env;
}

/** Runs one scenario, recording its wall time and the AWS API calls made while it ran. */
async function scenario(
  name: string,
  body: (record: (load: LoadReport) => void) => Promise<void>,
): Promise<void> {
  const e = fleet();
  const started = Date.now();
  const firstCall = e.aws.calls.length;
  const firstViolation = e.aws.violations.length;
  const countersBefore = await e.lb.counters();
  let load: LoadReport | undefined;
  let passed = false;
  try {
    await body((report) => (load = report));
    expectValidRequests(e.aws.violations.slice(firstViolation));
    passed = true;
  } finally {
    const report = load;
    if (report && report.failures.length + report.lost.length > 0) {
      process.stdout.write(
        `e2e: ${name}: ${report.failures.length} failed requests, ${report.lost.length} lost writes; first ones:\n` +
          `${JSON.stringify(report.failures.slice(0, 10), null, 1)}\n${report.lost.slice(0, 5).join('\n')}\n`,
      );
    }
    const countersAfter = await e.lb.counters();
    const calls = e.aws.calls.slice(firstCall);
    const action = calls.filter((c) => c.caller === e.actionEnv.AWS_ACCESS_KEY_ID);
    const counts = new Map<string, number>();
    for (const call of action) counts.set(call.operation, (counts.get(call.operation) ?? 0) + 1);
    rows.push({
      scenario: name,
      passed,
      seconds: (Date.now() - started) / 1000,
      actionCalls: action.length,
      byOperation: [...counts].map(([op, n]) => `${op} ${n}`).join(', '),
      instanceCalls: calls.length - action.length,
      throttled: calls.filter((c) => c.errorType === 'ThrottlingException').length,
      invalid: e.aws.violations.length - firstViolation,
      load,
      lbRetries: `${countersAfter.retries - countersBefore.retries}/${countersAfter.redispatches - countersBefore.redispatches}`,
    });
  }
}

/** Every request of the scenario (the action's and the instances') was valid for its model. */
function expectValidRequests(refused: RecordedViolation[]): void {
  if (refused.length === 0) return;
  const lines = refused.map(
    (r) =>
      `${r.service} ${r.operation} by ${r.caller}: ${r.violations.map(describeViolation).join('; ')}`,
  );
  throw new Error(
    `the fake AWS endpoint refused ${refused.length} request(s) the official service model forbids:\n${lines.join('\n')}`,
  );
}

function ids(): string[] {
  return fleet().instances.map((i) => i.instanceId);
}

function deploy(
  inputs: Record<string, string>,
  workspaceFiles?: Record<string, string>,
  control?: Parameters<typeof runAction>[2],
): Promise<ActionRun> {
  const e = fleet();
  return runAction(
    { entry: ACTION_ENTRY, workDir: e.dir, env: e.actionEnv, workspaceFiles },
    {
      'ecr-repository': REPOSITORY,
      'instance-ids': ids().join(','),
      'health-timeout': HEALTHY_TIMEOUT,
      'command-timeout': '300',
      ...inputs,
    },
    control,
  );
}

async function versions(): Promise<Array<string | undefined>> {
  return Promise.all(fleet().instances.map((i) => i.runningVersion()));
}

async function tags(): Promise<string[]> {
  return (await fleet().registry.client.tags(REPOSITORY)).sort();
}

/** The version a new image gets: the highest `vN` tag in the registry plus one. */
async function nextVersion(): Promise<string> {
  const numbers = (await tags()).flatMap((tag) => /^v(\d+)$/.exec(tag)?.[1] ?? []);
  return `v${Math.max(0, ...numbers.map(Number)) + 1}`;
}

function sentTo(since: number): string[] {
  return fleet()
    .ssm.invocations()
    .filter((inv) => inv.requestedAt.getTime() >= since)
    .map((inv) => inv.instanceId);
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean)
    .sort();
}

/** What the action printed, for a failed expectation's message. */
function explain(result: ActionRun): string {
  return `exit ${result.exitCode}\n--- log (tail)\n${result.log.slice(-6000)}\n--- summary\n${result.summary.slice(0, 3000)}`;
}

/** The post step (action.yml `post:`) runs after success and failure alike and must not fail the job. */
function expectCleanPost(result: ActionRun): void {
  if (result.postExitCode !== 0) {
    throw new Error(
      `the post step failed (exit ${result.postExitCode}):\n${result.postLog.slice(-3000)}`,
    );
  }
}

function expectSucceeded(result: ActionRun): void {
  if (result.exitCode !== 0) throw new Error(`the action failed:\n${explain(result)}`);
  expectCleanPost(result);
}

function expectFailed(result: ActionRun): void {
  if (result.exitCode === 0)
    throw new Error(`the action succeeded, but it must fail:\n${explain(result)}`);
  expectCleanPost(result);
}

function expectNoClientFailures(load: LoadReport): void {
  expect({ failures: load.failures.slice(0, 10), lost: load.lost.slice(0, 10) }).toEqual({
    failures: [],
    lost: [],
  });
  expect(load.acknowledged).toBeGreaterThan(20);
  expect(load.reads).toBeGreaterThan(20);
}

async function pushBuildTag(local: string, tag: string): Promise<void> {
  // What a CI build job does before a promotion: push a build tag (here with the registry's own
  // credentials, as `aws ecr get-login-password | docker login` would give).
  const e = fleet();
  const dockerEnv = {
    ...process.env,
    ...e.actionEnv,
    DOCKER_CONFIG: path.join(e.dir, 'build-job-docker'),
  };
  const remote = `${e.registry.host}/${REPOSITORY}:${tag}`;
  await run(
    'docker',
    ['login', '--username', e.registry.username, '--password-stdin', e.registry.host],
    { env: dockerEnv, input: e.registry.password },
  );
  await run('docker', ['tag', local, remote], { env: dockerEnv });
  await run('docker', ['push', remote], { env: dockerEnv });
  await run('docker', ['rmi', remote], { env: dockerEnv });
}

describe('deploying with the bundled action to a fleet behind a load balancer', () => {
  beforeAll(async () => {
    if (!existsSync(ACTION_ENTRY))
      throw new Error(`${ACTION_ENTRY} does not exist: run npm run bundle`);
    const composeFile = readFileSync(
      existsSync(SERVICE_COMPOSE) ? SERVICE_COMPOSE : E2E_COMPOSE,
      'utf8',
    );
    env = await startEnvironment({
      instanceCount: 3,
      composeFile,
      images: [
        { name: IMAGE.good1, buildId: 'good-1' },
        { name: IMAGE.good2, buildId: 'good-2' },
        { name: IMAGE.good3, buildId: 'good-3' },
        { name: IMAGE.good4, buildId: 'good-4' },
        { name: IMAGE.brokenEverywhere, buildId: 'broken-everywhere', breakOn: ['*'] },
        {
          name: IMAGE.brokenOnSecond,
          buildId: 'broken-on-second',
          breakOn: [SECOND_INSTANCE_ID],
        },
        { name: IMAGE.plain, buildId: 'plain', app: 'plain' },
        { name: IMAGE.plainFailing, buildId: 'plain-failing', app: 'plain', breakOn: ['*'] },
        { name: IMAGE.header, buildId: 'header', app: 'header' },
        ...STRATEGY_IMAGES,
      ],
      log: (line) => process.stdout.write(`e2e: ${line}\n`),
    });
  }, 600_000);

  afterAll(async () => {
    if (env && rows.some((r) => !r.passed)) process.stdout.write(`${logTails(env.dir)}\n`);
    await env?.teardown();
    printTable();
  }, 120_000);

  it('1. deploys v1 to a fresh fleet of 3: every instance reports v1, and the outputs and summary say so', async () => {
    await scenario('1 fresh fleet → v1', async () => {
      const result = await deploy({ image: IMAGE.good1 });
      expectSucceeded(result);
      const e = fleet();
      const digest = (await e.registry.client.manifest(REPOSITORY, 'v1'))?.digest;
      expect(result.outputs).toMatchObject({
        version: 'v1',
        'image-uri': `${e.registry.host}/${REPOSITORY}:v1`,
        'image-digest': digest,
        'rolled-back': 'false',
      });
      expect(list(result.outputs['deployed-instances'])).toEqual(ids().sort());
      expect(list(result.outputs['failed-instances'])).toEqual([]);
      expect(await versions()).toEqual(['v1', 'v1', 'v1']);
      expect(result.summary).toContain('v1');
      for (const id of ids()) expect(result.summary).toContain(id);
      for (const instance of e.instances) {
        const dotEnv = instance.readEnvFile();
        expect(dotEnv).toContain(`IMAGE=${e.registry.host}/${REPOSITORY}:v1\n`);
        expect(dotEnv).toContain('APP_VERSION=v1\n');
        expect(dotEnv).toContain(`API_TOKEN=${e.apiToken}\n`);
      }
      const health = await fetch(`${e.lb.url}/health`).then(
        (r) => r.json() as Promise<{ version: string }>,
      );
      expect(health.version).toBe('v1');
    });
  });

  it('2. rolls v2 out under steady reads and writes: every instance on v2, no failed request, every acknowledged write readable', async () => {
    await scenario('2 rolling v2 under load', async (record) => {
      const e = fleet();
      const load = startLoad(e.lb.url, e.apiToken);
      const result = await deploy({ image: IMAGE.good2 });
      const report = await load.stop();
      record(report);
      expectSucceeded(result);
      expect(result.outputs.version).toBe('v2');
      expect(await versions()).toEqual(['v2', 'v2', 'v2']);
      expectNoClientFailures(report);
    });
  });

  it('3. stops a broken v3 at the first instance, rolls it back to v2, touches no other instance, fails naming it; clients see no failure', async () => {
    await scenario('3 broken v3', async (record) => {
      const e = fleet();
      const since = Date.now();
      const envBefore = e.instances.map((i) => i.readEnvFile());
      const version = await nextVersion();
      const load = startLoad(e.lb.url, e.apiToken);
      const result = await deploy({
        image: IMAGE.brokenEverywhere,
        'health-timeout': BROKEN_TIMEOUT,
      });
      const report = await load.stop();
      record(report);
      expectFailed(result);
      const [first, second, third] = ids() as [string, string, string];
      expect(result.outputs).toMatchObject({ version, 'rolled-back': 'true' });
      expect(list(result.outputs['failed-instances'])).toEqual([first]);
      expect(list(result.outputs['deployed-instances'])).toEqual([]);
      const failure = result.errors.join('\n');
      expect(failure).toContain(first);
      expect(failure).toContain(version);
      expect(failure).toMatch(/rolled back/i);
      expect(await versions()).toEqual(['v2', 'v2', 'v2']);
      expect(sentTo(since)).not.toContain(second);
      expect(sentTo(since)).not.toContain(third);
      expect(e.instances[1]?.readEnvFile()).toBe(envBefore[1]);
      expect(e.instances[2]?.readEnvFile()).toBe(envBefore[2]);
      expect(e.instances[0]?.readEnvFile()).toContain('APP_VERSION=v2\n');
      expect(result.summary).toContain(first);
      expectNoClientFailures(report);
    });
  });

  it('4. a new version that fails only on the second instance rolls the first back too: the fleet ends uniform on v2', async () => {
    await scenario('4 fails on 2nd instance', async (record) => {
      const e = fleet();
      const since = Date.now();
      const version = await nextVersion();
      const load = startLoad(e.lb.url, e.apiToken);
      const result = await deploy({
        image: IMAGE.brokenOnSecond,
        'health-timeout': BROKEN_TIMEOUT,
      });
      const report = await load.stop();
      record(report);
      expectFailed(result);
      const [first, second, third] = ids() as [string, string, string];
      expect(result.outputs).toMatchObject({ version, 'rolled-back': 'true' });
      expect(list(result.outputs['failed-instances'])).toEqual([second]);
      const failure = result.errors.join('\n');
      expect(failure).toContain(second);
      expect(await versions()).toEqual(['v2', 'v2', 'v2']);
      for (const instance of e.instances)
        expect(instance.readEnvFile()).toContain('APP_VERSION=v2\n');
      const sent = sentTo(since);
      expect(sent.filter((id) => id === first).length).toBeGreaterThanOrEqual(2);
      expect(sent).toContain(second);
      expect(sent).not.toContain(third);
      expectNoClientFailures(report);
    });
  });

  it('5. fails in preflight when one instance is offline in SSM, and changes nothing anywhere', async () => {
    await scenario('5 instance offline', async () => {
      const e = fleet();
      const since = Date.now();
      const tagsBefore = await tags();
      const envBefore = e.instances.map((i) => i.readEnvFile());
      const offline = e.instances[2]!;
      offline.online = false;
      let result: ActionRun;
      try {
        result = await deploy({ image: IMAGE.good3 });
      } finally {
        offline.online = true;
      }
      expectFailed(result);
      expect(result.errors.join('\n')).toContain(offline.instanceId);
      expect(await tags()).toEqual(tagsBefore);
      expect(sentTo(since)).toEqual([]);
      expect(e.instances.map((i) => i.readEnvFile())).toEqual(envBefore);
      expect(await versions()).toEqual(['v2', 'v2', 'v2']);
      const changing = e.aws.calls.filter(
        (c) => c.at >= since && ['PutImage', 'SendCommand'].includes(c.operation),
      );
      expect(changing).toEqual([]);
    });
  });

  it('6. deploys through SSM throttling every third poll (promoting a build tag, fleet chosen by tag)', async () => {
    await pushBuildTag(IMAGE.good3, 'build-3');
    await scenario('6 throttled polls', async () => {
      const e = fleet();
      const since = Date.now();
      e.ssm.faults.throttleEveryNthPoll = 3;
      let result: ActionRun;
      try {
        result = await deploy({
          'source-tag': 'build-3',
          'instance-ids': '',
          'instance-tag': 'Role=web',
        });
      } finally {
        e.ssm.faults.throttleEveryNthPoll = 0;
      }
      expectSucceeded(result);
      expect(result.outputs.version).toBe('v5');
      expect((await e.registry.client.manifest(REPOSITORY, 'v5'))?.digest).toBe(
        (await e.registry.client.manifest(REPOSITORY, 'build-3'))?.digest,
      );
      expect(list(result.outputs['deployed-instances'])).toEqual(ids().sort());
      expect(await versions()).toEqual(['v5', 'v5', 'v5']);
      const throttled = e.aws.calls.filter(
        (c) => c.at >= since && c.errorType === 'ThrottlingException',
      );
      expect(throttled.length).toBeGreaterThan(0);
    });
  });

  it('7. re-running the deploy of the same digest reuses its version', async () => {
    await scenario('7 same digest again', async () => {
      const tagsBefore = await tags();
      const result = await deploy({ 'source-tag': 'build-3' });
      expectSucceeded(result);
      expect(result.outputs.version).toBe('v5');
      expect(await tags()).toEqual(tagsBefore);
      expect(await versions()).toEqual(['v5', 'v5', 'v5']);
    });
  });

  it('8. drains each instance from the target group while it is replaced (ELBv2 on haproxy), with no failed request', async () => {
    await scenario('8 target group drain', async (record) => {
      const e = fleet();
      const historyBefore = e.targetGroup.history.length;
      const load = startLoad(e.lb.url, e.apiToken);
      const result = await deploy({ image: IMAGE.good2, 'target-group-arn': TARGET_GROUP_ARN });
      const report = await load.stop();
      record(report);
      expectSucceeded(result);
      expect(result.outputs.version).toBe('v2');
      expect(await versions()).toEqual(['v2', 'v2', 'v2']);
      const history = e.targetGroup.history.slice(historyBefore);
      for (const id of ids()) {
        expect(history.filter((h) => h.startsWith(id))).toEqual([
          `${id}: draining`,
          `${id}: unused`,
          `${id}: registered`,
        ]);
      }
      // One at a time: an instance is registered back before the next one is drained.
      expect(history.map((h) => h.split(':')[0])).toEqual(ids().flatMap((id) => [id, id, id]));
      expect(Object.values(await e.lb.serverStates())).toEqual(['UP', 'UP', 'UP']);
      expectNoClientFailures(report);
    });
  });

  it('9. stops in preflight when the target group reports its targets Target.NotInUse (no load balancer uses it): nothing changes, and the message says why', async () => {
    await scenario('9 target group not in use', async () => {
      const e = fleet();
      const since = Date.now();
      const tagsBefore = await tags();
      const envBefore = e.instances.map((i) => i.readEnvFile());
      const versionsBefore = await versions();
      const historyBefore = e.targetGroup.history.length;
      e.targetGroup.hasLoadBalancer = false;
      let result: ActionRun;
      try {
        result = await deploy({ image: IMAGE.good4, 'target-group-arn': TARGET_GROUP_ARN });
      } finally {
        e.targetGroup.hasLoadBalancer = true;
      }
      expectFailed(result);
      const failure = result.errors.join('\n');
      expect(failure).toContain('Target.NotInUse');
      expect(failure).toMatch(/load balancer/i);
      expect(await tags()).toEqual(tagsBefore);
      expect(sentTo(since)).toEqual([]);
      expect(e.targetGroup.history.slice(historyBefore)).toEqual([]);
      expect(e.instances.map((i) => i.readEnvFile())).toEqual(envBefore);
      expect(await versions()).toEqual(versionsBefore);
      const changing = e.aws.calls.filter(
        (c) =>
          c.at >= since &&
          ['PutImage', 'SendCommand', 'DeregisterTargets', 'RegisterTargets'].includes(c.operation),
      );
      expect(changing).toEqual([]);
    });
  });

  it('10. skips an archived newest version when numbering a new one (ECR hides it from DescribeImages unless imageStatus is ANY)', async () => {
    await pushBuildTag(IMAGE.good4, 'build-4');
    await scenario('10 archived newest version', async () => {
      const e = fleet();
      const since = Date.now();
      const version = await nextVersion();
      const newest = `v${Number(version.slice(1)) - 1}`;
      const archived = (await e.registry.client.manifest(REPOSITORY, newest))?.digest ?? '';
      expect(archived).not.toBe('');
      e.ecr.archived.add(archived);
      let result: ActionRun;
      try {
        result = await deploy({ 'source-tag': 'build-4' });
      } finally {
        e.ecr.archived.delete(archived);
      }
      expectSucceeded(result);
      expect(result.outputs.version).toBe(version);
      expect((await e.registry.client.manifest(REPOSITORY, newest))?.digest).toBe(archived);
      expect((await e.registry.client.manifest(REPOSITORY, version))?.digest).toBe(
        (await e.registry.client.manifest(REPOSITORY, 'build-4'))?.digest,
      );
      expect(await versions()).toEqual([version, version, version]);
      const refusedTags = e.aws.calls.filter(
        (c) =>
          c.at >= since &&
          c.operation === 'PutImage' &&
          c.errorType === 'ImageTagAlreadyExistsException',
      );
      expect(refusedTags).toEqual([]);
    });
  });

  it('11. a SendCommand whose response is lost once (connection reset after SSM took it): exactly one command runs per instance, and the deploy succeeds', async () => {
    await scenario('11 lost SendCommand response', async () => {
      const e = fleet();
      const since = Date.now();
      e.aws.loseNextResponse('SendCommand', 'reset');
      const result = await deploy({ image: IMAGE.good1 });
      expectSucceeded(result);
      const lost = e.aws.calls.filter(
        (c) => c.at >= since && c.operation === 'SendCommand' && c.status === 0,
      );
      expect(lost).toHaveLength(1);
      expect(sentTo(since).sort()).toEqual(ids().sort());
      expect(result.outputs.version).toBe('v1');
      expect(await versions()).toEqual(['v1', 'v1', 'v1']);
      expect(list(result.outputs['deployed-instances'])).toEqual(ids().sort());
    });
  });
  // Issue 11: the action as someone else's app uses it. Each scenario leaves the fleet healthy on
  // an image of the suite's service (json:version), as the scenarios before it found it.
  describe('any app (issue 11): health-version, compose-file, env-from-ssm, release-parameter', () => {
    const ENV_PATH = '/challenge-app/e2e/env/';
    const BAD_ENV_PATH = '/challenge-app/e2e/bad-env/';
    const RELEASE = '/challenge-app/e2e/release';
    const COMPOSE_INPUT = 'deploy/docker-compose.yml';
    const ALL_AT_ONCE = { 'max-parallel': '100%' };

    /** What the app reads from Parameter Store (env-from-ssm), besides each scenario's own. */
    const EXTRA_PARAMETERS = Array.from({ length: 9 }, (_, i) => `E2E_PARAM_${i + 1}`);
    function putParameter(name: string, value: string, type: 'String' | 'SecureString'): void {
      // As an operator does once (console or CLI), straight into the store.
      fleet().parameters.operations.PutParameter!({
        Name: name,
        Value: value,
        Type: type,
        Overwrite: true,
      });
    }
    /** The shared database, as the instances were provisioned with it. */
    let appDatabaseUrl = '';

    beforeAll(() => {
      const e = fleet();
      // The instances' settings (the secrets user data must not hold), and more than one page of
      // GetParametersByPath (10): the instances' CLI must follow NextToken.
      putParameter(`${ENV_PATH}API_TOKEN`, e.apiToken, 'SecureString');
      appDatabaseUrl = /^DATABASE_URL=(.*)$/m.exec(e.instances[0]!.readEnvFile())?.[1] ?? '';
      putParameter(`${ENV_PATH}db/DATABASE_URL`, appDatabaseUrl, 'SecureString');
      putParameter(`${ENV_PATH}SHUTDOWN_DELAY`, '1', 'String');
      for (const key of EXTRA_PARAMETERS)
        putParameter(`${ENV_PATH}extra/${key}`, `value-of-${key}`, 'String');
    });

    /** The instances' compose file with extra `environment:` lines for the app service. */
    function composeWith(lines: Record<string, string>): string {
      const base = readFileSync(
        existsSync(SERVICE_COMPOSE) ? SERVICE_COMPOSE : E2E_COMPOSE,
        'utf8',
      );
      const anchor = /^( +)APP_VERSION: \$\{APP_VERSION\}\n/m.exec(base);
      if (!anchor) throw new Error('the compose file has no APP_VERSION: ${APP_VERSION} line');
      const extra = Object.entries(lines)
        .map(([key, value]) => `${anchor[1]}${key}: ${value}\n`)
        .join('');
      return base.replace(anchor[0], `${anchor[0]}${extra}`);
    }

    /** The environment of the app container running on the instance (`KEY=value` lines). */
    async function containerEnv(instance: SimulatedInstance): Promise<string[]> {
      const { stdout, code } = await instance.exec(
        `for c in $(docker ps -q); do docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$c"; done`,
      );
      if (code !== 0) throw new Error(`docker inspect failed on ${instance.instanceId}`);
      return stdout.split('\n').filter(Boolean);
    }

    /** `GET http://localhost/health` on the instance: status, headers (lower-case) and body. */
    async function health(
      instance: SimulatedInstance,
    ): Promise<{ status: number; headers: Record<string, string>; body: string }> {
      const { stdout } = await instance.exec('curl -s -m 5 -i http://localhost/health || true');
      const [head = '', ...rest] = stdout.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(
        lines.map((line) => {
          const at = line.indexOf(':');
          return [line.slice(0, at).trim().toLowerCase(), line.slice(at + 1).trim()];
        }),
      );
      return {
        status: Number(statusLine.split(' ')[1]) || 0,
        headers,
        body: rest.join('\r\n\r\n'),
      };
    }

    function appFile(instance: SimulatedInstance, name: string): string {
      return readFileSync(path.join(instance.appDir, name), 'utf8');
    }

    it('a. an app that knows nothing of versions (plain 200 OK), health-version none: deployed; the same app answering 500 is rolled back', async () => {
      await scenario('a health-version none', async () => {
        const e = fleet();
        const version = await nextVersion();
        const result = await deploy({
          image: IMAGE.plain,
          'health-version': 'none',
          ...ALL_AT_ONCE,
        });
        expectSucceeded(result);
        expect(result.outputs.version).toBe(version);
        expect(list(result.outputs['deployed-instances'])).toEqual(ids().sort());
        for (const instance of e.instances) {
          // The app answers, and nothing it says names a version: only the deploy knows it.
          const answer = await health(instance);
          expect({ status: answer.status, body: answer.body }).toEqual({
            status: 200,
            body: 'OK\n',
          });
          expect(JSON.stringify(answer.headers)).not.toContain(version);
          expect(instance.readEnvFile()).toContain(`APP_VERSION=${version}\n`);
        }

        const failing = await nextVersion();
        const broken = await deploy({
          image: IMAGE.plainFailing,
          'health-version': 'none',
          'health-timeout': BROKEN_TIMEOUT,
        });
        expectFailed(broken);
        const [first] = ids() as [string];
        expect(broken.outputs).toMatchObject({ version: failing, 'rolled-back': 'true' });
        expect(list(broken.outputs['failed-instances'])).toEqual([first]);
        expect(broken.errors.join('\n')).toContain(first);
        expect(broken.errors.join('\n')).toMatch(/500/);
        for (const instance of e.instances) {
          expect((await health(instance)).status).toBe(200);
          expect(instance.readEnvFile()).toContain(`APP_VERSION=${version}\n`);
        }
      });
    });

    it('b. an app that reports its version only in a response header, health-version header:X-App-Version; one without the header does not pass', async () => {
      await scenario('b health-version header', async () => {
        const e = fleet();
        const version = await nextVersion();
        const result = await deploy({
          image: IMAGE.header,
          'health-version': 'header:X-App-Version',
          ...ALL_AT_ONCE,
        });
        expectSucceeded(result);
        expect(result.outputs.version).toBe(version);
        for (const instance of e.instances) {
          const answer = await health(instance);
          expect(answer.status).toBe(200);
          expect(answer.headers['x-app-version']).toBe(version);
          expect(answer.body).toBe('OK\n');
        }

        // The gate reads that header: an app that answers 200 without it does not pass.
        const headerless = await deploy({
          image: IMAGE.plain,
          'health-version': 'header:X-App-Version',
          'health-timeout': BROKEN_TIMEOUT,
        });
        expectFailed(headerless);
        expect(headerless.outputs['rolled-back']).toBe('true');
        expect(list(headerless.outputs['failed-instances'])).toEqual([ids()[0]]);
        for (const instance of e.instances)
          expect((await health(instance)).headers['x-app-version']).toBe(version);
      });
    });

    it('c. compose-file: a new variable reaches the running containers; a failing deploy that adds another is rolled back with the previous compose file, byte for byte, and the variable is gone', async () => {
      await scenario('c compose-file', async () => {
        const e = fleet();
        const withFeature = composeWith({ E2E_FEATURE: "'on'" });
        const deployed = await deploy(
          { image: IMAGE.good2, 'compose-file': COMPOSE_INPUT, ...ALL_AT_ONCE },
          { [COMPOSE_INPUT]: withFeature },
        );
        expectSucceeded(deployed);
        const version = deployed.outputs.version ?? '';
        for (const instance of e.instances) {
          expect(appFile(instance, 'docker-compose.yml')).toBe(withFeature);
          expect(await containerEnv(instance)).toContain('E2E_FEATURE=on');
        }

        // Adds E2E_ADDED; fails its health gate on the second instance: the first is rolled back
        // by the action (MODE=rollback), the second by its own script.
        const withAdded = composeWith({ E2E_FEATURE: "'on'", E2E_ADDED: "'yes'" });
        const [first, second] = e.instances as [SimulatedInstance, SimulatedInstance];
        let seenOnFirst = false;
        let running = true;
        const watching = (async () => {
          while (running && !seenOnFirst) {
            seenOnFirst = (await containerEnv(first).catch((): string[] => [])).includes(
              'E2E_ADDED=yes',
            );
          }
        })();
        const failed = await deploy(
          {
            image: IMAGE.brokenOnSecond,
            'compose-file': COMPOSE_INPUT,
            'health-timeout': BROKEN_TIMEOUT,
            'release-parameter': RELEASE,
          },
          { [COMPOSE_INPUT]: withAdded },
        ).finally(() => (running = false));
        await watching;
        expectFailed(failed);
        expect(failed.outputs['rolled-back']).toBe('true');
        expect(list(failed.outputs['failed-instances'])).toEqual([second.instanceId]);
        // The new compose file did run on the first instance before the rollback.
        expect(seenOnFirst).toBe(true);
        for (const instance of e.instances) {
          expect(appFile(instance, 'docker-compose.yml')).toBe(withFeature);
          const variables = await containerEnv(instance);
          expect(variables).toContain('E2E_FEATURE=on');
          expect(variables.filter((v) => v.startsWith('E2E_ADDED='))).toEqual([]);
          expect(instance.readEnvFile()).toContain(`APP_VERSION=${version}\n`);
        }
        expect(await versions()).toEqual([version, version, version]);
        // A failed deploy publishes no release.
        expect(e.parameters.get(RELEASE)).toBeUndefined();
      });
    });

    it("d. env-from-ssm: a SecureString reaches the containers through the instances' own reads, and its value is in no log, summary, command or file outside .env", async () => {
      await scenario('d env-from-ssm', async () => {
        const e = fleet();
        const since = Date.now();
        const secret = `e2e-secret-${randomBytes(16).toString('hex')}`;
        const put = putParameter;
        expect(appDatabaseUrl).toMatch(/^postgres:/);
        put(`${ENV_PATH}E2E_SECRET`, secret, 'SecureString');

        // A value .env cannot carry: the deploy stops before changing anything, naming the
        // parameter and never the value.
        const badSecret = `it's-${randomBytes(8).toString('hex')}`;
        put(`${BAD_ENV_PATH}GOOD`, 'fine', 'String');
        put(`${BAD_ENV_PATH}QUOTED`, badSecret, 'SecureString');
        const envBefore = e.instances.map((i) => i.readEnvFile());
        const versionsBefore = await versions();
        const refused = await deploy({ image: IMAGE.good3, 'env-from-ssm': BAD_ENV_PATH });
        expectFailed(refused);
        const [first] = ids() as [string];
        expect(refused.errors.join('\n')).toContain(first);
        expect(refused.log).toContain(`${BAD_ENV_PATH}QUOTED`);
        expect(refused.log).not.toContain(badSecret);
        expect(e.instances.map((i) => i.readEnvFile())).toEqual(envBefore);
        expect(await versions()).toEqual(versionsBefore);

        const compose = composeWith({ E2E_SECRET: '${E2E_SECRET}' });
        const result = await deploy(
          {
            image: IMAGE.good3,
            'env-from-ssm': ENV_PATH,
            'compose-file': COMPOSE_INPUT,
            ...ALL_AT_ONCE,
          },
          { [COMPOSE_INPUT]: compose },
        );
        expectSucceeded(result);
        for (const instance of e.instances) {
          expect(await containerEnv(instance)).toContain(`E2E_SECRET=${secret}`);
          const dotEnv = instance.readEnvFile();
          expect(dotEnv).toContain(`E2E_SECRET='${secret}'\n`);
          expect(dotEnv).toContain(`DATABASE_URL='${appDatabaseUrl}'\n`);
          for (const key of EXTRA_PARAMETERS)
            expect(dotEnv).toContain(`${key}='value-of-${key}'\n`);
          expect((await instance.localGet('/ready')).status).toBe(200);
        }
        // Read on the instances (with their own role), never by the action.
        const reads = e.aws.calls.filter(
          (c) => c.at >= since && c.operation === 'GetParametersByPath',
        );
        expect(reads.length).toBeGreaterThanOrEqual(2 * e.instances.length);
        expect(reads.filter((c) => c.caller === e.actionEnv.AWS_ACCESS_KEY_ID)).toEqual([]);

        // Where the value must not be.
        const printed = [
          result.log,
          result.postLog,
          result.summary,
          JSON.stringify(result.outputs),
        ];
        for (const [i, text] of printed.entries())
          expect([i, text.includes(secret)]).toEqual([i, false]);
        const commands = e.ssm.invocations().filter((inv) => inv.requestedAt.getTime() >= since);
        expect(commands.length).toBeGreaterThanOrEqual(e.instances.length);
        for (const inv of commands) {
          expect([inv.instanceId, inv.script.includes(secret)]).toEqual([inv.instanceId, false]);
          expect([inv.instanceId, (inv.stdout + inv.stderr).includes(secret)]).toEqual([
            inv.instanceId,
            false,
          ]);
        }
        const dotEnvFiles = new Set(e.instances.map((i) => path.join(i.appDir, '.env')));
        const leaks = filesContaining(
          [
            path.join(e.dir, 'instances'),
            ...readdirSync(e.dir)
              .filter((f) => f.startsWith('run-'))
              .map((f) => path.join(e.dir, f)),
          ],
          secret,
          // The container engine keeps each container's configuration (its environment) in its
          // store, as dockerd does; that is where the running app gets it from.
          (file) => dotEnvFiles.has(file) || path.basename(file) === 'engine',
        );
        expect(leaks).toEqual([]);
        // The deploy script's own scratch directory (mktemp in the shared /tmp) is gone.
        const scratch = readdirSync('/tmp')
          .filter((f) => f.startsWith('tmp.'))
          .map((f) => path.join('/tmp', f))
          .filter((f) => (statSync(f, { throwIfNoEntry: false })?.mtimeMs ?? 0) >= since);
        expect(filesContaining(scratch, secret)).toEqual([]);
      });
    });

    it('e. release-parameter: the deploy records {version, image, digest, commit, run}; a new instance booted with examples/instance/user-data.sh serves that version', async () => {
      await scenario('e release-parameter + boot', async () => {
        const e = fleet();
        const since = Date.now();
        const compose = composeWith({ E2E_SECRET: '${E2E_SECRET}' });
        const result = await deploy(
          {
            image: IMAGE.good4,
            'env-from-ssm': ENV_PATH,
            'compose-file': COMPOSE_INPUT,
            'release-parameter': RELEASE,
            ...ALL_AT_ONCE,
          },
          { [COMPOSE_INPUT]: compose },
        );
        expectSucceeded(result);
        const version = result.outputs.version ?? '';
        const digest = (await e.registry.client.manifest(REPOSITORY, version))?.digest;
        const stored = e.parameters.get(RELEASE);
        expect(stored?.type).toBe('String');
        expect(JSON.parse(stored?.value ?? '{}')).toEqual({
          version,
          image: `${e.registry.host}/${REPOSITORY}:${version}`,
          digest,
          commit: '0'.repeat(40),
          run: expect.stringMatching(
            /^https:\/\/github\.com\/e2e\/challenge-deploy\/actions\/runs\/\d+$/,
          ),
        });
        const writes = e.aws.calls.filter((c) => c.at >= since && c.operation === 'PutParameter');
        expect(writes.map((c) => c.caller)).toEqual([e.actionEnv.AWS_ACCESS_KEY_ID]);

        // An Auto Scaling launch after the deploy: the real user data, nothing deployed to it.
        const launched = await e.launchInstance({
          Role: 'web',
          'aws:autoscaling:groupName': 'challenge-app-e2e',
        });
        const boot = await bootWithUserData(launched, USER_DATA, {
          APP_DIR,
          RELEASE_PARAMETER: RELEASE,
          ENV_FROM_SSM: ENV_PATH,
        });
        if (boot.code !== 0)
          throw new Error(`user data failed (exit ${boot.code}):\n${boot.output.slice(-4000)}`);
        expect(boot.output).toContain(`starting the current release ${version}`);
        expect(boot.amiCalls).toContain('apt-get install -y -q docker.io docker-compose-v2 curl');
        // The same gate a deploy applies: health-url answers 200 with the version in `version`
        // within health-timeout (user data does not wait for the app; the load balancer's
        // health check, like this poll, admits it once it answers).
        const deadline = Date.now() + Number(HEALTHY_TIMEOUT) * 1000;
        let answer = await health(launched);
        while (answer.status !== 200 && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 250));
          answer = await health(launched);
        }
        expect(answer.status).toBe(200);
        expect(JSON.parse(answer.body)).toMatchObject({ version, instance: launched.instanceId });
        // Its secrets came from Parameter Store, not user data's placeholders: the shared
        // database answers /ready, and the fleet's API token is accepted for a write.
        expect((await launched.localGet('/ready')).status).toBe(200);
        // (The token is the suite's own `e2e-<hex>`: nothing in it needs quoting.)
        const document = `{"id":"booted-${randomBytes(4).toString('hex')}","data":{}}`;
        const write = await launched.exec(
          `curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Authorization: Bearer ${e.apiToken}' -H 'content-type: application/json' --data '${document}' http://localhost/json`,
        );
        expect(write.stdout).toBe('201');
        expect(launched.readEnvFile()).toContain(
          `IMAGE=${e.registry.host}/${REPOSITORY}:${version}\n`,
        );
        expect(await launched.runningVersion()).toBe(version);
        expect(sentTo(since)).not.toContain(launched.instanceId);
      });
    });
  });

  describeStrategies({
    fleet,
    scenario,
    deploy: (inputs, control) => deploy(inputs, undefined, control),
    expectSucceeded,
    expectFailed,
  });
});

function printTable(): void {
  const header = [
    'scenario',
    'result',
    'wall s',
    'action API calls',
    'instance API calls',
    'throttled',
    'invalid requests',
    'client requests (failed, lost writes)',
    'LB retries/redispatches',
  ];
  const lines = rows.map((r) => [
    r.scenario,
    r.passed ? 'pass' : 'FAIL',
    r.seconds.toFixed(1),
    `${r.actionCalls} (${r.byOperation})`,
    String(r.instanceCalls),
    String(r.throttled),
    String(r.invalid),
    r.load ? `${r.load.requests} (${r.load.failures.length}, ${r.load.lost.length})` : '-',
    r.lbRetries,
  ]);
  const table = [header, header.map((h) => '-'.repeat(Math.min(h.length, 3))), ...lines]
    .map((cells) => `| ${cells.join(' | ')} |`)
    .join('\n');
  process.stdout.write(
    `\nEnd-to-end scenarios: wall time and AWS API calls (fake endpoint's request log)\n${table}\n`,
  );
}
