// The local AWS endpoint of the rollout benchmark (AWS_ENDPOINT_URL): the e2e suite's JSON 1.1
// server and ECR operations over an in-memory registry (source-tag promotion needs no docker),
// and SSM over simulated instances behind per-operation token buckets.
import { createHash } from 'node:crypto';
import { ecrOperations } from '../../e2e/fake-aws/ecr.js';
import { AwsError, type JsonOperation } from '../../e2e/fake-aws/protocol.js';
import type { Manifest, RegistryApi } from '../../e2e/fake-aws/registry-client.js';
import { startFakeAws, type FakeAws } from '../../e2e/fake-aws/server.js';
import { serviceModel } from '../../e2e/fake-aws/service-models.js';
import { TokenBucket, type Rate } from './rate-limits.js';
import { simulateSsm, type SimulatedFleetOptions, type SimulatedSsm } from './simulated-ssm.js';

export const REGION = 'eu-west-1';
export const ACCOUNT = '123456789012';
export const REPOSITORY = 'challenge-app';
export const SOURCE_TAG = 'main';
const MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';

/** Tags and manifests in memory, as the registry behind ECR would hold them. */
export class MemoryRegistry implements RegistryApi {
  readonly host = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`;
  private readonly images = new Map<string, Map<string, Manifest>>();

  async tags(repository: string): Promise<string[]> {
    return Promise.resolve([...(this.images.get(repository)?.keys() ?? [])]);
  }

  async manifest(repository: string, reference: string): Promise<Manifest | undefined> {
    const tags = this.images.get(repository);
    const found =
      tags?.get(reference) ?? [...(tags?.values() ?? [])].find((m) => m.digest === reference);
    return Promise.resolve(found);
  }

  async putManifest(repository: string, tag: string, body: string, mediaType: string) {
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    const tags = this.images.get(repository) ?? new Map<string, Manifest>();
    tags.set(tag, { digest, mediaType, body });
    this.images.set(repository, tags);
    return Promise.resolve(digest);
  }
}

function manifestBody(seed: string): string {
  const layer = createHash('sha256').update(seed).digest('hex');
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA_TYPE,
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      size: 1469,
      digest: `sha256:${layer}`,
    },
    layers: [
      {
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        size: 3_623_807,
        digest: `sha256:${layer}`,
      },
    ],
  });
}

/** Wraps each operation that has a rate in a token bucket: over the rate, ThrottlingException. */
function throttled(
  operations: Record<string, JsonOperation>,
  rates: Record<string, Rate>,
): Record<string, JsonOperation> {
  return Object.fromEntries(
    Object.entries(operations).map(([name, operation]) => {
      const rate = rates[name];
      if (!rate) return [name, operation];
      const bucket = new TokenBucket(rate);
      const limited: JsonOperation = (input) => {
        if (!bucket.take()) throw new AwsError('ThrottlingException', 'Rate exceeded');
        return operation(input);
      };
      return [name, limited];
    }),
  );
}

export interface BenchEndpoint {
  aws: FakeAws;
  ssm: SimulatedSsm;
  registry: MemoryRegistry;
  /** The image every instance runs before the rollout. */
  initialImage: string;
}

export async function startBenchEndpoint(
  fleet: Omit<SimulatedFleetOptions, 'initialImage' | 'initialVersion'>,
  rates: Record<string, Rate>,
): Promise<BenchEndpoint> {
  const registry = new MemoryRegistry();
  await registry.putManifest(REPOSITORY, 'v1', manifestBody('v1'), MEDIA_TYPE);
  await registry.putManifest(REPOSITORY, SOURCE_TAG, manifestBody('main'), MEDIA_TYPE);
  const initialImage = `${registry.host}/${REPOSITORY}:v1`;
  const ssm = simulateSsm({ ...fleet, initialImage, initialVersion: 'v1' });
  const ecr = ecrOperations({
    registry,
    region: REGION,
    accountId: ACCOUNT,
    repositories: [REPOSITORY],
    auth: { username: 'AWS', password: 'bench' },
  });
  const aws = await startFakeAws(
    {
      json: {
        AmazonEC2ContainerRegistry_V20150921: {
          signingName: 'ecr',
          model: serviceModel('ecr'),
          operations: ecr,
        },
        AmazonSSM: {
          signingName: 'ssm',
          model: serviceModel('ssm'),
          operations: throttled(ssm.operations, rates),
        },
      },
    },
    { host: '127.0.0.1', region: REGION },
  );
  return { aws, ssm, registry, initialImage };
}
