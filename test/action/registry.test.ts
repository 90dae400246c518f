import {
  BatchGetImageCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
  PutImageCommand,
} from '@aws-sdk/client-ecr';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import {
  describeRepository,
  promoteImage,
  pushImage,
  type CommandOutput,
  type Repository,
} from '../../action/registry.js';
import { chooseVersion, listTaggedImages, nextVersion } from '../../action/version.js';
import { recordingLogger, REGISTRY, REPOSITORY_URI } from './fakes.js';

const ecrMock = mockClient(ECRClient);
const ecr = new ECRClient({ region: 'eu-west-1' });
const repository: Repository = {
  name: 'challenge-app',
  uri: REPOSITORY_URI,
  registry: REGISTRY,
  tagsImmutable: true,
};
const digest = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;

beforeEach(() => {
  ecrMock.reset();
});

function named(name: string): Error {
  return Object.assign(new Error(name), { name });
}

describe('the next version', () => {
  it('reads every page of tagged images', async () => {
    const pages = [
      { imageDetails: [{ imageDigest: digest(1), imageTags: ['v1'] }], nextToken: 'p2' },
      { imageDetails: [{ imageDigest: digest(2), imageTags: ['v2'] }], nextToken: 'p3' },
      { imageDetails: [{ imageDigest: digest(3), imageTags: ['v10', 'latest'] }] },
    ];
    // Recorded when sent: the SDK's paginator reuses one input object for every page.
    const sent: unknown[] = [];
    ecrMock.on(DescribeImagesCommand).callsFake((input: Record<string, unknown>) => {
      sent.push(structuredClone(input));
      return pages[sent.length - 1];
    });
    const images = await listTaggedImages(ecr, 'challenge-app');
    expect(images).toHaveLength(3);
    expect(sent).toHaveLength(3);
    expect(sent[1]).toMatchObject({
      repositoryName: 'challenge-app',
      filter: { tagStatus: 'TAGGED', imageStatus: 'ANY' },
      nextToken: 'p2',
    });
    // Gaps are not filled: v1, v2, v10 → v11.
    expect(nextVersion(images, 'v')).toBe('v11');
  });

  it('ignores foreign tags and other prefixes', () => {
    const images = [
      { digest: digest(1), tags: ['latest', 'v1.2', 'vfoo', 'v', 'V9', 'release-40', 'v3-rc1'] },
      { digest: digest(2), tags: ['v2', 'main'] },
    ];
    expect(nextVersion(images, 'v')).toBe('v3');
    expect(nextVersion(images, 'release-')).toBe('release-41');
    expect(nextVersion([], 'v')).toBe('v1');
  });

  it('reuses the version a re-run of an already tagged digest got', async () => {
    ecrMock.on(DescribeImagesCommand).resolves({
      imageDetails: [
        { imageDigest: digest(1), imageTags: ['v4', 'v6', 'latest'] },
        { imageDigest: digest(2), imageTags: ['v7'] },
      ],
    });
    await expect(chooseVersion(ecr, 'challenge-app', 'v', [digest(1)])).resolves.toEqual({
      version: 'v6',
      reused: true,
      digest: digest(1),
    });
    await expect(chooseVersion(ecr, 'challenge-app', 'v', [digest(3)])).resolves.toEqual({
      version: 'v8',
      reused: false,
    });
  });
});

describe('archived images (DescribeImages lists only ACTIVE ones unless asked for ANY)', () => {
  /** An ECR that hides archived images unless the filter asks for imageStatus ANY or ARCHIVED. */
  function repositoryWithArchived(
    images: Array<{ digest: string; tags: string[]; status: 'ACTIVE' | 'ARCHIVED' }>,
  ) {
    ecrMock.on(DescribeImagesCommand).callsFake((input: { filter?: { imageStatus?: string } }) => {
      const wanted = input.filter?.imageStatus ?? 'ACTIVE';
      return {
        imageDetails: images
          .filter((image) => wanted === 'ANY' || image.status === wanted)
          .map((image) => ({
            imageDigest: image.digest,
            imageTags: image.tags,
            imageStatus: image.status,
          })),
      };
    });
  }

  it('never picks the number of an archived newest version', async () => {
    repositoryWithArchived([
      { digest: digest(1), tags: ['v7'], status: 'ACTIVE' },
      { digest: digest(2), tags: ['v8'], status: 'ARCHIVED' },
    ]);
    await expect(chooseVersion(ecr, 'challenge-app', 'v', [digest(3)])).resolves.toEqual({
      version: 'v9',
      reused: false,
    });
  });

  it('refuses to reuse a version whose image is archived, and says how to restore it', async () => {
    repositoryWithArchived([{ digest: digest(2), tags: ['v8'], status: 'ARCHIVED' }]);
    await expect(chooseVersion(ecr, 'challenge-app', 'v', [digest(2)])).rejects.toThrow(
      `v8 (${digest(2)}) is archived in ECR repository challenge-app, and ECR cannot pull an archived image: restore it (aws ecr update-image-storage-class --repository-name challenge-app --image-id imageDigest=${digest(2)} --target-storage-class STANDARD)`,
    );
  });
});

describe('promoting a tag', () => {
  beforeEach(() => {
    ecrMock.on(BatchGetImageCommand).resolves({
      images: [
        {
          imageId: { imageDigest: digest(9), imageTag: 'main-abc123' },
          imageManifest: '{"schemaVersion":2}',
          imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
        },
      ],
    });
  });

  it('puts the manifest under the next version with its media type', async () => {
    ecrMock
      .on(DescribeImagesCommand)
      .resolves({ imageDetails: [{ imageDigest: digest(1), imageTags: ['v7'] }] });
    ecrMock.on(PutImageCommand).resolves({});
    const published = await promoteImage(
      { ecr, mask: () => undefined, log: recordingLogger() },
      repository,
      'main-abc123',
      'v',
    );
    expect(published).toEqual({
      version: 'v8',
      uri: `${REPOSITORY_URI}:v8`,
      digest: digest(9),
      reused: false,
    });
    expect(ecrMock).toHaveReceivedCommandWith(PutImageCommand, {
      repositoryName: 'challenge-app',
      imageTag: 'v8',
      imageManifest: '{"schemaVersion":2}',
      imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
      imageDigest: digest(9),
    });
  });

  it('recomputes the number when a concurrent run took it (ImageTagAlreadyExistsException)', async () => {
    ecrMock
      .on(DescribeImagesCommand)
      .resolvesOnce({ imageDetails: [{ imageDigest: digest(1), imageTags: ['v7'] }] })
      .resolves({
        imageDetails: [
          { imageDigest: digest(1), imageTags: ['v7'] },
          { imageDigest: digest(5), imageTags: ['v8'] },
        ],
      });
    ecrMock.on(PutImageCommand).rejectsOnce(named('ImageTagAlreadyExistsException')).resolves({});
    const log = recordingLogger();
    const published = await promoteImage(
      { ecr, mask: () => undefined, log },
      repository,
      'main-abc123',
      'v',
    );
    expect(published.version).toBe('v9');
    expect(ecrMock).toHaveReceivedCommandTimes(PutImageCommand, 2);
    expect(log.lines).toContain(
      'warning: v8 was taken by a concurrent run; picking the next number.',
    );
  });

  it('gives up after a bounded number of collisions', async () => {
    ecrMock.on(DescribeImagesCommand).resolves({ imageDetails: [] });
    ecrMock.on(PutImageCommand).rejects(named('ImageTagAlreadyExistsException'));
    await expect(
      promoteImage(
        { ecr, mask: () => undefined, log: recordingLogger() },
        repository,
        'main-abc123',
        'v',
      ),
    ).rejects.toThrow(/5 numbers in a row were taken/);
  });

  it('treats ImageAlreadyExistsException (same tag, same digest) as success', async () => {
    ecrMock.on(DescribeImagesCommand).resolves({ imageDetails: [] });
    ecrMock.on(PutImageCommand).rejects(named('ImageAlreadyExistsException'));
    const published = await promoteImage(
      { ecr, mask: () => undefined, log: recordingLogger() },
      repository,
      'main-abc123',
      'v',
    );
    expect(published.version).toBe('v1');
  });

  it('reuses the version the digest already has, without writing', async () => {
    ecrMock.on(DescribeImagesCommand).resolves({
      imageDetails: [
        { imageDigest: digest(9), imageTags: ['main-abc123', 'v5'] },
        { imageDigest: digest(1), imageTags: ['v7'] },
      ],
    });
    const published = await promoteImage(
      { ecr, mask: () => undefined, log: recordingLogger() },
      repository,
      'main-abc123',
      'v',
    );
    expect(published).toMatchObject({ version: 'v5', reused: true, digest: digest(9) });
    expect(ecrMock).not.toHaveReceivedCommand(PutImageCommand);
  });

  it('names a source tag that does not exist', async () => {
    ecrMock.on(BatchGetImageCommand).resolves({
      images: [],
      failures: [{ failureCode: 'ImageNotFound', failureReason: 'Requested image not found' }],
    });
    await expect(
      promoteImage({ ecr, mask: () => undefined, log: recordingLogger() }, repository, 'nope', 'v'),
    ).rejects.toThrow(
      'source-tag nope was not found in ECR repository challenge-app (Requested image not found).',
    );
  });
});

describe('pushing a local image', () => {
  function fakeDocker(answers: Partial<Record<string, CommandOutput[]>> = {}) {
    const calls: Array<{ args: string[]; input?: string }> = [];
    const docker = (args: string[], options?: { input?: string }): Promise<CommandOutput> => {
      calls.push({ args, input: options?.input });
      const queue = answers[args[0] ?? ''];
      const answer = queue && queue.length > 1 ? queue.shift() : queue?.[0];
      return Promise.resolve(answer ?? { exitCode: 0, stdout: '', stderr: '' });
    };
    return { docker, calls };
  }

  beforeEach(() => {
    ecrMock.on(GetAuthorizationTokenCommand).resolves({
      authorizationData: [
        { authorizationToken: Buffer.from('AWS:secret-password').toString('base64') },
      ],
    });
    ecrMock
      .on(DescribeImagesCommand)
      .resolves({ imageDetails: [{ imageDigest: digest(1), imageTags: ['v7'] }] });
    ecrMock.on(BatchGetImageCommand).resolves({
      images: [
        {
          imageId: { imageDigest: digest(1) },
          imageManifest: JSON.stringify({ config: { digest: 'sha256:someone-else' } }),
        },
      ],
    });
  });

  it('logs in with a masked token on stdin, tags and pushes the next version, and logs out', async () => {
    const { docker, calls } = fakeDocker({
      image: [{ exitCode: 0, stdout: '"sha256:local" []\n', stderr: '' }],
      push: [{ exitCode: 0, stdout: `v8: digest: ${digest(8)} size: 1573\n`, stderr: '' }],
    });
    const masked: string[] = [];
    const published = await pushImage(
      { ecr, docker, mask: (s) => masked.push(s), log: recordingLogger() },
      repository,
      'challenge-app:build',
      'v',
    );
    expect(published).toEqual({
      version: 'v8',
      uri: `${REPOSITORY_URI}:v8`,
      digest: digest(8),
      reused: false,
    });
    expect(masked).toContain('secret-password');
    expect(calls.map((c) => c.args.join(' '))).toEqual([
      'image inspect --format {{json .Id}} {{json .RepoDigests}} challenge-app:build',
      `login --username AWS --password-stdin ${REGISTRY}`,
      `tag challenge-app:build ${REPOSITORY_URI}:v8`,
      `push ${REPOSITORY_URI}:v8`,
      `logout ${REGISTRY}`,
    ]);
    expect(calls[1]?.input).toBe('secret-password');
    expect(calls.some((c) => c.args.includes('secret-password'))).toBe(false);
  });

  it('takes the next number when an immutable repository refuses a tag a concurrent run pushed', async () => {
    const { docker, calls } = fakeDocker({
      image: [{ exitCode: 0, stdout: '"sha256:local" []', stderr: '' }],
      push: [
        {
          exitCode: 1,
          stdout: '',
          stderr:
            "tag invalid: The image tag 'v8' already exists in the 'challenge-app' repository and cannot be overwritten because the repository is immutable.",
        },
        { exitCode: 0, stdout: `v9: digest: ${digest(9)} size: 1573`, stderr: '' },
      ],
    });
    // Before pushing, this run sees v7 (looking for its image, then choosing v8); then v8 appears.
    ecrMock
      .on(DescribeImagesCommand)
      .resolvesOnce({ imageDetails: [{ imageDigest: digest(1), imageTags: ['v7'] }] })
      .resolvesOnce({ imageDetails: [{ imageDigest: digest(1), imageTags: ['v7'] }] })
      .resolves({
        imageDetails: [
          { imageDigest: digest(1), imageTags: ['v7'] },
          { imageDigest: digest(2), imageTags: ['v8'] },
        ],
      });
    const published = await pushImage(
      { ecr, docker, mask: () => undefined, log: recordingLogger() },
      repository,
      'app',
      'v',
    );
    expect(published.version).toBe('v9');
    expect(calls.map((c) => c.args[0])).toEqual([
      'image',
      'login',
      'tag',
      'push',
      'rmi',
      'tag',
      'push',
      'logout',
    ]);
  });

  it('reuses the version when this repository already knows the image by a tagged digest', async () => {
    const { docker, calls } = fakeDocker({
      image: [
        {
          exitCode: 0,
          stdout: `"sha256:local" ${JSON.stringify([`${REPOSITORY_URI}@${digest(1)}`])}`,
          stderr: '',
        },
      ],
    });
    const published = await pushImage(
      { ecr, docker, mask: () => undefined, log: recordingLogger() },
      repository,
      'app',
      'v',
    );
    expect(published).toMatchObject({ version: 'v7', reused: true, digest: digest(1) });
    expect(calls.map((c) => c.args[0])).toEqual(['image']);
  });

  it('reuses the version of a manifest whose config is the local image (a fresh runner, same build)', async () => {
    const { docker, calls } = fakeDocker({
      image: [{ exitCode: 0, stdout: '"sha256:config-of-v6" []', stderr: '' }],
    });
    ecrMock.on(DescribeImagesCommand).resolves({
      imageDetails: [
        { imageDigest: digest(6), imageTags: ['v6'] },
        { imageDigest: digest(7), imageTags: ['v7', 'latest'] },
        { imageDigest: digest(8), imageTags: ['nightly'] },
      ],
    });
    ecrMock.on(BatchGetImageCommand).resolves({
      images: [
        { imageId: { imageDigest: digest(7) }, imageManifest: '{"config":{"digest":"sha256:x"}}' },
        {
          imageId: { imageDigest: digest(6) },
          imageManifest: '{"config":{"digest":"sha256:config-of-v6"}}',
        },
      ],
    });
    const published = await pushImage(
      { ecr, docker, mask: () => undefined, log: recordingLogger() },
      repository,
      'app',
      'v',
    );
    expect(published).toMatchObject({ version: 'v6', reused: true, digest: digest(6) });
    expect(ecrMock).toHaveReceivedCommandWith(BatchGetImageCommand, {
      imageIds: [{ imageDigest: digest(7) }, { imageDigest: digest(6) }],
    });
    expect(calls.map((c) => c.args[0])).toEqual(['image']);
  });

  it('reuses the version whose manifest digest is the local image id (containerd image store)', async () => {
    const { docker } = fakeDocker({
      image: [{ exitCode: 0, stdout: `"${digest(1)}" []`, stderr: '' }],
    });
    const published = await pushImage(
      { ecr, docker, mask: () => undefined, log: recordingLogger() },
      repository,
      'app',
      'v',
    );
    expect(published).toMatchObject({ version: 'v7', reused: true });
  });

  it('fails naming a local image that does not exist', async () => {
    const { docker } = fakeDocker({
      image: [{ exitCode: 1, stdout: '', stderr: 'Error: No such image: app' }],
    });
    await expect(
      pushImage(
        { ecr, docker, mask: () => undefined, log: recordingLogger() },
        repository,
        'app',
        'v',
      ),
    ).rejects.toThrow('The local image app does not exist: Error: No such image: app');
  });
});

describe('the repository', () => {
  it('takes the registry host from repositoryUri, whatever it is', async () => {
    ecrMock.on(DescribeRepositoriesCommand).resolves({
      repositories: [
        {
          repositoryName: 'challenge-app',
          repositoryUri: '10.231.0.1:5000/challenge-app',
          imageTagMutability: 'IMMUTABLE',
        },
      ],
    });
    await expect(describeRepository(ecr, 'challenge-app')).resolves.toEqual({
      name: 'challenge-app',
      uri: '10.231.0.1:5000/challenge-app',
      registry: '10.231.0.1:5000',
      tagsImmutable: true,
      tagMutability: 'IMMUTABLE',
    });
  });

  it.each([
    ['IMMUTABLE_WITH_EXCLUSION', ['v*'], 'v', false],
    ['IMMUTABLE_WITH_EXCLUSION', ['*'], 'v', false],
    ['IMMUTABLE_WITH_EXCLUSION', ['v1*'], 'v', false],
    ['IMMUTABLE_WITH_EXCLUSION', ['*-dev', 'latest'], 'v', true],
    ['IMMUTABLE_WITH_EXCLUSION', ['release-*'], 'v', true],
    ['MUTABLE_WITH_EXCLUSION', ['v*'], 'v', true],
    ['MUTABLE_WITH_EXCLUSION', ['v1*'], 'v', false],
    ['MUTABLE_WITH_EXCLUSION', ['latest'], 'v', false],
  ])(
    'reads %s with filters %j: version tags %s<N> immutable is %s',
    async (imageTagMutability, filters, prefix, immutable) => {
      ecrMock.on(DescribeRepositoriesCommand).resolves({
        repositories: [
          {
            repositoryName: 'challenge-app',
            repositoryUri: REPOSITORY_URI,
            imageTagMutability: imageTagMutability as 'IMMUTABLE_WITH_EXCLUSION',
            imageTagMutabilityExclusionFilters: filters.map((filter) => ({
              filterType: 'WILDCARD',
              filter,
            })),
          },
        ],
      });
      const found = await describeRepository(ecr, 'challenge-app', prefix);
      expect(found.tagsImmutable).toBe(immutable);
    },
  );

  it('names a repository that does not exist, with the account and region searched', async () => {
    ecrMock
      .on(DescribeRepositoriesCommand)
      .rejects(
        Object.assign(
          new Error(
            "The repository with name 'nope' does not exist in the registry with id '123456789012'",
          ),
          { name: 'RepositoryNotFoundException' },
        ),
      );
    await expect(describeRepository(ecr, 'nope')).rejects.toThrow(
      'ECR repository nope does not exist in account 123456789012, region eu-west-1.',
    );
  });
});
