import { CancelCommandCommand, ListCommandsCommand, SSMClient } from '@aws-sdk/client-ssm';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { cancelInFlight } from '../../action/post.js';
import { recordingLogger } from './fakes.js';

const ssmMock = mockClient(SSMClient);
const ssm = new SSMClient({ region: 'eu-west-1' });

beforeEach(() => {
  ssmMock.reset();
});

describe('the post step', () => {
  it('cancels the commands a cancelled job left running, and only those', async () => {
    ssmMock
      .on(ListCommandsCommand, { CommandId: 'running' })
      .resolves({ Commands: [{ CommandId: 'running', Status: 'InProgress' }] })
      .on(ListCommandsCommand, { CommandId: 'finished' })
      .resolves({ Commands: [{ CommandId: 'finished', Status: 'Success' }] });
    ssmMock.on(CancelCommandCommand).resolves({});
    const log = recordingLogger();
    const cancelled = await cancelInFlight(ssm, ['running', 'finished'], log);
    expect(cancelled).toEqual(['running']);
    expect(ssmMock).toHaveReceivedCommandTimes(CancelCommandCommand, 1);
    expect(ssmMock).toHaveReceivedCommandWith(CancelCommandCommand, { CommandId: 'running' });
    expect(log.lines.join('\n')).toContain('Cancelled SSM command running (InProgress)');
  });

  it('keeps going when one cancel fails', async () => {
    ssmMock.on(ListCommandsCommand).resolves({ Commands: [{ Status: 'Pending' }] });
    ssmMock.on(CancelCommandCommand).rejectsOnce(new Error('AccessDenied')).resolves({});
    const log = recordingLogger();
    expect(await cancelInFlight(ssm, ['a', 'b'], log)).toEqual(['b']);
    expect(log.lines).toContain('warning: Could not cancel SSM command a: AccessDenied');
  });
});
