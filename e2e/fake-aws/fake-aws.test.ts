// The fake AWS endpoint answers the real AWS SDK clients the way the real services do.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  BatchGetImageCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
  ListImagesCommand,
  PutImageCommand,
} from '@aws-sdk/client-ecr';
import {
  CancelCommandCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { defaultEcrState, ecrOperations } from './ecr.js';
import type { Manifest, RegistryApi } from './registry-client.js';
import { startFakeAws, type FakeAws } from './server.js';
import { fakeAwsServices } from './services.js';
import { simulateSsm, type ManagedInstance, type SsmSimulation } from './ssm.js';

class MemoryRegistry implements RegistryApi {
  readonly host = 'registry.test:5000';
  readonly images = new Map<string, Manifest>();
  tags(): Promise<string[]> {
    return Promise.resolve([...this.images.keys()]);
  }
  manifest(_repo: string, reference: string): Promise<Manifest | undefined> {
    return Promise.resolve(
      this.images.get(reference) ?? [...this.images.values()].find((m) => m.digest === reference),
    );
  }
  putManifest(_repo: string, tag: string, body: string, mediaType: string): Promise<string> {
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    this.images.set(tag, { digest, mediaType, body });
    return Promise.resolve(digest);
  }
}

const manifest = (n: number): string =>
  JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { size: 10 },
    layers: [{ size: n }],
  });

const region = 'eu-west-1';
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };

describe('fake AWS endpoint', () => {
  let dir: string;
  let aws: FakeAws;
  let ssmSim: SsmSimulation;
  let ecr: ECRClient;
  let ssm: SSMClient;
  const registry = new MemoryRegistry();
  const ecrState = defaultEcrState();
  const instance = (id: string): ManagedInstance => ({
    instanceId: id,
    ipAddress: '10.0.0.1',
    computerName: id,
    tags: { Env: 'test' },
    online: true,
    stateDir: path.join(dir, id),
    startScript: (scriptPath, cwd) =>
      spawn('bash', [scriptPath], {
        cwd,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { PATH: process.env.PATH, WHO: id },
      }),
  });
  let hosts: ManagedInstance[];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ce2e-fake-aws-'));
    hosts = [instance('i-00000000000000001'), instance('i-00000000000000002')];
    ssmSim = simulateSsm(hosts, {
      region,
      accountId: '123456789012',
      timing: { invocationVisibleAfterMs: 300, deliveryMs: 100, reportMs: 50 },
    });
    await registry.putManifest(
      'app',
      'v1',
      manifest(1),
      'application/vnd.oci.image.manifest.v1+json',
    );
    aws = await startFakeAws(
      fakeAwsServices({
        ecr: ecrOperations({
          registry,
          region,
          accountId: '123456789012',
          repositories: ['app'],
          auth: { username: 'AWS', password: 'pw' },
          state: ecrState,
        }),
        ssm: ssmSim.operations,
      }),
      { host: '127.0.0.1', region },
    );
    ecr = new ECRClient({ region, endpoint: aws.url, credentials, maxAttempts: 1 });
    ssm = new SSMClient({ region, endpoint: aws.url, credentials, maxAttempts: 1 });
  });

  afterAll(async () => {
    await ssmSim.stop();
    await aws.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function waitFor(commandId: string, instanceId: string): Promise<Record<string, unknown>> {
    for (;;) {
      const out = await ssm
        .send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }))
        .catch((e: Error) => e);
      if (!(out instanceof Error) && !['Pending', 'InProgress'].includes(out.Status ?? ''))
        return out as unknown as Record<string, unknown>;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('describes repositories, lists and describes images from the registry, and hands out its credentials', async () => {
    const repos = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['app'] }));
    expect(repos.repositories?.[0]?.repositoryUri).toBe('registry.test:5000/app');
    await expect(
      ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['nope'] })),
    ).rejects.toMatchObject({
      name: 'RepositoryNotFoundException',
    });
    const list = await ecr.send(new ListImagesCommand({ repositoryName: 'app' }));
    expect(list.imageIds).toEqual([
      { imageTag: 'v1', imageDigest: registry.images.get('v1')?.digest },
    ]);
    const described = await ecr.send(
      new DescribeImagesCommand({ repositoryName: 'app', imageIds: [{ imageTag: 'v1' }] }),
    );
    expect(described.imageDetails?.[0]).toMatchObject({ imageTags: ['v1'], imageSizeInBytes: 11 });
    const token = await ecr.send(new GetAuthorizationTokenCommand({}));
    const data = token.authorizationData?.[0];
    expect(Buffer.from(data?.authorizationToken ?? '', 'base64').toString()).toBe('AWS:pw');
    expect(data?.proxyEndpoint).toBe('https://registry.test:5000');
  });

  it('promotes with BatchGetImage + PutImage and keeps tags immutable', async () => {
    const got = await ecr.send(
      new BatchGetImageCommand({
        repositoryName: 'app',
        imageIds: [{ imageTag: 'v1' }, { imageTag: 'v9' }],
      }),
    );
    expect(got.failures).toEqual([
      {
        imageId: { imageTag: 'v9' },
        failureCode: 'ImageNotFound',
        failureReason: 'Requested image not found',
      },
    ]);
    const image = got.images?.[0];
    const put = await ecr.send(
      new PutImageCommand({
        repositoryName: 'app',
        imageTag: 'v2',
        imageManifest: image?.imageManifest,
        imageManifestMediaType: image?.imageManifestMediaType,
      }),
    );
    expect(put.image?.imageId?.imageDigest).toBe(image?.imageId?.imageDigest);
    await expect(
      ecr.send(
        new PutImageCommand({ repositoryName: 'app', imageTag: 'v2', imageManifest: manifest(2) }),
      ),
    ).rejects.toMatchObject({ name: 'ImageTagAlreadyExistsException' });
    await expect(
      ecr.send(
        new PutImageCommand({
          repositoryName: 'app',
          imageTag: 'v2',
          imageManifest: image?.imageManifest,
        }),
      ),
    ).rejects.toMatchObject({ name: 'ImageAlreadyExistsException' });
  });

  it('hides archived images from ListImages and DescribeImages unless imageStatus asks for them; their tags stay taken and they cannot be pulled', async () => {
    await registry.putManifest(
      'app',
      'v7',
      manifest(7),
      'application/vnd.oci.image.manifest.v1+json',
    );
    const archived = registry.images.get('v7')!.digest;
    ecrState.archived.add(archived);
    try {
      const tagsOf = (out: { imageDetails?: Array<{ imageTags?: string[] }> }) =>
        out.imageDetails?.flatMap((d) => d.imageTags ?? []).sort();
      expect(
        tagsOf(await ecr.send(new DescribeImagesCommand({ repositoryName: 'app' }))),
      ).not.toContain('v7');
      const any = await ecr.send(
        new DescribeImagesCommand({ repositoryName: 'app', filter: { imageStatus: 'ANY' } }),
      );
      expect(any.imageDetails?.find((d) => d.imageDigest === archived)).toMatchObject({
        imageTags: ['v7'],
        imageStatus: 'ARCHIVED',
      });
      const onlyArchived = await ecr.send(
        new DescribeImagesCommand({ repositoryName: 'app', filter: { imageStatus: 'ARCHIVED' } }),
      );
      expect(tagsOf(onlyArchived)).toEqual(['v7']);
      await expect(
        ecr.send(
          new DescribeImagesCommand({ repositoryName: 'app', imageIds: [{ imageTag: 'v7' }] }),
        ),
      ).rejects.toMatchObject({ name: 'ImageNotFoundException' });
      const listed = await ecr.send(new ListImagesCommand({ repositoryName: 'app' }));
      expect(listed.imageIds?.map((id) => id.imageTag)).not.toContain('v7');
      const listedAll = await ecr.send(
        new ListImagesCommand({ repositoryName: 'app', filter: { imageStatus: 'ANY' } }),
      );
      expect(listedAll.imageIds?.map((id) => id.imageTag)).toContain('v7');
      const pulled = await ecr.send(
        new BatchGetImageCommand({ repositoryName: 'app', imageIds: [{ imageTag: 'v7' }] }),
      );
      expect(pulled.failures?.[0]?.failureCode).toBe('ImageNotFound');
      await expect(
        ecr.send(
          new PutImageCommand({
            repositoryName: 'app',
            imageTag: 'v7',
            imageManifest: manifest(8),
          }),
        ),
      ).rejects.toMatchObject({ name: 'ImageTagAlreadyExistsException' });
      expect(aws.violations).toEqual([]);
    } finally {
      ecrState.archived.clear();
    }
  });

  it('reports IMMUTABLE_WITH_EXCLUSION with its filters, and lets PutImage move only the excluded tags', async () => {
    ecrState.tagMutability = 'IMMUTABLE_WITH_EXCLUSION';
    ecrState.exclusionFilters = ['latest', 'dev-*'];
    try {
      const repos = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['app'] }));
      expect(repos.repositories?.[0]).toMatchObject({
        imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
        imageTagMutabilityExclusionFilters: [
          { filterType: 'WILDCARD', filter: 'latest' },
          { filterType: 'WILDCARD', filter: 'dev-*' },
        ],
      });
      for (const tag of ['dev-1', 'v8']) {
        await ecr.send(
          new PutImageCommand({ repositoryName: 'app', imageTag: tag, imageManifest: manifest(9) }),
        );
      }
      await ecr.send(
        new PutImageCommand({
          repositoryName: 'app',
          imageTag: 'dev-1',
          imageManifest: manifest(10),
        }),
      );
      expect(registry.images.get('dev-1')?.body).toBe(manifest(10));
      await expect(
        ecr.send(
          new PutImageCommand({
            repositoryName: 'app',
            imageTag: 'v8',
            imageManifest: manifest(10),
          }),
        ),
      ).rejects.toMatchObject({ name: 'ImageTagAlreadyExistsException' });
    } finally {
      ecrState.tagMutability = 'IMMUTABLE';
      ecrState.exclusionFilters = [];
    }
  });

  it('describes instances with their ping status and honours the MaxResults range', async () => {
    hosts[1]!.online = false;
    const info = await ssm.send(
      new DescribeInstanceInformationCommand({
        Filters: [{ Key: 'InstanceIds', Values: ['i-00000000000000001', 'i-00000000000000002'] }],
      }),
    );
    expect(info.InstanceInformationList?.map((i) => [i.InstanceId, i.PingStatus])).toEqual([
      ['i-00000000000000001', 'Online'],
      ['i-00000000000000002', 'ConnectionLost'],
    ]);
    hosts[1]!.online = true;
    await expect(
      ssm.send(new DescribeInstanceInformationCommand({ MaxResults: 100 })),
    ).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('runs a command on the instance: not visible at first, then Pending/InProgress, then the exit code and output', async () => {
    const sent = await ssm.send(
      new SendCommandCommand({
        DocumentName: 'AWS-RunShellScript',
        InstanceIds: ['i-00000000000000001'],
        Parameters: { commands: ['echo "on $WHO"', 'echo oops >&2', 'exit 3'] },
      }),
    );
    const commandId = sent.Command?.CommandId ?? '';
    await expect(
      ssm.send(
        new GetCommandInvocationCommand({
          CommandId: commandId,
          InstanceId: 'i-00000000000000001',
        }),
      ),
    ).rejects.toMatchObject({
      name: 'InvocationDoesNotExist',
    });
    const done = await waitFor(commandId, 'i-00000000000000001');
    expect(done).toMatchObject({
      Status: 'Failed',
      ResponseCode: 3,
      StandardOutputContent: 'on i-00000000000000001\n',
      StandardErrorContent: 'oops\n',
    });
    const listed = await ssm.send(
      new ListCommandInvocationsCommand({ CommandId: commandId, Details: true }),
    );
    expect(listed.CommandInvocations?.[0]?.CommandPlugins?.[0]?.Output).toContain(
      '----------ERROR-------',
    );
  });

  it('truncates output at 24,000 characters, honours executionTimeout and cancels', async () => {
    const big = await ssm.send(
      new SendCommandCommand({
        DocumentName: 'AWS-RunShellScript',
        InstanceIds: ['i-00000000000000001'],
        Parameters: { commands: ['head -c 30000 /dev/zero | tr "\\0" x'] },
      }),
    );
    const out = await waitFor(big.Command?.CommandId ?? '', 'i-00000000000000001');
    expect(out).toMatchObject({ Status: 'Success' });
    expect(String(out.StandardOutputContent)).toHaveLength(24000);

    const slow = await ssm.send(
      new SendCommandCommand({
        DocumentName: 'AWS-RunShellScript',
        InstanceIds: ['i-00000000000000001'],
        Parameters: { commands: ['sleep 30'], executionTimeout: ['1'] },
      }),
    );
    expect(await waitFor(slow.Command?.CommandId ?? '', 'i-00000000000000001')).toMatchObject({
      Status: 'TimedOut',
      StatusDetails: 'ExecutionTimedOut',
    });

    const cancelled = await ssm.send(
      new SendCommandCommand({
        DocumentName: 'AWS-RunShellScript',
        InstanceIds: ['i-00000000000000002'],
        Parameters: { commands: ['sleep 30'] },
      }),
    );
    await new Promise((r) => setTimeout(r, 400));
    await ssm.send(new CancelCommandCommand({ CommandId: cancelled.Command?.CommandId ?? '' }));
    expect(await waitFor(cancelled.Command?.CommandId ?? '', 'i-00000000000000002')).toMatchObject({
      Status: 'Cancelled',
    });
  });

  it('right after SendCommand, ListCommandInvocations answers an empty list (or InvalidCommandId when asked to), never InvocationDoesNotExist; an unknown command is InvalidCommandId', async () => {
    const send = async (): Promise<string> =>
      (
        await ssm.send(
          new SendCommandCommand({
            DocumentName: 'AWS-RunShellScript',
            InstanceIds: ['i-00000000000000001'],
            Parameters: { commands: ['true'] },
          }),
        )
      ).Command?.CommandId ?? '';
    const first = await send();
    const early = await ssm.send(new ListCommandInvocationsCommand({ CommandId: first }));
    expect(early.CommandInvocations).toEqual([]);
    ssmSim.faults.invisibleInvocations = 'InvalidCommandId';
    try {
      const second = await send();
      await expect(
        ssm.send(new ListCommandInvocationsCommand({ CommandId: second })),
      ).rejects.toMatchObject({ name: 'InvalidCommandId' });
      await waitFor(second, 'i-00000000000000001');
      const later = await ssm.send(new ListCommandInvocationsCommand({ CommandId: second }));
      expect(later.CommandInvocations?.map((i) => i.InstanceId)).toEqual(['i-00000000000000001']);
    } finally {
      ssmSim.faults.invisibleInvocations = 'empty';
    }
    await expect(
      ssm.send(
        new ListCommandInvocationsCommand({ CommandId: '00000000-0000-4000-8000-000000000000' }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidCommandId' });
  });

  it('lists commands by id and by the filters the model allows', async () => {
    const since = new Date(Math.floor(Date.now() / 1000) * 1000);
    const sent = await ssm.send(
      new SendCommandCommand({
        DocumentName: 'AWS-RunShellScript',
        InstanceIds: ['i-00000000000000002'],
        Comment: 'challenge-deploy v9',
        Parameters: { commands: ['sleep 1'] },
      }),
    );
    const commandId = sent.Command?.CommandId ?? '';
    const byId = await ssm.send(new ListCommandsCommand({ CommandId: commandId }));
    expect(byId.Commands?.map((c) => [c.Comment, c.InstanceIds])).toEqual([
      ['challenge-deploy v9', ['i-00000000000000002']],
    ]);
    const recent = await ssm.send(
      new ListCommandsCommand({
        Filters: [
          { key: 'InvokedAfter', value: since.toISOString().replace(/\.\d+Z$/, 'Z') },
          { key: 'DocumentName', value: 'AWS-RunShellScript' },
          { key: 'ExecutionStage', value: 'Executing' },
        ],
      }),
    );
    expect(recent.Commands?.map((c) => c.CommandId)).toEqual([commandId]);
    const before = await ssm.send(
      new ListCommandsCommand({
        Filters: [{ key: 'InvokedBefore', value: '2020-01-01T00:00:00Z' }],
      }),
    );
    expect(before.Commands).toEqual([]);
    await expect(
      ssm.send(new ListCommandsCommand({ Filters: [{ key: 'InvokedAfter', value: 'yesterday' }] })),
    ).rejects.toMatchObject({ name: 'InvalidFilterKey' });
    await waitFor(commandId, 'i-00000000000000002');
    const done = await ssm.send(
      new ListCommandsCommand({ Filters: [{ key: 'Status', value: 'Success' }] }),
    );
    expect(done.Commands?.map((c) => c.CommandId)).toContain(commandId);
  });

  it('loses the response of one SendCommand when asked to: the command still runs, and a retrying client starts it twice', async () => {
    const runs = () => ssmSim.invocations().filter((inv) => inv.comment === 'lost once').length;
    const input = {
      DocumentName: 'AWS-RunShellScript',
      InstanceIds: ['i-00000000000000002'],
      Comment: 'lost once',
      Parameters: { commands: ['true'] },
    };
    aws.loseNextResponse('SendCommand', 'reset');
    await expect(ssm.send(new SendCommandCommand(input))).rejects.toThrow();
    expect(runs()).toBe(1);
    const retrying = new SSMClient({ region, endpoint: aws.url, credentials, maxAttempts: 3 });
    aws.loseNextResponse('SendCommand', 500);
    const answered = await retrying.send(new SendCommandCommand(input));
    expect(answered.$metadata.attempts).toBe(2);
    expect(runs()).toBe(3);
    expect(
      aws.calls
        .filter((c) => c.operation === 'SendCommand')
        .slice(-3)
        .map((c) => c.status),
    ).toEqual([0, 500, 200]);
  });

  it('throttles every Nth poll when asked to', async () => {
    ssmSim.faults.throttleEveryNthPoll = 3;
    const results: string[] = [];
    for (let i = 0; i < 6; i++) {
      results.push(
        await ssm.send(new ListCommandInvocationsCommand({})).then(
          () => 'ok',
          (e: Error) => e.name,
        ),
      );
    }
    ssmSim.faults.throttleEveryNthPoll = 0;
    expect(results).toEqual(['ok', 'ok', 'ThrottlingException', 'ok', 'ok', 'ThrottlingException']);
    expect(aws.calls.filter((c) => c.errorType === 'ThrottlingException')).toHaveLength(2);
  });

  it('rejects a client that signs for the wrong service', async () => {
    const wrong = new SSMClient({
      region,
      endpoint: aws.url,
      credentials,
      maxAttempts: 1,
      signingName: 'ecr',
    } as never);
    await expect(wrong.send(new DescribeInstanceInformationCommand({}))).rejects.toMatchObject({
      name: 'InvalidSignatureException',
    });
  });
});
