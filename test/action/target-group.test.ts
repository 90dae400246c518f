import {
  DeregisterTargetsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  type TargetHealthReasonEnum,
  type TargetHealthStateEnum,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { checkTargetGroup, drain, registerHealthy } from '../../action/target-group.js';
import { fakeClock, recordingLogger } from './fakes.js';

const elbMock = mockClient(ElasticLoadBalancingV2Client);
const elb = new ElasticLoadBalancingV2Client({ region: 'eu-west-1' });
const ARN = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/app/0123456789abcdef';
const ID = 'i-0123456789abcdef0';

beforeEach(() => {
  elbMock.reset();
});

function health(State: TargetHealthStateEnum, Port = 8080, Reason?: TargetHealthReasonEnum) {
  return {
    TargetHealthDescriptions: [{ Target: { Id: ID, Port }, TargetHealth: { State, Reason } }],
  };
}

describe('the target group', () => {
  it('deregisters every port of the instance and waits until it is drained', async () => {
    elbMock
      .on(DescribeTargetHealthCommand)
      .resolvesOnce(health('healthy'))
      .resolvesOnce(health('draining'))
      .resolvesOnce(health('draining'))
      .resolves({ TargetHealthDescriptions: [] });
    const clock = fakeClock();
    const targets = await drain({ elb, clock, log: recordingLogger() }, ARN, ID, 600_000);
    expect(targets).toEqual([{ Id: ID, Port: 8080, AvailabilityZone: undefined }]);
    expect(elbMock).toHaveReceivedCommandWith(DeregisterTargetsCommand, {
      TargetGroupArn: ARN,
      Targets: targets,
    });
    expect(clock.slept).toEqual([5000, 5000]);
  });

  it('gives up draining after the timeout, naming the instance and its state', async () => {
    elbMock
      .on(DescribeTargetHealthCommand)
      .resolvesOnce(health('healthy'))
      .resolves(health('draining'));
    await expect(
      drain({ elb, clock: fakeClock(), log: recordingLogger() }, ARN, ID, 20_000),
    ).rejects.toThrow(`${ID}: still draining in the target group after 20 s of draining.`);
  });

  it('warns about an instance that is not registered and registers it on the default port afterwards', async () => {
    elbMock.on(DescribeTargetHealthCommand).resolves({ TargetHealthDescriptions: [] });
    const log = recordingLogger();
    expect(await drain({ elb, clock: fakeClock(), log }, ARN, ID, 600_000)).toEqual([{ Id: ID }]);
    expect(elbMock).not.toHaveReceivedCommand(DeregisterTargetsCommand);
    expect(log.lines[0]).toMatch(/not registered in the target group/);
  });

  it('registers the instance back and waits until it is healthy', async () => {
    elbMock
      .on(DescribeTargetHealthCommand)
      .resolvesOnce(health('initial'))
      .resolves(health('healthy'));
    const result = await registerHealthy(
      { elb, clock: fakeClock(), log: recordingLogger() },
      ARN,
      [{ Id: ID, Port: 8080 }],
      300_000,
    );
    expect(result).toEqual({ healthy: true });
    expect(elbMock).toHaveReceivedCommandWith(RegisterTargetsCommand, {
      TargetGroupArn: ARN,
      Targets: [{ Id: ID, Port: 8080 }],
    });
  });

  it('reports the last unhealthy reason when the instance never becomes healthy', async () => {
    elbMock.on(DescribeTargetHealthCommand).resolves({
      TargetHealthDescriptions: [
        {
          Target: { Id: ID, Port: 8080 },
          TargetHealth: { State: 'unhealthy', Reason: 'Target.Timeout' },
        },
      ],
    });
    const result = await registerHealthy(
      { elb, clock: fakeClock(), log: recordingLogger() },
      ARN,
      [{ Id: ID, Port: 8080 }],
      30_000,
    );
    expect(result).toEqual({ healthy: false, reason: 'unhealthy (Target.Timeout)' });
  });

  it('keeps the port of a registered target that ELBv2 reports unused for another reason than Target.NotRegistered', async () => {
    elbMock
      .on(DescribeTargetHealthCommand)
      .resolvesOnce(health('unused', 8081, 'Target.InvalidState'))
      .resolves(health('unused', 8081, 'Target.NotRegistered'));
    const targets = await drain(
      { elb, clock: fakeClock(), log: recordingLogger() },
      ARN,
      ID,
      600_000,
    );
    expect(targets).toEqual([{ Id: ID, Port: 8081, AvailabilityZone: undefined }]);
    expect(elbMock).toHaveReceivedCommandWith(DeregisterTargetsCommand, { Targets: targets });
  });

  it('refuses to drain a target the target group does not use (Target.NotInUse), keeping it registered', async () => {
    elbMock.on(DescribeTargetHealthCommand).resolves(health('unused', 8080, 'Target.NotInUse'));
    await expect(
      drain({ elb, clock: fakeClock(), log: recordingLogger() }, ARN, ID, 600_000),
    ).rejects.toThrow(`${ID}: the target group reports it unused (Target.NotInUse)`);
    expect(elbMock).not.toHaveReceivedCommand(DeregisterTargetsCommand);
  });

  it('registers a target back on its port even when it was already draining', async () => {
    elbMock
      .on(DescribeTargetHealthCommand)
      .resolvesOnce(health('draining', 9000, 'Target.DeregistrationInProgress'))
      .resolves({ TargetHealthDescriptions: [] });
    const targets = await drain(
      { elb, clock: fakeClock(), log: recordingLogger() },
      ARN,
      ID,
      600_000,
    );
    expect(targets).toEqual([{ Id: ID, Port: 9000, AvailabilityZone: undefined }]);
  });

  it('stops waiting for healthy at once when the target group does not use the target', async () => {
    elbMock.on(DescribeTargetHealthCommand).resolves(health('unused', 8080, 'Target.NotInUse'));
    const clock = fakeClock();
    const result = await registerHealthy(
      { elb, clock, log: recordingLogger() },
      ARN,
      [{ Id: ID, Port: 8080 }],
      300_000,
    );
    expect(result).toEqual({ healthy: false, reason: 'unused (Target.NotInUse)' });
    expect(clock.slept).toEqual([]);
  });
});

describe('the target group preflight', () => {
  it('stops the deploy before anything changes when ELBv2 reports Target.NotInUse, and says why', async () => {
    elbMock.on(DescribeTargetHealthCommand).resolves(health('unused', 8080, 'Target.NotInUse'));
    elbMock.on(DescribeTargetGroupAttributesCommand).resolves({ Attributes: [] });
    await expect(
      checkTargetGroup({ elb, clock: fakeClock(), log: recordingLogger() }, ARN, [ID]),
    ).rejects.toThrow(
      `Target group ${ARN} is not in use for ${ID} (ELBv2 reports Target.NotInUse): the target group has no load balancer`,
    );
    expect(elbMock).not.toHaveReceivedCommand(DeregisterTargetsCommand);
  });

  it.each([
    ['3600', 3_660_000],
    ['0', 60_000],
    [undefined, 360_000],
  ])(
    'allows a drain the deregistration delay (%s s) plus a minute',
    async (delay, drainTimeoutMs) => {
      elbMock.on(DescribeTargetHealthCommand).resolves(health('healthy'));
      elbMock.on(DescribeTargetGroupAttributesCommand).resolves({
        Attributes:
          delay === undefined
            ? []
            : [{ Key: 'deregistration_delay.timeout_seconds', Value: delay }],
      });
      const log = recordingLogger();
      const check = await checkTargetGroup({ elb, clock: fakeClock(), log }, ARN, [ID]);
      expect(check.drainTimeoutMs).toBe(drainTimeoutMs);
      expect(log.lines.join('\n')).toContain(
        `https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#TargetGroup:targetGroupArn=${ARN}`,
      );
    },
  );
});
