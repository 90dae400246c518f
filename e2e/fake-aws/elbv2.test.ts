// The fake ELBv2 target group answers the real SDK client and drives haproxy's runtime API.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  DeregisterTargetsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { targetGroupOperations, type HaproxyRuntime } from './elbv2.js';
import { startFakeAws, type FakeAws } from './server.js';
import { fakeAwsServices } from './services.js';

const region = 'eu-west-1';
const arn = `arn:aws:elasticloadbalancing:${region}:123456789012:targetgroup/app/0123456789abcdef`;

/** haproxy's runtime API as far as the target group uses it. */
class FakeHaproxy implements HaproxyRuntime {
  readonly commands: string[] = [];
  readonly states: Record<string, string> = {
    'i-00000000000000001': 'UP',
    'i-00000000000000002': 'UP',
  };
  command(line: string): Promise<string> {
    this.commands.push(line);
    const [, server = '', state = ''] = /^set server fleet\/(\S+) state (\S+)$/.exec(line) ?? [];
    if (server)
      this.states[server] = { drain: 'DRAIN', maint: 'MAINT', ready: 'DOWN' }[state] ?? '';
    return Promise.resolve('');
  }
  serverStates(): Promise<Record<string, string>> {
    return Promise.resolve({ ...this.states });
  }
}

describe('fake ELBv2 target group on haproxy', () => {
  const haproxy = new FakeHaproxy();
  const group = targetGroupOperations(haproxy, arn, ['i-00000000000000001', 'i-00000000000000002']);
  let aws: FakeAws;
  let elb: ElasticLoadBalancingV2Client;

  beforeAll(async () => {
    group.deregistrationDelayMs = 200;
    aws = await startFakeAws(fakeAwsServices({ elbv2: group.operations }), {
      host: '127.0.0.1',
      region,
    });
    elb = new ElasticLoadBalancingV2Client({
      region,
      endpoint: aws.url,
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      maxAttempts: 1,
    });
  });

  afterAll(() => aws.close());

  const health = async (): Promise<Array<[string | undefined, string | undefined]>> =>
    (
      (await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn })))
        .TargetHealthDescriptions ?? []
    ).map((d) => [d.Target?.Id, d.TargetHealth?.State]);

  it('reports haproxy health, drains on deregistration and forgets the target after the delay', async () => {
    expect(await health()).toEqual([
      ['i-00000000000000001', 'healthy'],
      ['i-00000000000000002', 'healthy'],
    ]);
    await elb.send(
      new DeregisterTargetsCommand({
        TargetGroupArn: arn,
        Targets: [{ Id: 'i-00000000000000001', Port: 80 }],
      }),
    );
    expect(haproxy.commands).toEqual(['set server fleet/i-00000000000000001 state drain']);
    expect(await health()).toContainEqual(['i-00000000000000001', 'draining']);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(await health()).toEqual([['i-00000000000000002', 'healthy']]);
    expect(haproxy.commands).toContain('set server fleet/i-00000000000000001 state maint');
  });

  it('registers back: initial until haproxy sees the server UP', async () => {
    await elb.send(
      new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: 'i-00000000000000001' }] }),
    );
    expect(await health()).toContainEqual(['i-00000000000000001', 'initial']);
    haproxy.states['i-00000000000000001'] = 'UP';
    expect(await health()).toContainEqual(['i-00000000000000001', 'healthy']);
    expect(group.history).toEqual([
      'i-00000000000000001: draining',
      'i-00000000000000001: unused',
      'i-00000000000000001: registered',
    ]);
  });

  it('reports registered targets unused with Target.NotInUse when no load balancer uses the group or their zone is disabled; Target.NotRegistered stays distinct', async () => {
    const reasons = async (targets?: Array<{ Id: string }>) =>
      (
        (await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn, Targets: targets })))
          .TargetHealthDescriptions ?? []
      ).map((d) => [d.Target?.Id, d.TargetHealth?.State, d.TargetHealth?.Reason]);
    group.inDisabledZone.add('i-00000000000000002');
    try {
      expect(await reasons()).toEqual([
        ['i-00000000000000001', 'healthy', undefined],
        ['i-00000000000000002', 'unused', 'Target.NotInUse'],
      ]);
    } finally {
      group.inDisabledZone.clear();
    }
    await elb.send(
      new DeregisterTargetsCommand({
        TargetGroupArn: arn,
        Targets: [{ Id: 'i-00000000000000002' }],
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 250));
    group.hasLoadBalancer = false;
    try {
      // Registered: listed and NotInUse; deregistered: NotRegistered, and only when asked for.
      expect(await reasons()).toEqual([['i-00000000000000001', 'unused', 'Target.NotInUse']]);
      expect(await reasons([{ Id: 'i-00000000000000002' }])).toEqual([
        ['i-00000000000000002', 'unused', 'Target.NotRegistered'],
      ]);
    } finally {
      group.hasLoadBalancer = true;
    }
  });

  it('keeps the port a target was registered on', async () => {
    await elb.send(
      new RegisterTargetsCommand({
        TargetGroupArn: arn,
        Targets: [{ Id: 'i-00000000000000002', Port: 8080 }],
      }),
    );
    const described = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }));
    expect(described.TargetHealthDescriptions?.map((d) => [d.Target?.Id, d.Target?.Port])).toEqual([
      ['i-00000000000000001', 80],
      ['i-00000000000000002', 8080],
    ]);
  });

  it('describes its attributes, the deregistration delay among them', async () => {
    const { Attributes } = await elb.send(
      new DescribeTargetGroupAttributesCommand({ TargetGroupArn: arn }),
    );
    expect(Attributes).toContainEqual({ Key: 'deregistration_delay.timeout_seconds', Value: '0' });
    group.deregistrationDelayMs = 3_600_000;
    const later = await elb.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: arn }));
    group.deregistrationDelayMs = 200;
    expect(later.Attributes).toContainEqual({
      Key: 'deregistration_delay.timeout_seconds',
      Value: '3600',
    });
    expect(aws.violations).toEqual([]);
  });

  it('answers an unknown target group the way ELBv2 does', async () => {
    await expect(
      elb.send(
        new DescribeTargetHealthCommand({
          TargetGroupArn: arn.replace('0123456789abcdef', 'fedcba9876543210'),
        }),
      ),
    ).rejects.toMatchObject({ name: 'TargetGroupNotFoundException' });
  });
});
