// deploy() with the rollout-strategy inputs: the dry-run plan, the outputs, the annotations.
import {
  BatchGetImageCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  PutImageCommand,
} from '@aws-sdk/client-ecr';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { deploy } from '../../action/deploy.js';
import { parseInputs } from '../../action/inputs.js';
import {
  fakeClock,
  fakeFleet,
  ids,
  recordingLogger,
  REPOSITORY_URI,
  unhealthyNewVersion,
} from './fakes.js';

const ecrMock = mockClient(ECRClient);
const ssmMock = mockClient(SSMClient);
const cwMock = mockClient(CloudWatchClient);
const region = { region: 'eu-west-1' };
const DIGEST = `sha256:${'9'.repeat(64)}`;

beforeEach(() => {
  ecrMock.reset();
  ssmMock.reset();
  cwMock.reset();
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

const BASE = {
  'ecr-repository': 'challenge-app',
  'aws-region': 'eu-west-1',
  'source-tag': 'main-abc',
};

function inputs(values: Record<string, string>) {
  const all: Record<string, string> = { ...BASE, ...values };
  return parseInputs((name) => all[name] ?? '', {});
}

function deps() {
  return {
    ecr: new ECRClient(region),
    ssm: new SSMClient(region),
    elb: new ElasticLoadBalancingV2Client(region),
    cloudwatch: new CloudWatchClient(region),
    docker: () => Promise.resolve({ exitCode: 0, stdout: '', stderr: '' }),
    clock: fakeClock(),
    log: recordingLogger(),
    mask: () => undefined,
  };
}

describe('a deploy with rollout strategies', () => {
  it('dry run: prints each batch with the rule that sized it, canary first', async () => {
    const fleet = ids(3);
    fakeFleet(ssmMock, fleet);
    const d = deps();
    const result = await deploy(
      d,
      inputs({
        'instance-ids': fleet.join(','),
        canary: '1',
        'max-parallel': '50%',
        'dry-run': 'true',
      }),
    );
    expect(ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
    expect(result.summary).toContain(`  1. ${fleet[0]}   (1: canary \`1\`)`);
    expect(result.summary).toContain(
      `  2. ${fleet[1]}   (1: max-parallel \`50%\` of 3 → 1, rounded down)`,
    );
    expect(result.summary).toContain(
      `  3. ${fleet[2]}   (1: max-parallel \`50%\` of 3 → 1, rounded down)`,
    );
  });

  it('dry run: says how long each bake is, which alarms gate it and how many instances may fail', async () => {
    const fleet = ids(10);
    fakeFleet(ssmMock, fleet);
    const result = await deploy(
      deps(),
      inputs({
        'instance-ids': fleet.join(','),
        'bake-time': '120',
        'alarm-names': 'api-5xx,api-latency',
        'max-failures': '15%',
        'dry-run': 'true',
      }),
    );
    expect(cwMock.calls()).toHaveLength(0);
    expect(result.summary).toContain(
      'Bake: 120 s after each batch, then one SSM command re-checks every instance deployed so far.',
    );
    expect(result.summary).toContain(
      'Alarms: api-5xx, api-latency, read before the first batch, during each bake; one in ALARM stops and rolls back.',
    );
    expect(result.summary).toContain(
      'max-failures: `15%` of 10 → 1, rounded down: up to 1 failed instance(s) go back alone and the rollout goes on.',
    );
  });

  it('deploys the canary alone first, then the rest in max-parallel batches', async () => {
    const fleet = ids(5);
    fakeFleet(ssmMock, fleet);
    const result = await deploy(
      deps(),
      inputs({ 'instance-ids': fleet.join(','), canary: '1', 'max-parallel': '2' }),
    );
    expect(result.failure).toBeUndefined();
    expect(
      ssmMock.commandCalls(SendCommandCommand).map((call) => call.args[0].input.InstanceIds),
    ).toEqual([[fleet[0]], [fleet[1], fleet[2]], [fleet[3], fleet[4]]]);
  });

  it('max-failures 1 with one broken instance of three: job green, a warning per failed instance, outputs', async () => {
    const fleet = ids(3);
    fakeFleet(ssmMock, fleet, { [fleet[1]!]: unhealthyNewVersion });
    const d = deps();
    const result = await deploy(
      d,
      inputs({ 'instance-ids': fleet.join(','), 'max-failures': '1' }),
    );
    expect(result.failure).toBeUndefined();
    expect(result.outputs).toMatchObject({
      'deployed-instances': `${fleet[0]},${fleet[2]}`,
      'failed-instances': fleet[1],
      'rolled-back': 'true',
      'previous-version': 'v7',
      'command-ids': 'cmd-1,cmd-2,cmd-3',
    });
    expect(d.log.annotations.filter((a) => a.title?.startsWith('i-'))).toEqual([
      {
        level: 'warning',
        title: `${fleet[1]}: rolled back (within max-failures)`,
        message: `${fleet[1]}: v8 failed its health check after 120 s (HTTP 503); rolled back to v7 (healthy).`,
      },
    ]);
    expect(d.log.lines).toContain('max-failures `1` instance(s).');
  });

  it('without max-failures the same broken instance fails the job, annotated as before', async () => {
    const fleet = ids(3);
    fakeFleet(ssmMock, fleet, { [fleet[1]!]: unhealthyNewVersion });
    const d = deps();
    const result = await deploy(d, inputs({ 'instance-ids': fleet.join(',') }));
    expect(result.failure).toBeDefined();
    expect(d.log.annotations.filter((a) => a.title?.startsWith('i-')).map((a) => a.title)).toEqual([
      `${fleet[0]}: rolled back`,
      `${fleet[1]}: rolled back`,
    ]);
  });

  it('an alarm already in ALARM stops the deploy before the image: no tag written in ECR, no command sent', async () => {
    const fleet = ids(2);
    fakeFleet(ssmMock, fleet);
    cwMock.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [
        { AlarmName: 'api-5xx', StateValue: 'ALARM', StateReason: 'Threshold Crossed' },
      ],
    });
    await expect(
      deploy(
        deps(),
        inputs({ 'instance-ids': fleet.join(','), 'alarm-names': 'api-5xx', 'bake-time': '60' }),
      ),
    ).rejects.toThrow(
      /^CloudWatch alarm "api-5xx" is in ALARM \(Threshold Crossed\) before the deploy: the rollout stopped\. Nothing was changed: no version was tagged and no instance was touched\.$/,
    );
    expect(ecrMock).not.toHaveReceivedCommand(PutImageCommand);
    expect(ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
  });

  it('passes alarm-names to the rollout: an alarm entering ALARM after the image stops it before the first batch', async () => {
    const fleet = ids(2);
    fakeFleet(ssmMock, fleet);
    cwMock
      .on(DescribeAlarmsCommand)
      .resolvesOnce({ MetricAlarms: [{ AlarmName: 'api-5xx', StateValue: 'OK' }] })
      .resolves({
        MetricAlarms: [
          { AlarmName: 'api-5xx', StateValue: 'ALARM', StateReason: 'Threshold Crossed' },
        ],
      });
    const result = await deploy(
      deps(),
      inputs({ 'instance-ids': fleet.join(','), 'alarm-names': 'api-5xx', 'bake-time': '60' }),
    );
    expect(ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
    expect(result.failure).toMatch(
      /^CloudWatch alarm "api-5xx" is in ALARM \(Threshold Crossed\) before the first batch: the rollout stopped\. No instance was changed\./,
    );
    expect(result.outputs).toMatchObject({ 'command-ids': '', 'previous-version': '' });
  });

  it('warns when bake time makes the worst case outlive the AWS session', async () => {
    const fleet = ids(4);
    fakeFleet(ssmMock, fleet);
    const d = deps();
    // 4 batches × (600 s command + 300 s bake + 430 s re-check) = 88.7 min, without rollbacks.
    await deploy(
      { ...d, sessionExpiry: () => Promise.resolve(new Date(d.clock.now() + 80 * 60_000)) },
      inputs({ 'instance-ids': fleet.join(','), 'bake-time': '300', rollback: 'false' }),
    );
    expect(d.log.annotations.map((a) => a.title)).toContain('AWS session may expire mid-deploy');
  });
});
