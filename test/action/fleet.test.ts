import { DescribeInstanceInformationCommand, SSMClient } from '@aws-sdk/client-ssm';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { resolveFleet } from '../../action/fleet.js';
import { ids } from './fakes.js';

const ssmMock = mockClient(SSMClient);
const ssm = new SSMClient({ region: 'eu-west-1' });

beforeEach(() => {
  ssmMock.reset();
});

const online = (id: string) => ({
  InstanceId: id,
  PingStatus: 'Online' as const,
  PlatformType: 'Linux' as const,
});

describe('the fleet', () => {
  it('resolves a tag to every managed instance that carries it, across pages', async () => {
    const fleet = ids(3);
    ssmMock
      .on(DescribeInstanceInformationCommand)
      .resolvesOnce({
        InstanceInformationList: [online(fleet[2]!), online(fleet[0]!)],
        NextToken: 't',
      })
      .resolvesOnce({ InstanceInformationList: [online(fleet[1]!)] });
    const resolved = await resolveFleet(ssm, { kind: 'tag', key: 'App', value: 'challenge-app' });
    expect(resolved.map((i) => i.instanceId)).toEqual(fleet);
    expect(ssmMock).toHaveReceivedNthCommandWith(1, DescribeInstanceInformationCommand, {
      Filters: [{ Key: 'tag:App', Values: ['challenge-app'] }],
    });
    expect(ssmMock).toHaveReceivedNthCommandWith(2, DescribeInstanceInformationCommand, {
      NextToken: 't',
    });
  });

  it('names a tag that matches no instance', async () => {
    ssmMock.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
    await expect(resolveFleet(ssm, { kind: 'tag', key: 'App', value: 'x' })).rejects.toThrow(
      'No SSM-managed instance carries the tag App=x',
    );
  });

  it('asks for listed ids 50 at a time', async () => {
    const fleet = ids(120);
    ssmMock
      .on(DescribeInstanceInformationCommand)
      .callsFake((input: { Filters: Array<{ Values: string[] }> }) => ({
        InstanceInformationList: input.Filters[0]!.Values.map(online),
      }));
    const resolved = await resolveFleet(ssm, { kind: 'ids', instanceIds: fleet });
    expect(resolved).toHaveLength(120);
    expect(ssmMock).toHaveReceivedCommandTimes(DescribeInstanceInformationCommand, 3);
  });

  it('fails preflight naming every instance that is offline, unmanaged or not Linux', async () => {
    const fleet = ids(4);
    ssmMock.on(DescribeInstanceInformationCommand).resolves({
      InstanceInformationList: [
        online(fleet[0]!),
        { InstanceId: fleet[1], PingStatus: 'ConnectionLost', PlatformType: 'Linux' },
        { InstanceId: fleet[3], PingStatus: 'Online', PlatformType: 'Windows' },
      ],
    });
    const error = await resolveFleet(ssm, { kind: 'ids', instanceIds: fleet }).catch(
      (e: Error) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe(
      [
        'Preflight failed, nothing was changed: 3 of 4 instances cannot run the deploy.',
        `${fleet[1]}: SSM ping status ConnectionLost`,
        `${fleet[2]}: not managed by SSM in this region (no agent, no instance role, or wrong region)`,
        `${fleet[3]}: platform Windows, but the deploy script needs Linux`,
      ].join('\n'),
    );
  });
});
