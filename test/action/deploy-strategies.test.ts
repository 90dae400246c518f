// deploy() with the rollout-strategy inputs: the dry-run plan, the outputs, the annotations.
import {
  BatchGetImageCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  PutImageCommand,
} from '@aws-sdk/client-ecr';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { deploy } from '../../action/deploy.js';
import { parseInputs } from '../../action/inputs.js';
import { fakeClock, fakeFleet, ids, recordingLogger, REPOSITORY_URI } from './fakes.js';

const ecrMock = mockClient(ECRClient);
const ssmMock = mockClient(SSMClient);
const region = { region: 'eu-west-1' };
const DIGEST = `sha256:${'9'.repeat(64)}`;

beforeEach(() => {
  ecrMock.reset();
  ssmMock.reset();
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
});
