// The fake CloudWatch answers the real @aws-sdk/client-cloudwatch the way CloudWatch does: AWS
// JSON 1.0 with query-compatible errors, requests checked against botocore's model.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  type DescribeAlarmsCommandInput,
  SetAlarmStateCommand,
  paginateDescribeAlarms,
} from '@aws-sdk/client-cloudwatch';
import { cloudWatchAlarms } from './cloudwatch.js';
import { startFakeAws, type FakeAws } from './server.js';
import { fakeAwsServices } from './services.js';

const region = 'eu-west-1';

describe('fake CloudWatch alarms', () => {
  const alarms = cloudWatchAlarms({ region, accountId: '123456789012' });
  let aws: FakeAws;
  let cloudwatch: CloudWatchClient;

  beforeAll(async () => {
    for (const name of ['api-5xx', 'api-latency', 'db-cpu', 'queue-age']) alarms.define(name);
    alarms.define('disk-full', 'INSUFFICIENT_DATA', 'Insufficient Data: 1 datapoint was unknown.');
    aws = await startFakeAws(fakeAwsServices({ cloudwatch: alarms.operations }), {
      host: '127.0.0.1',
      region,
    });
    cloudwatch = new CloudWatchClient({
      region,
      endpoint: aws.url,
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      maxAttempts: 1,
    });
  });

  afterAll(() => aws.close());

  const states = async (input: DescribeAlarmsCommandInput) =>
    ((await cloudwatch.send(new DescribeAlarmsCommand(input))).MetricAlarms ?? []).map((a) => [
      a.AlarmName,
      a.StateValue,
    ]);

  it('describes the named alarms (by name, skipping unknown names) with state, reason, timestamps and ARN', async () => {
    const before = Date.now();
    const { MetricAlarms } = await cloudwatch.send(
      new DescribeAlarmsCommand({ AlarmNames: ['db-cpu', 'no-such-alarm', 'api-5xx'] }),
    );
    expect(MetricAlarms?.map((a) => a.AlarmName)).toEqual(['api-5xx', 'db-cpu']);
    const alarm = MetricAlarms?.[0];
    expect(alarm).toMatchObject({
      AlarmArn: `arn:aws:cloudwatch:${region}:123456789012:alarm:api-5xx`,
      StateValue: 'OK',
      StateReason: expect.stringContaining('Threshold') as unknown as string,
      Threshold: 5,
    });
    // Epoch seconds on the wire, a Date in the SDK.
    expect(alarm?.StateUpdatedTimestamp).toBeInstanceOf(Date);
    expect(alarm?.StateUpdatedTimestamp?.getTime()).toBeLessThanOrEqual(before);
    expect(aws.violations).toEqual([]);
  });

  it('filters by state and by name prefix', async () => {
    expect(await states({ StateValue: 'INSUFFICIENT_DATA' })).toEqual([
      ['disk-full', 'INSUFFICIENT_DATA'],
    ]);
    expect(await states({ AlarmNamePrefix: 'api-' })).toEqual([
      ['api-5xx', 'OK'],
      ['api-latency', 'OK'],
    ]);
    // Only metric alarms unless asked: composite alarms (none here) come back on their own key.
    const composite = await cloudwatch.send(
      new DescribeAlarmsCommand({ AlarmTypes: ['CompositeAlarm'] }),
    );
    expect(composite.CompositeAlarms).toEqual([]);
    expect(composite.MetricAlarms).toBeUndefined();
  });

  it('pages with MaxRecords and NextToken, in name order, as the SDK paginator reads them', async () => {
    const first = await cloudwatch.send(new DescribeAlarmsCommand({ MaxRecords: 2 }));
    expect(first.MetricAlarms?.map((a) => a.AlarmName)).toEqual(['api-5xx', 'api-latency']);
    expect(first.NextToken).toEqual(expect.any(String));
    const names: string[] = [];
    for await (const page of paginateDescribeAlarms({ client: cloudwatch, pageSize: 2 }, {}))
      names.push(...(page.MetricAlarms ?? []).map((a) => a.AlarmName ?? ''));
    expect(names).toEqual(['api-5xx', 'api-latency', 'db-cpu', 'disk-full', 'queue-age']);
  });

  it('lets a test flip an alarm mid-run, in process or through SetAlarmState; the next DescribeAlarms sees it', async () => {
    const updated = async (): Promise<number> =>
      (
        await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: ['api-5xx'] }))
      ).MetricAlarms?.[0]?.StateUpdatedTimestamp?.getTime() ?? 0;
    const okSince = await updated();
    await new Promise((resolve) => setTimeout(resolve, 20));
    alarms.setState('api-5xx', 'ALARM', 'Threshold Crossed: 1 datapoint [42.0] >= 5.0');
    const { MetricAlarms } = await cloudwatch.send(
      new DescribeAlarmsCommand({ AlarmNames: ['api-5xx', 'db-cpu'], StateValue: 'ALARM' }),
    );
    expect(MetricAlarms?.map((a) => [a.AlarmName, a.StateValue, a.StateReason])).toEqual([
      ['api-5xx', 'ALARM', 'Threshold Crossed: 1 datapoint [42.0] >= 5.0'],
    ]);
    expect(await updated()).toBeGreaterThan(okSince);
    await cloudwatch.send(
      new SetAlarmStateCommand({ AlarmName: 'api-5xx', StateValue: 'OK', StateReason: 'test' }),
    );
    expect(await states({ AlarmNames: ['api-5xx'] })).toEqual([['api-5xx', 'OK']]);
    expect(alarms.history).toEqual(['api-5xx: OK → ALARM', 'api-5xx: ALARM → OK']);
  });

  it('answers errors as CloudWatch does: the query code in x-amzn-query-error, which the SDK maps to its error class', async () => {
    await expect(
      cloudwatch.send(
        new SetAlarmStateCommand({ AlarmName: 'nope', StateValue: 'ALARM', StateReason: 'x' }),
      ),
    ).rejects.toMatchObject({
      name: 'ResourceNotFound',
      Code: 'ResourceNotFound',
      $metadata: { httpStatusCode: 404 },
    });
    await expect(
      cloudwatch.send(new DescribeAlarmsCommand({ NextToken: 'not-a-token' })),
    ).rejects.toMatchObject({ name: 'InvalidNextToken', Code: 'InvalidNextToken' });
    await expect(
      cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: ['a'], AlarmNamePrefix: 'a' })),
    ).rejects.toMatchObject({
      name: 'InvalidParameterCombinationException',
      Code: 'InvalidParameterCombination',
    });
  });

  it("refuses what botocore's model forbids (101 names, MaxRecords 0) with ValidationError, and records it", async () => {
    // The SDK's own model maps the query code ValidationError to its ValidationException.
    const names = Array.from({ length: 101 }, (_, i) => `alarm-${i}`);
    await expect(
      cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: names })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      Code: 'ValidationError',
      message: expect.stringContaining(
        "at 'alarmNames' failed to satisfy constraint: Member must have length less than or equal to 100",
      ) as unknown as string,
    });
    await expect(
      cloudwatch.send(new DescribeAlarmsCommand({ MaxRecords: 0 })),
    ).rejects.toMatchObject({ Code: 'ValidationError' });
    expect(aws.violations.map((v) => [v.service, v.operation])).toEqual([
      ['monitoring', 'DescribeAlarms'],
      ['monitoring', 'DescribeAlarms'],
    ]);
    aws.violations.length = 0;
  });

  it('speaks AWS JSON 1.0 only: a JSON 1.1 or Smithy RPC v2 CBOR request is refused, saying why', async () => {
    const json11 = await fetch(aws.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'GraniteServiceVersion20100801.DescribeAlarms',
        authorization: `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/${region}/monitoring/aws4_request`,
      },
      body: '{}',
    });
    expect(json11.status).toBe(400);
    expect(await json11.text()).toContain('application/x-amz-json-1.0');
    const cbor = await fetch(
      `${aws.url}/service/GraniteServiceVersion20100801/operation/DescribeAlarms`,
      {
        method: 'POST',
        headers: { 'smithy-protocol': 'rpc-v2-cbor', 'content-type': 'application/cbor' },
        body: new Uint8Array([0xa0]),
      },
    );
    expect(cbor.status).toBe(400);
    expect(await cbor.text()).toContain('not Smithy RPC v2');
  });
});
