import {
  DeregisterTargetsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { drain, registerHealthy } from '../../action/target-group.js';
import { fakeClock, recordingLogger } from './fakes.js';

const elbMock = mockClient(ElasticLoadBalancingV2Client);
const elb = new ElasticLoadBalancingV2Client({ region: 'eu-west-1' });
const ARN = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/app/0123456789abcdef';
const ID = 'i-0123456789abcdef0';

beforeEach(() => {
  elbMock.reset();
});

function health(State: 'healthy' | 'draining' | 'unused' | 'unhealthy' | 'initial', Port = 8080) {
  return { TargetHealthDescriptions: [{ Target: { Id: ID, Port }, TargetHealth: { State } }] };
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
});
