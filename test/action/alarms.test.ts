// readAlarms against a real HTTP server speaking what the installed @aws-sdk/client-cloudwatch
// speaks (AWS JSON 1.0, X-Amz-Target GraniteServiceVersion20100801.*; botocore's model lists
// smithy-rpc-v2-cbor, json and query): the request is checked against botocore's cloudwatch
// model, and the answer is what CloudWatch's model says it sends.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { readAlarms } from '../../action/alarms.js';
import { isRejected, isThrottling } from '../../action/aws-errors.js';
import { validateJsonRequest, validateJsonResponse } from '../../e2e/fake-aws/model-validator.js';
import { serviceModel } from '../../e2e/fake-aws/service-models.js';

const requests: Array<{ headers: IncomingHttpHeaders; body: Record<string, unknown> }> = [];
let respond: (body: Record<string, unknown>) => [number, Record<string, string>, unknown];
let server: Server;
let endpoint: string;

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<
        string,
        unknown
      >;
      requests.push({ headers: request.headers, body });
      const [status, headers, answer] = respond(body);
      response.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', ...headers });
      response.end(JSON.stringify(answer));
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

function client(): CloudWatchClient {
  return new CloudWatchClient({
    region: 'eu-west-1',
    endpoint,
    maxAttempts: 1,
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
  });
}

describe('readAlarms on the wire', () => {
  it('sends a DescribeAlarms the cloudwatch model accepts, and reads metric and composite alarms', async () => {
    const model = serviceModel('cloudwatch');
    const answer = {
      MetricAlarms: [
        {
          AlarmName: 'api-5xx',
          StateValue: 'ALARM',
          StateReason: 'Threshold Crossed',
          // JSON 1.0 timestamps are epoch seconds.
          StateUpdatedTimestamp: 1_795_000_000.5,
        },
      ],
      CompositeAlarms: [{ AlarmName: 'service-health', StateValue: 'OK' }],
    };
    expect(validateJsonResponse(model, 'DescribeAlarms', answer)).toEqual([]);
    respond = () => [200, {}, answer];
    const reading = await readAlarms(client(), ['api-5xx', 'service-health', 'gone']);

    expect(requests).toHaveLength(1);
    const [request] = requests;
    expect(request!.headers['x-amz-target']).toBe('GraniteServiceVersion20100801.DescribeAlarms');
    expect(request!.headers['content-type']).toBe('application/x-amz-json-1.0');
    expect(request!.body).toEqual({
      AlarmNames: ['api-5xx', 'service-health', 'gone'],
      AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
      MaxRecords: 100,
    });
    expect(validateJsonRequest(model, 'DescribeAlarms', request!.body)).toEqual([]);
    expect(reading).toEqual({
      alarms: [
        {
          name: 'api-5xx',
          state: 'ALARM',
          reason: 'Threshold Crossed',
          since: new Date(1_795_000_000_500),
        },
        { name: 'service-health', state: 'OK', reason: undefined, since: undefined },
      ],
      missing: ['gone'],
    });
  });

  it('follows NextToken to the last page', async () => {
    respond = (body) =>
      body.NextToken === undefined
        ? [200, {}, { MetricAlarms: [{ AlarmName: 'a', StateValue: 'OK' }], NextToken: 't2' }]
        : [200, {}, { MetricAlarms: [{ AlarmName: 'b', StateValue: 'OK' }] }];
    const reading = await readAlarms(client(), ['a', 'b']);
    expect(requests.map((r) => r.body.NextToken)).toEqual([undefined, 't2']);
    expect(reading.missing).toEqual([]);
  });

  it('throws CloudWatch’s throttling answer as an error the action classes as throttling, not refusal', async () => {
    respond = () => [
      400,
      { 'x-amzn-query-error': 'Throttling;Sender' },
      { __type: 'com.amazon.coral.availability#ThrottlingException', message: 'Rate exceeded' },
    ];
    const error: unknown = await readAlarms(client(), ['a']).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'Throttling', $metadata: { httpStatusCode: 400 } });
    // AlarmWatch keeps asking on throttling and stops at once on a refusal.
    expect(isThrottling(error)).toBe(true);
    expect(isRejected(error)).toBe(false);
  });

  it('throws AccessDenied as a refusal', async () => {
    respond = () => [
      403,
      { 'x-amzn-query-error': 'AccessDenied;Sender' },
      {
        __type: 'AccessDeniedException',
        message: 'not authorized to perform: cloudwatch:DescribeAlarms',
      },
    ];
    const error: unknown = await readAlarms(client(), ['a']).catch((e: unknown) => e);
    expect(isRejected(error)).toBe(true);
  });
});
