// The end-to-end suite's fake Parameter Store answers the real SSM client (requests checked
// against botocore's model) the way the service does: types, overwrite, decryption, paths,
// paging and the service's own errors.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  GetParameterCommand,
  GetParametersByPathCommand,
  PutParameterCommand,
  SSMClient,
  paginateGetParametersByPath,
} from '@aws-sdk/client-ssm';
import { parameterStore, type ParameterStore } from '../../e2e/fake-aws/parameter-store.js';
import { startFakeAws, type FakeAws } from '../../e2e/fake-aws/server.js';
import { fakeAwsServices } from '../../e2e/fake-aws/services.js';

const region = 'eu-west-1';
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };

describe('fake SSM Parameter Store', () => {
  let store: ParameterStore;
  let aws: FakeAws;
  let ssm: SSMClient;

  beforeAll(async () => {
    store = parameterStore({ region, accountId: '123456789012' });
    aws = await startFakeAws(fakeAwsServices({ ssm: store.operations }), {
      host: '127.0.0.1',
      region,
    });
    ssm = new SSMClient({ region, endpoint: aws.url, credentials, maxAttempts: 1 });
  });
  afterAll(async () => {
    ssm.destroy();
    await aws.close();
  });

  const put = (input: ConstructorParameters<typeof PutParameterCommand>[0]) =>
    ssm.send(new PutParameterCommand(input));

  it('stores a String, refuses to replace it without Overwrite, and counts versions with it', async () => {
    expect(await put({ Name: '/app/prod/LOG_LEVEL', Value: 'info', Type: 'String' })).toMatchObject(
      { Version: 1, Tier: 'Standard' },
    );
    await expect(
      put({ Name: '/app/prod/LOG_LEVEL', Value: 'debug', Type: 'String' }),
    ).rejects.toMatchObject({
      name: 'ParameterAlreadyExists',
      message: expect.stringContaining('set the overwrite option in the request to true'),
    });
    expect(
      await put({ Name: '/app/prod/LOG_LEVEL', Value: 'debug', Overwrite: true }),
    ).toMatchObject({ Version: 2 });
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: '/app/prod/LOG_LEVEL' }));
    expect(Parameter).toMatchObject({
      Name: '/app/prod/LOG_LEVEL',
      Type: 'String',
      Value: 'debug',
      Version: 2,
      ARN: 'arn:aws:ssm:eu-west-1:123456789012:parameter/app/prod/LOG_LEVEL',
      DataType: 'text',
    });
    expect(Parameter?.LastModifiedDate).toBeInstanceOf(Date);
    const first = await ssm.send(new GetParameterCommand({ Name: '/app/prod/LOG_LEVEL:1' }));
    expect(first.Parameter).toMatchObject({ Value: 'info', Version: 1, Selector: ':1' });
    expect(aws.violations).toEqual([]);
  });

  it('returns a SecureString decrypted only WithDecryption; without it, a ciphertext holding nothing of the value', async () => {
    const secret = 's3cr3t-Value-0123456789';
    await put({ Name: '/app/prod/API_TOKEN', Value: secret, Type: 'SecureString' });
    const plain = await ssm.send(
      new GetParameterCommand({ Name: '/app/prod/API_TOKEN', WithDecryption: true }),
    );
    expect(plain.Parameter).toMatchObject({ Type: 'SecureString', Value: secret });
    const sealed = await ssm.send(new GetParameterCommand({ Name: '/app/prod/API_TOKEN' }));
    const ciphertext = sealed.Parameter?.Value ?? '';
    expect(ciphertext).toMatch(/^AQICAH[A-Za-z0-9+/=]{100,}$/);
    expect(ciphertext).not.toContain(secret);
    expect(Buffer.from(ciphertext, 'base64').toString('latin1')).not.toContain(secret);
    // A String read WithDecryption is returned as it is.
    const text = await ssm.send(
      new GetParameterCommand({ Name: '/app/prod/LOG_LEVEL', WithDecryption: true }),
    );
    expect(text.Parameter?.Value).toBe('debug');
  });

  it('answers ParameterNotFound and ParameterVersionNotFound as the service names them', async () => {
    await expect(
      ssm.send(new GetParameterCommand({ Name: '/app/prod/MISSING' })),
    ).rejects.toMatchObject({
      name: 'ParameterNotFound',
      message: 'Parameter /app/prod/MISSING not found.',
    });
    await expect(
      ssm.send(new GetParameterCommand({ Name: '/app/prod/LOG_LEVEL:7' })),
    ).rejects.toMatchObject({ name: 'ParameterVersionNotFound' });
  });

  it('refuses names AWS refuses and a create without a type, with ValidationException', async () => {
    for (const Name of [
      'app/prod/X',
      '/aws/reserved',
      'ssm-name',
      '/app//X',
      '/app/prod X',
      '/a/',
    ]) {
      await expect(put({ Name, Value: 'v', Type: 'String' })).rejects.toMatchObject({
        name: 'ValidationException',
        message: expect.stringContaining('Parameter name'),
      });
    }
    const deep = `/${Array.from({ length: 16 }, (_, i) => `l${i}`).join('/')}`;
    await expect(put({ Name: deep, Value: 'v', Type: 'String' })).rejects.toMatchObject({
      name: 'HierarchyLevelLimitExceededException',
    });
    await expect(put({ Name: '/app/prod/NO_TYPE', Value: 'v' })).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'A parameter type is required when you create a parameter.',
    });
    await expect(
      put({ Name: '/app/prod/BIG', Value: 'x'.repeat(4097), Type: 'String' }),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('maximum parameter value of 4096 characters'),
    });
    expect(
      await put({
        Name: '/app/prod/BIG',
        Value: 'x'.repeat(4097),
        Type: 'String',
        Tier: 'Advanced',
      }),
    ).toMatchObject({ Tier: 'Advanced' });
    // A plain name (no "/") is allowed.
    expect(await put({ Name: 'plain-name', Value: 'v', Type: 'String' })).toMatchObject({
      Version: 1,
    });
    expect(aws.violations).toEqual([]);
  });

  it('lists one level of a path, or all levels with Recursive; the path may end with "/"', async () => {
    await put({ Name: '/app/prod/db/DATABASE_URL', Value: 'postgres://db', Type: 'SecureString' });
    await put({ Name: '/app/staging/LOG_LEVEL', Value: 'warn', Type: 'String' });
    const names = async (Path: string, Recursive?: boolean) =>
      (await ssm.send(new GetParametersByPathCommand({ Path, Recursive }))).Parameters?.map(
        (p) => p.Name,
      );
    expect(await names('/app/prod')).toEqual([
      '/app/prod/API_TOKEN',
      '/app/prod/BIG',
      '/app/prod/LOG_LEVEL',
    ]);
    expect(await names('/app/prod/')).toEqual(await names('/app/prod'));
    expect(await names('/app/prod/', true)).toEqual([
      '/app/prod/API_TOKEN',
      '/app/prod/BIG',
      '/app/prod/LOG_LEVEL',
      '/app/prod/db/DATABASE_URL',
    ]);
    // The last part of a parameter's name is not a path: nothing is below it.
    expect(await names('/app/prod/LOG_LEVEL')).toEqual([]);
    expect(await names('/app/pro')).toEqual([]);
    const sealed = await ssm.send(
      new GetParametersByPathCommand({ Path: '/app/prod/db', WithDecryption: false }),
    );
    expect(sealed.Parameters?.[0]?.Value).toMatch(/^AQICAH/);
    const open = await ssm.send(
      new GetParametersByPathCommand({ Path: '/app/prod/db', WithDecryption: true }),
    );
    expect(open.Parameters?.[0]?.Value).toBe('postgres://db');
    const secure = await ssm.send(
      new GetParametersByPathCommand({
        Path: '/app',
        Recursive: true,
        ParameterFilters: [{ Key: 'Type', Values: ['SecureString'] }],
      }),
    );
    expect(secure.Parameters?.map((p) => p.Name)).toEqual([
      '/app/prod/API_TOKEN',
      '/app/prod/db/DATABASE_URL',
    ]);
    expect(aws.violations).toEqual([]);
  });

  it('answers at most 10 parameters a call and pages the rest by NextToken (the SDK paginator gets all)', async () => {
    for (let i = 0; i < 23; i++) {
      await put({ Name: `/paged/P${String(i).padStart(2, '0')}`, Value: `v${i}`, Type: 'String' });
    }
    const first = await ssm.send(new GetParametersByPathCommand({ Path: '/paged' }));
    expect(first.Parameters).toHaveLength(10);
    expect(first.NextToken).toEqual(expect.any(String));
    const small = await ssm.send(new GetParametersByPathCommand({ Path: '/paged', MaxResults: 4 }));
    expect(small.Parameters).toHaveLength(4);
    const all: string[] = [];
    for await (const page of paginateGetParametersByPath({ client: ssm }, { Path: '/paged' })) {
      expect(page.Parameters?.length ?? 0).toBeLessThanOrEqual(10);
      all.push(...(page.Parameters ?? []).map((p) => p.Value ?? ''));
    }
    expect(all).toEqual(Array.from({ length: 23 }, (_, i) => `v${i}`));
    await expect(
      ssm.send(new GetParametersByPathCommand({ Path: '/paged', NextToken: 'not-a-token' })),
    ).rejects.toMatchObject({ name: 'InvalidNextToken' });
    expect(aws.violations).toEqual([]);
  });

  it('refuses MaxResults over 10 (the model), a path without a leading "/" and filters by path keys', async () => {
    await expect(
      ssm.send(new GetParametersByPathCommand({ Path: '/paged', MaxResults: 11 })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining("at 'maxResults' failed to satisfy constraint"),
    });
    expect(aws.violations.at(-1)).toMatchObject({ operation: 'GetParametersByPath' });
    await expect(ssm.send(new GetParametersByPathCommand({ Path: 'paged' }))).rejects.toMatchObject(
      {
        name: 'ValidationException',
        message: expect.stringContaining('must begin with a forward slash'),
      },
    );
    await expect(
      ssm.send(
        new GetParametersByPathCommand({
          Path: '/paged',
          ParameterFilters: [{ Key: 'Name', Values: ['/paged/P01'] }],
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidFilterKey' });
  });

  it('keeps every version for assertions', () => {
    expect(store.history('/app/prod/LOG_LEVEL').map((p) => p.value)).toEqual(['info', 'debug']);
    expect(store.get('/app/prod/API_TOKEN')?.type).toBe('SecureString');
  });
});
