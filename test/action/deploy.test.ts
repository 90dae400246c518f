import {
  BatchGetImageCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  PutImageCommand,
} from '@aws-sdk/client-ecr';
import {
  DeregisterTargetsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
  type TargetHealthStateEnum,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { PutParameterCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { deploy, lifecycleDeps } from '../../action/deploy.js';
import { parseInputs } from '../../action/inputs.js';
import type { CommandOutput } from '../../action/registry.js';
import {
  fakeClock,
  fakeFleet,
  healthy,
  ids,
  recordingLogger,
  REPOSITORY_URI,
  unhealthyNewVersion,
  type Behaviour,
} from './fakes.js';

const ecrMock = mockClient(ECRClient);
const ssmMock = mockClient(SSMClient);
const elbMock = mockClient(ElasticLoadBalancingV2Client);
const region = { region: 'eu-west-1' };
const DIGEST = `sha256:${'9'.repeat(64)}`;
const TARGET_GROUP =
  'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/challenge-app/0123456789abcdef';

beforeEach(() => {
  ecrMock.reset();
  ssmMock.reset();
  elbMock.reset();
  ecrMock.on(DescribeRepositoriesCommand).resolves({
    repositories: [{ repositoryName: 'challenge-app', repositoryUri: REPOSITORY_URI }],
  });
  ecrMock.on(DescribeImagesCommand).resolves({
    imageDetails: [{ imageDigest: `sha256:${'1'.repeat(64)}`, imageTags: ['v7'] }],
  });
  ecrMock.on(BatchGetImageCommand).resolves({
    images: [
      {
        imageId: { imageDigest: DIGEST },
        imageManifest: '{}',
        imageManifestMediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      },
    ],
  });
  ecrMock.on(PutImageCommand).resolves({});
});

function inputs(values: Record<string, string>) {
  return parseInputs((name) => values[name] ?? '', {});
}

function deps() {
  const dockerCalls: string[][] = [];
  return {
    dockerCalls,
    deps: {
      ecr: new ECRClient(region),
      ssm: new SSMClient(region),
      elb: new ElasticLoadBalancingV2Client(region),
      docker: (args: string[]): Promise<CommandOutput> => {
        dockerCalls.push(args);
        return Promise.resolve({ exitCode: 0, stdout: '', stderr: '' });
      },
      clock: fakeClock(),
      log: recordingLogger(),
      mask: () => undefined,
    },
  };
}

describe('a deploy', () => {
  it('fails preflight on an offline instance before any SendCommand or ECR write', async () => {
    const fleet = ids(3);
    fakeFleet(ssmMock, fleet, {}, { pingStatus: { [fleet[1]!]: 'ConnectionLost' } });
    const { deps: d, dockerCalls } = deps();
    await expect(
      deploy(
        d,
        inputs({
          'ecr-repository': 'challenge-app',
          'aws-region': 'eu-west-1',
          image: 'challenge-app:build',
          'instance-ids': fleet.join(','),
        }),
      ),
    ).rejects.toThrow(`${fleet[1]}: SSM ping status ConnectionLost`);
    expect(ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
    expect(ecrMock).not.toHaveReceivedCommand(PutImageCommand);
    expect(ecrMock).not.toHaveReceivedCommand(DescribeRepositoriesCommand);
    expect(dockerCalls).toEqual([]);
  });

  it('in dry-run computes the version and plan and changes nothing', async () => {
    const fleet = ids(5);
    fakeFleet(ssmMock, fleet);
    const { deps: d } = deps();
    const result = await deploy(
      d,
      inputs({
        'ecr-repository': 'challenge-app',
        'aws-region': 'eu-west-1',
        'source-tag': 'main-abc',
        'instance-ids': fleet.join('\n'),
        'max-parallel': '40%',
        'dry-run': 'true',
      }),
    );
    expect(result.outputs).toEqual({
      version: 'v8',
      'image-uri': `${REPOSITORY_URI}:v8`,
      'image-digest': DIGEST,
      'deployed-instances': '',
      'failed-instances': '',
      'rolled-back': 'false',
    });
    expect(result.failure).toBeUndefined();
    expect(ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
    expect(ecrMock).not.toHaveReceivedCommand(PutImageCommand);
    expect(d.log.lines.join('\n')).toContain(`  3. ${fleet[4]}`);
    expect(d.log.groups[0]?.body).toContain(`readonly IMAGE='${REPOSITORY_URI}:v8'`);
  });

  it('promotes the tag, rolls out and reports every instance deployed', async () => {
    const fleet = ids(4);
    const running = fakeFleet(ssmMock, fleet);
    const { deps: d } = deps();
    const told: unknown[] = [];
    const result = await deploy(
      { ...d, onImage: (o) => told.push(o) },
      inputs({
        'ecr-repository': 'challenge-app',
        'aws-region': 'eu-west-1',
        'source-tag': 'main-abc',
        'instance-ids': fleet.join(','),
        'max-parallel': '2',
      }),
    );
    expect(result.failure).toBeUndefined();
    expect(result.outputs['deployed-instances']).toBe(fleet.join(','));
    expect(told).toEqual([
      { version: 'v8', 'image-uri': `${REPOSITORY_URI}:v8`, 'image-digest': DIGEST },
    ]);
    expect([...running.running.values()].every((r) => r.version === 'v8')).toBe(true);
    expect(result.summary).toContain('| <code>');
    // The fake repository does not say IMMUTABLE: concurrent runs could overwrite a tag.
    expect(d.log.lines).toContainEqual(
      expect.stringMatching(/^warning: ECR repository challenge-app has mutable tags/),
    );
  });

  it('fails with a message naming the instance, step, version and outcome, even after a good rollback', async () => {
    const fleet = ids(5);
    fakeFleet(ssmMock, fleet, { [fleet[2]!]: unhealthyNewVersion });
    const { deps: d } = deps();
    const result = await deploy(
      d,
      inputs({
        'ecr-repository': 'challenge-app',
        'aws-region': 'eu-west-1',
        'source-tag': 'main-abc',
        'instance-ids': fleet.join(','),
      }),
    );
    expect(result.failure).toMatch(/^v8 is not running healthy on every instance/);
    expect(result.failure).toContain(
      `${fleet[2]}: v8 failed its health check after 120 s (HTTP 503); rolled back to v7 (healthy).`,
    );
    expect(result.outputs).toMatchObject({ 'failed-instances': fleet[2], 'rolled-back': 'true' });
    // One annotation per instance that did not end deployed, titled with the instance and outcome.
    expect(d.log.annotations.filter((a) => a.title?.startsWith('i-'))).toEqual([
      expect.objectContaining({ level: 'warning', title: `${fleet[0]}: rolled back` }),
      expect.objectContaining({ level: 'warning', title: `${fleet[1]}: rolled back` }),
      expect.objectContaining({
        level: 'warning',
        title: `${fleet[2]}: rolled back`,
        message: expect.stringContaining('v8 failed its health check'),
      }),
    ]);
  });

  it('annotates a failed instance as an error titled with its id and outcome, and counts throttling in a notice', async () => {
    const fleet = ids(1);
    fakeFleet(ssmMock, fleet, { [fleet[0]!]: unhealthyNewVersion });
    // The first SendCommand is throttled; the fleet's fake answers the retry.
    ssmMock
      .on(SendCommandCommand)
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    const { deps: d } = deps();
    let throttled = 0;
    const result = await deploy(
      { ...d, throttleCount: () => throttled, onImage: () => (throttled = 3) },
      inputs({
        'ecr-repository': 'challenge-app',
        'aws-region': 'eu-west-1',
        'source-tag': 'main-abc',
        'instance-ids': fleet.join(','),
        rollback: 'false',
      }),
    );
    expect(result.failure).toBeDefined();
    expect(d.log.annotations).toContainEqual(
      expect.objectContaining({ level: 'error', title: `${fleet[0]}: failed` }),
    );
    expect(ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 2);
    expect(d.log.annotations).toContainEqual(
      expect.objectContaining({
        level: 'notice',
        title: 'AWS throttling',
        message: expect.stringMatching(/^AWS throttled 3 request\(s\) of this deploy/),
      }),
    );
  });

  it('warns when the worst-case rollout outlives the AWS session', async () => {
    const fleet = ids(4);
    fakeFleet(ssmMock, fleet);
    const { deps: d } = deps();
    const now = d.clock.now();
    await deploy(
      { ...d, sessionExpiry: () => Promise.resolve(new Date(now + 15 * 60_000)) },
      inputs({
        'ecr-repository': 'challenge-app',
        'aws-region': 'eu-west-1',
        'source-tag': 'main-abc',
        'instance-ids': fleet.join(','),
      }),
    );
    expect(d.log.annotations).toContainEqual(
      expect.objectContaining({
        level: 'warning',
        title: 'AWS session may expire mid-deploy',
        message: expect.stringMatching(
          /^The AWS session expires in 15 min .* up to 80 min in the worst case/,
        ),
      }),
    );
  });

  function fakeTargetGroup(fleet: string[], events: string[], unhealthyVersion?: () => boolean) {
    const state = new Map<string, TargetHealthStateEnum>(fleet.map((id) => [id, 'healthy']));
    elbMock.on(DescribeTargetGroupAttributesCommand).resolves({
      Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '300' }],
    });
    elbMock.on(DescribeTargetHealthCommand).callsFake(() => {
      const answer = {
        TargetHealthDescriptions: [...state].map(([Id, State]) => ({
          Target: { Id, Port: 8080 },
          TargetHealth: {
            State,
            Reason:
              State === 'unhealthy'
                ? 'Target.ResponseCodeMismatch'
                : State === 'unused'
                  ? 'Target.NotRegistered'
                  : undefined,
          },
        })),
      };
      // Each describe moves a draining target to unused, and a new one to healthy (or unhealthy).
      for (const [id, s] of state) {
        if (s === 'draining') state.set(id, 'unused');
        if (s === 'initial') state.set(id, unhealthyVersion?.() ? 'unhealthy' : 'healthy');
      }
      return answer;
    });
    elbMock.on(DeregisterTargetsCommand).callsFake((input: { Targets: Array<{ Id: string }> }) => {
      for (const t of input.Targets) state.set(t.Id, 'draining');
      events.push(`deregister ${input.Targets[0]?.Id}`);
      return {};
    });
    elbMock.on(RegisterTargetsCommand).callsFake((input: { Targets: Array<{ Id: string }> }) => {
      for (const t of input.Targets) state.set(t.Id, 'initial');
      events.push(`register ${input.Targets[0]?.Id}`);
      return {};
    });
    return state;
  }

  it('drains each instance from the target group, deploys, registers it back and waits until healthy', async () => {
    const fleet = ids(2);
    const events: string[] = [];
    const state = fakeTargetGroup(fleet, events);
    const recordSend: Behaviour = (run) => {
      events.push(`${run.mode} ${run.version} on ${run.instanceId}`);
      return healthy(run);
    };
    fakeFleet(ssmMock, fleet, { [fleet[0]!]: recordSend, [fleet[1]!]: recordSend });
    const { deps: d } = deps();
    const result = await deploy(
      d,
      inputs({
        'ecr-repository': 'challenge-app',
        'aws-region': 'eu-west-1',
        'source-tag': 'main-abc',
        'instance-ids': fleet.join(','),
        'target-group-arn': TARGET_GROUP,
      }),
    );
    expect(result.failure).toBeUndefined();
    expect(events).toEqual([
      `deregister ${fleet[0]}`,
      `deploy v8 on ${fleet[0]}`,
      `register ${fleet[0]}`,
      `deregister ${fleet[1]}`,
      `deploy v8 on ${fleet[1]}`,
      `register ${fleet[1]}`,
    ]);
    expect(elbMock).toHaveReceivedCommandWith(RegisterTargetsCommand, {
      TargetGroupArn: TARGET_GROUP,
      Targets: [{ Id: fleet[0], Port: 8080, AvailabilityZone: undefined }],
    });
    expect([...state.values()]).toEqual(['healthy', 'healthy']);
  });

  it('fails an instance the target group calls unhealthy and rolls it back', async () => {
    const fleet = ids(2);
    const events: string[] = [];
    const running = fakeFleet(ssmMock, fleet);
    fakeTargetGroup(fleet, events, () => running.running.get(fleet[0]!)?.version === 'v8');
    const { deps: d } = deps();
    const result = await deploy(
      d,
      inputs({
        'ecr-repository': 'challenge-app',
        'aws-region': 'eu-west-1',
        'source-tag': 'main-abc',
        'instance-ids': fleet.join(','),
        'target-group-arn': TARGET_GROUP,
      }),
    );
    expect(result.failure).toContain(
      `${fleet[0]}: v8 is healthy on the instance, but the target group reports it unhealthy (Target.ResponseCodeMismatch) after 300 s; then rolled back to v7 (healthy)`,
    );
    expect(result.outputs).toMatchObject({ 'failed-instances': fleet[0], 'rolled-back': 'true' });
    expect(running.running.get(fleet[0]!)?.version).toBe('v7');
    expect(running.runs.map((r) => r.instanceId)).not.toContain(fleet[1]);
  });

  it('stops before any change when the target group does not use the instances (Target.NotInUse)', async () => {
    const fleet = ids(2);
    const running = fakeFleet(ssmMock, fleet);
    elbMock.on(DescribeTargetHealthCommand).resolves({
      TargetHealthDescriptions: fleet.map((Id) => ({
        Target: { Id, Port: 8080 },
        TargetHealth: { State: 'unused', Reason: 'Target.NotInUse' },
      })),
    });
    const { deps: d } = deps();
    await expect(
      deploy(
        d,
        inputs({
          'ecr-repository': 'challenge-app',
          'aws-region': 'eu-west-1',
          'source-tag': 'main-abc',
          'instance-ids': fleet.join(','),
          'target-group-arn': TARGET_GROUP,
        }),
      ),
    ).rejects.toThrow(/is not in use for .* \(ELBv2 reports Target.NotInUse\)/);
    expect(ecrMock).not.toHaveReceivedCommand(PutImageCommand);
    expect(ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
    expect(elbMock).not.toHaveReceivedCommand(DeregisterTargetsCommand);
    expect(running.runs).toEqual([]);
  });

  it('refuses a compose-file too large for one SSM command before any AWS call, naming the limit', async () => {
    const fleet = ids(2);
    fakeFleet(ssmMock, fleet);
    const { deps: d } = deps();
    const base = {
      'ecr-repository': 'challenge-app',
      'aws-region': 'eu-west-1',
      'source-tag': 'main-abc',
      'instance-ids': fleet.join(','),
      'compose-file': 'deploy/compose.yml',
    };
    const files: string[] = [];
    const big = (path: string) => {
      files.push(path);
      return new TextEncoder().encode(`# ${'x'.repeat(60_000)}\n`);
    };
    await expect(deploy({ ...d, readWorkspaceFile: big }, inputs(base))).rejects.toThrow(
      /^Input compose-file: deploy\/compose.yml is 60003 bytes; .* one SSM command of 65536 bytes \(64 KiB\)/,
    );
    expect(files).toEqual(['deploy/compose.yml']);
    expect(ssmMock.calls()).toHaveLength(0);
    expect(ecrMock.calls()).toHaveLength(0);
    const missing = () => {
      throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
    };
    await expect(deploy({ ...d, readWorkspaceFile: missing }, inputs(base))).rejects.toThrow(
      'Input compose-file: cannot read deploy/compose.yml (ENOENT).',
    );
    expect(ssmMock.calls()).toHaveLength(0);
  });

  it('sends the compose file and env with the deploy and prints no env value in a dry run', async () => {
    const fleet = ids(1);
    fakeFleet(ssmMock, fleet);
    const { deps: d } = deps();
    const compose = 'services:\n  app:\n    image: ${IMAGE}\n';
    const result = await deploy(
      { ...d, readWorkspaceFile: () => new TextEncoder().encode(compose) },
      inputs({
        'ecr-repository': 'challenge-app',
        'aws-region': 'eu-west-1',
        'source-tag': 'main-abc',
        'instance-ids': fleet.join(','),
        'compose-file': 'compose.yml',
        env: 'API_TOKEN=very-secret-token\nLOG_LEVEL=debug',
        'dry-run': 'true',
      }),
    );
    expect(result.failure).toBeUndefined();
    const printed = [...d.log.lines, ...d.log.groups.map((g) => g.body), result.summary].join('\n');
    expect(printed).toContain("readonly COMPOSE_CONTENT='services:");
    expect(printed).toContain("API_TOKEN='\\''(hidden)'\\''");
    expect(printed).not.toContain('very-secret-token');
    expect(printed).not.toContain('debug');
  });

  describe('with release-parameter', () => {
    const RUN = { commit: 'abc123', run: 'https://github.com/o/r/actions/runs/42' };
    const values = (fleet: string[]) => ({
      'ecr-repository': 'challenge-app',
      'aws-region': 'eu-west-1',
      'source-tag': 'main-abc',
      'instance-ids': fleet.join(','),
      'release-parameter': '/challenge-app/production/release',
    });

    it('records the release after every instance runs it healthy', async () => {
      const fleet = ids(2);
      const running = fakeFleet(ssmMock, fleet);
      ssmMock.on(PutParameterCommand).callsFake(() => {
        // Written only once the whole fleet runs the new version.
        expect([...running.running.values()].every((r) => r.version === 'v8')).toBe(true);
        return { Version: 1 };
      });
      const { deps: d } = deps();
      const result = await deploy({ ...d, run: RUN }, inputs(values(fleet)));
      expect(result.failure).toBeUndefined();
      const put = ssmMock.commandCalls(PutParameterCommand);
      expect(put).toHaveLength(1);
      expect(put[0]?.args[0].input).toMatchObject({
        Name: '/challenge-app/production/release',
        Overwrite: true,
      });
      expect(JSON.parse(put[0]?.args[0].input.Value ?? '')).toEqual({
        version: 'v8',
        image: `${REPOSITORY_URI}:v8`,
        digest: DIGEST,
        ...RUN,
      });
    });

    it('leaves the release alone when the deploy fails, and in a dry run', async () => {
      const fleet = ids(3);
      fakeFleet(ssmMock, fleet, { [fleet[1]!]: unhealthyNewVersion });
      const { deps: d } = deps();
      const failed = await deploy({ ...d, run: RUN }, inputs(values(fleet)));
      expect(failed.failure).toBeDefined();
      await deploy({ ...d, run: RUN }, inputs({ ...values(fleet), 'dry-run': 'true' }));
      expect(ssmMock).not.toHaveReceivedCommand(PutParameterCommand);
    });

    it('fails the job, saying what runs where, when the release cannot be recorded', async () => {
      const fleet = ids(2);
      fakeFleet(ssmMock, fleet);
      ssmMock.on(PutParameterCommand).rejects(
        Object.assign(new Error('not authorized to perform: ssm:PutParameter'), {
          name: 'AccessDeniedException',
        }),
      );
      const { deps: d } = deps();
      const result = await deploy({ ...d, run: RUN }, inputs(values(fleet)));
      expect(result.failure).toBe(
        'v8 runs healthy on every instance, but recording it in the SSM parameter /challenge-app/production/release failed (AccessDeniedException: not authorized to perform: ssm:PutParameter): instances launched from now on would start the previous release. Re-run the job, or put the release there by hand.',
      );
      expect(result.outputs['deployed-instances']).toBe(fleet.join(','));
      expect(result.summary).toContain('recording it in the SSM parameter');
    });
  });
});

describe('hooks and the rollout journal, as the deploy wires them', () => {
  const base = {
    'ecr-repository': 'challenge-app',
    'aws-region': 'eu-west-1',
    'source-tag': 'main-abc',
  };

  it("gives every deploy script the rollout's id, which the post step's restore trusts", async () => {
    const fleet = ids(2);
    fakeFleet(ssmMock, fleet);
    const { deps: d } = deps();
    const result = await deploy(
      { ...d, deployId: 'run-7-1' },
      inputs({ ...base, 'instance-ids': fleet.join(',') }),
    );
    expect(result.failure).toBeUndefined();
    const scripts = ssmMock
      .commandCalls(SendCommandCommand)
      .map((call) => call.args[0].input.Parameters?.commands?.[0] ?? '');
    expect(scripts.length).toBeGreaterThan(0);
    for (const script of scripts) expect(script).toContain("readonly DEPLOY_ID='run-7-1'");
  });

  const context = {
    deployId: 'run-7-1',
    region: 'eu-west-1',
    registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
    image: `${REPOSITORY_URI}:v8`,
    version: 'v8',
    appDir: '/opt/challenge-app',
    commandTimeoutSeconds: 600,
  };

  it('prints in a dry run the argv each deploy command would run, and runs none', async () => {
    const fleet = ids(2);
    fakeFleet(ssmMock, fleet);
    const { deps: d } = deps();
    await deploy(
      d,
      inputs({
        ...base,
        'instance-ids': fleet.join(','),
        'dry-run': 'true',
        'pre-deploy-command': `sh -c 'npm run migrate && echo "$(date)"'`,
      }),
    );
    expect(d.log.lines).toContain(
      `pre-deploy-command would run on ${fleet[0]} in service (the first of the compose file), as argv: ["sh","-c","npm run migrate && echo \\"$(date)\\""]`,
    );
    expect(ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
  });

  it('builds no hooks and no journal when nothing asks for them (today’s behaviour)', () => {
    const { deps: d } = deps();
    expect(
      lifecycleDeps(d, inputs({ ...base, 'instance-ids': ids(1).join(',') }), context),
    ).toEqual({});
  });

  it('builds hooks from the commands, run as argv in the hook mode, and a journal over saveJournal', async () => {
    const fleet = ids(1);
    fakeFleet(ssmMock, fleet, {
      [fleet[0]!]: () => ({
        exitCode: 0,
        result: { outcome: 'hook-succeeded', hookExitCode: '0' },
      }),
    });
    const { deps: d } = deps();
    const saved: string[] = [];
    const lifecycle = lifecycleDeps(
      { ...d, saveJournal: (state) => saved.push(state) },
      inputs({
        ...base,
        'instance-ids': fleet.join(','),
        'pre-deploy-command': "npm run 'db:migrate'",
        'post-deploy-command': 'npm test',
        'compose-service': 'web',
      }),
      { ...context, service: 'web' },
    );
    const run = await lifecycle.hooks?.preDeploy?.(fleet[0]!);
    expect(run).toMatchObject({ phase: 'pre-deploy', ok: true, commandId: 'cmd-1' });
    expect(lifecycle.hooks?.postDeploy).toBeDefined();
    const script =
      ssmMock.commandCalls(SendCommandCommand)[0]?.args[0].input.Parameters?.commands?.[0];
    expect(script).toContain("readonly -a HOOK_ARGS=('npm' 'run' 'db:migrate')");
    expect(script).toContain(`readonly IMAGE='${REPOSITORY_URI}:v8'`);
    lifecycle.journal?.deploying(fleet);
    expect(JSON.parse(saved[0] ?? '{}')).toMatchObject({
      version: 'v8',
      deployId: 'run-7-1',
      rollback: true,
      instances: { [fleet[0]!]: {} },
    });
  });
});
