// Amazon ECR over a real registry: repositories are configured here, image data (tags, manifests,
// digests) always comes from the registry's HTTP API v2.
import { createHash } from 'node:crypto';
import {
  AwsError,
  arrayParam,
  epochSeconds,
  paginate,
  stringParam,
  type JsonOperation,
} from './protocol.js';
import type { Manifest, RegistryApi } from './registry-client.js';

export interface EcrOptions {
  registry: RegistryApi;
  region: string;
  accountId: string;
  /** Repositories that exist (all with the settings of `state`). */
  repositories: string[];
  /** What GetAuthorizationToken hands out: the registry's basic-auth credentials. */
  auth: { username: string; password: string };
  /** Settings a scenario changes; defaults: IMMUTABLE tags, nothing archived. */
  state?: EcrState;
}

export type TagMutability =
  'MUTABLE' | 'IMMUTABLE' | 'IMMUTABLE_WITH_EXCLUSION' | 'MUTABLE_WITH_EXCLUSION';

/** What a scenario can change in the repositories while the fake runs. */
export interface EcrState {
  tagMutability: TagMutability;
  /** WILDCARD filters (`*` = any run of characters) whose tags take the opposite mutability. */
  exclusionFilters: string[];
  /**
   * Digests of archived images (a lifecycle rule's archive action): ListImages and DescribeImages
   * hide them unless `filter.imageStatus` asks for ARCHIVED or ANY, they cannot be pulled
   * (BatchGetImage fails), and their tags stay taken.
   */
  archived: Set<string>;
}

export function defaultEcrState(): EcrState {
  return { tagMutability: 'IMMUTABLE', exclusionFilters: [], archived: new Set() };
}

type ImageStatus = 'ACTIVE' | 'ARCHIVED';

/** Whether the image status filter (ListImages/DescribeImages `filter.imageStatus`) shows it. */
function shown(status: ImageStatus, filter: unknown): boolean {
  const wanted = typeof filter === 'string' ? filter : 'ACTIVE'; // AWS: "If not specified, only ACTIVE"
  return wanted === 'ANY' || wanted === status;
}

function wildcard(filter: string): RegExp {
  return new RegExp(
    `^${filter
      .split('*')
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
}

/** Whether PutImage may move `tag` to another image under the repository's mutability setting. */
export function tagIsMutable(state: EcrState, tag: string): boolean {
  const excluded = state.exclusionFilters.some((filter) => wildcard(filter).test(tag));
  switch (state.tagMutability) {
    case 'MUTABLE':
      return true;
    case 'IMMUTABLE':
      return false;
    case 'IMMUTABLE_WITH_EXCLUSION':
      return excluded;
    case 'MUTABLE_WITH_EXCLUSION':
      return !excluded;
  }
}

interface ImageId {
  imageDigest?: string;
  imageTag?: string;
}

interface LayeredManifest {
  config?: { size?: number };
  layers?: Array<{ size?: number }>;
}

export function ecrOperations(options: EcrOptions): Record<string, JsonOperation> {
  const { registry, region, accountId } = options;
  const state = options.state ?? defaultEcrState();
  const statusOf = (digest: string): ImageStatus =>
    state.archived.has(digest) ? 'ARCHIVED' : 'ACTIVE';
  const createdAt = new Date();
  const pushedAt = new Map<string, Date>();
  // PutImage is check-then-write against the registry; one at a time keeps tags immutable.
  let putQueue: Promise<unknown> = Promise.resolve();

  function repository(input: Record<string, unknown>): string {
    const name = stringParam(input, 'repositoryName');
    if (!options.repositories.includes(name)) {
      throw new AwsError(
        'RepositoryNotFoundException',
        `The repository with name '${name}' does not exist in the registry with id '${accountId}'`,
      );
    }
    return name;
  }

  function seen(digest: string): Date {
    let at = pushedAt.get(digest);
    if (!at) {
      at = new Date();
      pushedAt.set(digest, at);
    }
    return at;
  }

  /** Every tag with its manifest, read from the registry. */
  async function taggedImages(repo: string): Promise<Array<{ tag: string; manifest: Manifest }>> {
    const tags = await registry.tags(repo);
    const images = await Promise.all(
      tags.map(async (tag) => ({ tag, manifest: await registry.manifest(repo, tag) })),
    );
    return images.flatMap(({ tag, manifest }) => (manifest ? [{ tag, manifest }] : []));
  }

  function size(manifest: Manifest): number {
    try {
      const parsed = JSON.parse(manifest.body) as LayeredManifest;
      return (
        (parsed.config?.size ?? 0) +
        (parsed.layers ?? []).reduce((sum, layer) => sum + (layer.size ?? 0), 0)
      );
    } catch {
      return 0;
    }
  }

  function repositoryDescription(name: string): Record<string, unknown> {
    return {
      repositoryArn: `arn:aws:ecr:${region}:${accountId}:repository/${name}`,
      registryId: accountId,
      repositoryName: name,
      repositoryUri: `${registry.host}/${name}`,
      createdAt: epochSeconds(createdAt),
      imageTagMutability: state.tagMutability,
      ...(state.tagMutability.endsWith('_WITH_EXCLUSION')
        ? {
            imageTagMutabilityExclusionFilters: state.exclusionFilters.map((filter) => ({
              filterType: 'WILDCARD',
              filter,
            })),
          }
        : {}),
      imageScanningConfiguration: { scanOnPush: false },
      encryptionConfiguration: { encryptionType: 'AES256' },
    };
  }

  return {
    GetAuthorizationToken: () => ({
      authorizationData: [
        {
          authorizationToken: Buffer.from(
            `${options.auth.username}:${options.auth.password}`,
          ).toString('base64'),
          expiresAt: epochSeconds(new Date(Date.now() + 12 * 3600 * 1000)),
          proxyEndpoint: `https://${registry.host}`,
        },
      ],
    }),

    DescribeRepositories: (input) => {
      const names = arrayParam<string>(input, 'repositoryNames');
      for (const name of names) repository({ repositoryName: name });
      const all = names.length ? names : options.repositories;
      const { page, next } = paginate(all, input.nextToken, input.maxResults, 100);
      return { repositories: page.map(repositoryDescription), nextToken: next };
    },

    ListImages: async (input) => {
      const repo = repository(input);
      const filter = input.filter as { tagStatus?: string; imageStatus?: string } | undefined;
      const images = filter?.tagStatus === 'UNTAGGED' ? [] : await taggedImages(repo);
      const ids = images
        .filter(({ manifest }) => shown(statusOf(manifest.digest), filter?.imageStatus))
        .map(({ tag, manifest }) => ({
          imageDigest: manifest.digest,
          imageTag: tag,
        }));
      const { page, next } = paginate(ids, input.nextToken, input.maxResults, 100);
      return { imageIds: page, nextToken: next };
    },

    DescribeImages: async (input) => {
      const repo = repository(input);
      const wanted = arrayParam<ImageId>(input, 'imageIds');
      const filter = input.filter as { imageStatus?: string } | undefined;
      const images = (await taggedImages(repo)).filter(({ manifest }) =>
        shown(statusOf(manifest.digest), filter?.imageStatus),
      );
      const byDigest = new Map<string, { manifest: Manifest; tags: string[] }>();
      for (const { tag, manifest } of images) {
        const entry = byDigest.get(manifest.digest) ?? { manifest, tags: [] };
        entry.tags.push(tag);
        byDigest.set(manifest.digest, entry);
      }
      let selected = [...byDigest.values()];
      if (wanted.length) {
        selected = [];
        for (const id of wanted) {
          const match = [...byDigest.values()].find(
            (entry) =>
              (id.imageDigest === undefined || entry.manifest.digest === id.imageDigest) &&
              (id.imageTag === undefined || entry.tags.includes(id.imageTag)),
          );
          if (!match) {
            throw new AwsError(
              'ImageNotFoundException',
              `The image with imageId {imageDigest:'${id.imageDigest ?? 'null'}', imageTag:'${id.imageTag ?? 'null'}'} does not exist within the repository with name '${repo}' in the registry with id '${accountId}'`,
            );
          }
          if (!selected.includes(match)) selected.push(match);
        }
      }
      const details = selected.map(({ manifest, tags }) => ({
        registryId: accountId,
        repositoryName: repo,
        imageDigest: manifest.digest,
        imageTags: tags.sort(),
        imageSizeInBytes: size(manifest),
        imagePushedAt: epochSeconds(seen(manifest.digest)),
        imageManifestMediaType: manifest.mediaType,
        imageStatus: statusOf(manifest.digest),
        ...(state.archived.has(manifest.digest)
          ? { lastArchivedAt: epochSeconds(seen(manifest.digest)) }
          : {}),
      }));
      const { page, next } = paginate(details, input.nextToken, input.maxResults, 100);
      return { imageDetails: page, nextToken: next };
    },

    BatchGetImage: async (input) => {
      const repo = repository(input);
      const images: unknown[] = [];
      const failures: unknown[] = [];
      for (const id of arrayParam<ImageId>(input, 'imageIds')) {
        const manifest = await registry.manifest(repo, id.imageTag ?? id.imageDigest ?? '');
        // An archived image cannot be pulled (AWS: "pull requests fail with a 404").
        if (!manifest || state.archived.has(manifest.digest)) {
          failures.push({
            imageId: id,
            failureCode: 'ImageNotFound',
            failureReason: 'Requested image not found',
          });
        } else if (id.imageDigest && id.imageTag && id.imageDigest !== manifest.digest) {
          failures.push({
            imageId: id,
            failureCode: 'ImageTagDoesNotMatchDigest',
            failureReason: 'Invalid image tag for this image digest',
          });
        } else {
          images.push({
            registryId: accountId,
            repositoryName: repo,
            imageId: { imageDigest: manifest.digest, imageTag: id.imageTag },
            imageManifest: manifest.body,
            imageManifestMediaType: manifest.mediaType,
          });
        }
      }
      return { images, failures };
    },

    PutImage: (input) => {
      const run = async (): Promise<unknown> => {
        const repo = repository(input);
        const body = stringParam(input, 'imageManifest');
        const tag = stringParam(input, 'imageTag');
        let mediaType = stringParam(input, 'imageManifestMediaType', false);
        if (!mediaType) {
          mediaType = (JSON.parse(body) as { mediaType?: string }).mediaType ?? MANIFEST_FALLBACK;
        }
        const existing = await registry.manifest(repo, tag);
        if (existing) {
          const digest = digestOf(body);
          if (existing.digest === digest) {
            throw new AwsError(
              'ImageAlreadyExistsException',
              `Image with digest '${digest}' and tag '${tag}' already exists in the repository with name '${repo}' in registry with id '${accountId}'`,
            );
          }
          // An archived image keeps its tags: they stay taken.
          if (!tagIsMutable(state, tag)) {
            throw new AwsError(
              'ImageTagAlreadyExistsException',
              `The image tag '${tag}' already exists in the '${repo}' repository and cannot be overwritten because the repository is immutable.`,
            );
          }
        }
        const digest = await registry.putManifest(repo, tag, body, mediaType);
        // Pushing an archived image again restores it (AWS: "or by re-pushing the image").
        state.archived.delete(digest);
        const expected = stringParam(input, 'imageDigest', false);
        if (expected && expected !== digest) {
          throw new AwsError(
            'ImageDigestDoesNotMatchException',
            `The image digest '${expected}' does not match the manifest.`,
          );
        }
        seen(digest);
        return {
          image: {
            registryId: accountId,
            repositoryName: repo,
            imageId: { imageDigest: digest, imageTag: tag },
            imageManifest: body,
            imageManifestMediaType: mediaType,
          },
        };
      };
      const result = putQueue.then(run, run);
      putQueue = result.catch(() => undefined);
      return result;
    },
  };
}

const MANIFEST_FALLBACK = 'application/vnd.docker.distribution.manifest.v2+json';

function digestOf(body: string): string {
  return `sha256:${createHash('sha256').update(body).digest('hex')}`;
}
