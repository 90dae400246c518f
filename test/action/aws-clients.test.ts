// The clients against a real HTTP server (node:http speaking the AWS JSON protocol's errors), so
// that the SDK's own retry and user-agent behaviour is what is tested, not a mock of it.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DescribeRepositoriesCommand } from '@aws-sdk/client-ecr';
import { ListCommandsCommand, SendCommandCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ACTION_VERSION, awsClients } from '../../action/aws-clients.js';

const requests: Array<{ target: string; headers: IncomingHttpHeaders }> = [];
let server: Server;
let endpoint: string;

beforeAll(async () => {
  process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE';
  process.env.AWS_SECRET_ACCESS_KEY = 'secret';
  server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      requests.push({ target: String(request.headers['x-amz-target']), headers: request.headers });
      // Every call fails the way a lost or broken answer does: an internal error.
      response.writeHead(500, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(JSON.stringify({ __type: 'InternalServerError', message: 'boom' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  requests.length = 0;
});

describe('the AWS clients', () => {
  it('send SendCommand exactly once when SSM answers 500 (no SDK retry of a non-idempotent call)', async () => {
    const { ssmSend } = awsClients({ region: 'eu-west-1', endpoint });
    await expect(
      ssmSend.send(
        new SendCommandCommand({ DocumentName: 'AWS-RunShellScript', InstanceIds: ['i-12345678'] }),
      ),
    ).rejects.toMatchObject({ name: 'InternalServerError' });
    expect(requests.map((r) => r.target)).toEqual(['AmazonSSM.SendCommand']);
  });

  it('still retry read calls (ListCommands) on a 500', async () => {
    const { ssm } = awsClients({ region: 'eu-west-1', endpoint });
    await expect(ssm.send(new ListCommandsCommand({}))).rejects.toMatchObject({
      name: 'InternalServerError',
    });
    expect(requests.length).toBe(5);
  }, 30_000);

  it('name the action and its version in every User-Agent', async () => {
    const { ecr, ssm, ssmSend } = awsClients({ region: 'eu-west-1', endpoint });
    const clients = [
      ssm.send(new ListCommandsCommand({})),
      ecr.send(new DescribeRepositoriesCommand({})),
    ];
    clients.push(ssmSend.send(new SendCommandCommand({ DocumentName: 'x', InstanceIds: [] })));
    await Promise.allSettled(clients);
    expect(requests.length).toBeGreaterThanOrEqual(3);
    for (const { headers } of requests) {
      expect(String(headers['user-agent']) + String(headers['x-amz-user-agent'])).toContain(
        `challenge-deploy/${ACTION_VERSION}`,
      );
    }
  }, 30_000);

  it('carry the version of package.json', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    expect(ACTION_VERSION).toBe(pkg.version);
  });
});
