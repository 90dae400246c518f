// The end-to-end suite's fake AWS endpoint checks what the real SDK clients serialise against
// botocore's official models (no root needed, so it runs in `npm test` too): valid requests go
// through to the handlers, malformed ones get the service's own error and are recorded.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  ListImagesCommand,
} from '@aws-sdk/client-ecr';
import {
  DescribeTargetGroupAttributesCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { startFakeAws, type FakeAws } from '../../e2e/fake-aws/server.js';
import { fakeAwsServices } from '../../e2e/fake-aws/services.js';

const region = 'eu-west-1';
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
const ARN = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/app/0123456789abcdef';

describe('fake AWS endpoint: requests checked against the service models', () => {
  let aws: FakeAws;
  const handled: string[] = [];
  const json = (name: string) => () => {
    handled.push(name);
    return name === 'SendCommand' ? { Command: { CommandId: 'x' } } : {};
  };
  const xml = (name: string) => () => {
    handled.push(name);
    return '';
  };

  beforeAll(async () => {
    aws = await startFakeAws(
      fakeAwsServices({
        ecr: {
          DescribeImages: json('DescribeImages'),
          DescribeRepositories: json('DescribeRepositories'),
          ListImages: json('ListImages'),
        },
        ssm: {
          SendCommand: json('SendCommand'),
          ListCommands: json('ListCommands'),
          // A fake that answers what SSM never would: Status 'Running' is not a CommandStatus.
          ListCommandInvocations: () => ({ CommandInvocations: [{ Status: 'Running' }] }),
        },
        elbv2: {
          DescribeTargetHealth: xml('DescribeTargetHealth'),
          DescribeTargetGroupAttributes: xml('DescribeTargetGroupAttributes'),
          RegisterTargets: xml('RegisterTargets'),
        },
      }),
      { host: '127.0.0.1', region },
    );
  });
  afterAll(() => aws.close());

  const clients = () => {
    const config = { region, endpoint: aws.url, credentials, maxAttempts: 1 };
    return {
      ecr: new ECRClient(config),
      ssm: new SSMClient(config),
      elb: new ElasticLoadBalancingV2Client(config),
    };
  };

  it('passes valid SDK requests of all three services to the handlers', async () => {
    const { ecr, ssm, elb } = clients();
    await ecr.send(
      new DescribeImagesCommand({
        repositoryName: 'team/my__app',
        filter: { tagStatus: 'TAGGED', imageStatus: 'ANY' },
      }),
    );
    await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['my--app'] }));
    await ecr.send(new ListImagesCommand({ repositoryName: 'app', maxResults: 1000 }));
    await ssm.send(
      new SendCommandCommand({
        DocumentName: 'AWS-RunShellScript',
        InstanceIds: ['i-0e2e0000000000001'],
        Parameters: { commands: ['true'] },
        TimeoutSeconds: 60,
      }),
    );
    await ssm.send(
      new ListCommandsCommand({
        Filters: [{ key: 'InvokedAfter', value: '2026-01-01T00:00:00Z' }],
        MaxResults: 50,
      }),
    );
    await elb.send(
      new DescribeTargetHealthCommand({
        TargetGroupArn: ARN,
        Targets: [{ Id: 'i-0e2e0000000000001', Port: 80 }],
      }),
    );
    await elb.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: ARN }));
    await elb.send(new RegisterTargetsCommand({ TargetGroupArn: ARN, Targets: [{ Id: 'i-1' }] }));
    expect(aws.violations).toEqual([]);
    expect(handled).toHaveLength(8);
  });

  it("answers malformed SDK requests with each service's error, records them, and never runs the handler", async () => {
    const { ecr, ssm, elb } = clients();
    const before = handled.length;
    await expect(
      ecr.send(new DescribeImagesCommand({ repositoryName: 'My_App' })),
    ).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: expect.stringContaining("at 'repositoryName' failed to satisfy constraint"),
    });
    await expect(
      ssm.send(
        new SendCommandCommand({
          DocumentName: 'AWS-RunShellScript',
          InstanceIds: ['i-0e2e000000000001'],
          Parameters: { commands: ['true'] },
        }),
      ),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringMatching(
        /^1 validation error detected: Value 'i-0e2e000000000001' at 'instanceIds\.1\.member'/,
      ),
    });
    await expect(
      ssm.send(new ListCommandsCommand({ Filters: [{ key: 'Comment' as never, value: 'x' }] })),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(
      elb.send(
        new DescribeTargetHealthCommand({ TargetGroupArn: ARN, Targets: [{ Id: 'i-1', Port: 0 }] }),
      ),
    ).rejects.toMatchObject({
      name: 'ValidationError',
      message: expect.stringContaining("at 'targets.1.member.port'"),
    });
    expect(handled.length).toBe(before);
    expect(aws.violations.map((v) => `${v.service} ${v.operation}`)).toEqual([
      'ecr DescribeImages',
      'ssm SendCommand',
      'ssm ListCommands',
      'elasticloadbalancing DescribeTargetHealth',
    ]);
  });

  it('refuses to send an answer the model does not allow either, and records it', async () => {
    const { ssm } = clients();
    const before = aws.violations.length;
    await expect(ssm.send(new ListCommandInvocationsCommand({}))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 500 },
    });
    expect(aws.violations.slice(before).map((v) => [v.caller, v.operation])).toEqual([
      ['the fake endpoint (its answer)', 'ListCommandInvocations'],
    ]);
  });

  it('answers a value of the wrong JSON type with SerializationException', async () => {
    const { ecr } = clients();
    await expect(
      ecr.send(new ListImagesCommand({ repositoryName: 'app', maxResults: '10' as never })),
    ).rejects.toMatchObject({ name: 'SerializationException' });
  });
});
