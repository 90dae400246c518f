import { GetCommandInvocationCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { describe, expect, it } from '@jest/globals';
import { Readable } from 'node:stream';
import { paceRequests, rateLimiter } from '../../action/request-pacing.js';
import { fakeClock } from './fakes.js';

/** A client whose HTTP layer answers at once and records when each request left, by the fake clock. */
function recordingClient(clock: { now(): number }) {
  const sent: Array<{ target: string; at: number }> = [];
  const client = new SSMClient({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIATEST', secretAccessKey: 'test' },
    requestHandler: {
      handle: (request: { headers: Record<string, string> }) => {
        sent.push({ target: request.headers['x-amz-target'] ?? '', at: clock.now() });
        return Promise.resolve({
          response: {
            statusCode: 200,
            headers: { 'content-type': 'application/x-amz-json-1.1' },
            body: Readable.from([Buffer.from('{"Command":{"CommandId":"c-1"}}')]),
          },
        });
      },
    } as never,
  });
  return { client, sent };
}

describe('request pacing', () => {
  it('lets a burst through, then queues each caller until its token arrives', async () => {
    const clock = fakeClock(0);
    const take = rateLimiter({ perSecond: 4, burst: 2 }, clock);
    const started = clock.now();
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      await take();
      times.push(clock.now() - started);
    }
    expect(times).toEqual([0, 0, 250, 500, 750]);
  });

  it('paces each SSM operation on its own, once per call', async () => {
    const clock = fakeClock(0);
    const { client, sent } = recordingClient(clock);
    paceRequests(client, clock, {
      SendCommand: { perSecond: 2, burst: 1 },
      GetCommandInvocation: { perSecond: 1, burst: 3 },
    });
    for (let i = 0; i < 3; i++) {
      await client.send(new SendCommandCommand({ DocumentName: 'AWS-RunShellScript' }));
    }
    const sendTimes = sent.map((s) => s.at);
    for (let i = 0; i < 3; i++) {
      await client.send(new GetCommandInvocationCommand({ CommandId: 'c-1', InstanceId: 'i-1' }));
    }
    expect(sent.map((s) => s.target.replace('AmazonSSM.', ''))).toEqual([
      'SendCommand',
      'SendCommand',
      'SendCommand',
      'GetCommandInvocation',
      'GetCommandInvocation',
      'GetCommandInvocation',
    ]);
    expect(sendTimes).toEqual([0, 500, 1000]);
    // Its own bucket: three at once, whatever SendCommand spent.
    expect(sent.slice(3).map((s) => s.at)).toEqual([1000, 1000, 1000]);
  });
});
