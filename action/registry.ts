import {
  BatchGetImageCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  GetAuthorizationTokenCommand,
  PutImageCommand,
  type ECRClient,
} from '@aws-sdk/client-ecr';
import type { ImageSource } from './inputs.js';
import type { Logger } from './logger.js';
import { versionTagsMutable } from './tag-mutability.js';
import {
  chooseVersion,
  listTaggedImages,
  requirePullable,
  versionNumber,
  versionOfDigest,
} from './version.js';

export interface Repository {
  name: string;
  /** `repositoryUri` as ECR reports it, e.g. `1234.dkr.ecr.eu-west-1.amazonaws.com/app`. */
  uri: string;
  /** The registry host (and port) of `uri`; never assumed to be `*.amazonaws.com`. */
  registry: string;
  /**
   * false when the version tags (`<prefix>N`) are mutable: then a concurrent run's push or
   * PutImage of the same vN overwrites instead of failing with ImageTagAlreadyExistsException.
   */
  tagsImmutable: boolean;
  /** ECR's imageTagMutability, for the warning (IMMUTABLE_WITH_EXCLUSION, …). */
  tagMutability?: string;
}

export interface PublishedImage {
  version: string;
  uri: string;
  digest: string;
  /** true when the digest already carried the version (a re-run): nothing was pushed or tagged. */
  reused: boolean;
}

export interface CommandOutput {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** The docker CLI; main.ts runs it through @actions/exec. */
export type DockerCli = (args: string[], options?: { input?: string }) => Promise<CommandOutput>;

export interface RegistryDeps {
  ecr: ECRClient;
  docker?: DockerCli;
  /** Hides a secret in the job log (core.setSecret). */
  mask: (secret: string) => void;
  log: Logger;
}

const MANIFEST_MEDIA_TYPES = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
];

/** A concurrent run tags with the same number at most this many times before we give up. */
const MAX_TAG_ATTEMPTS = 5;

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : '';
}

export async function describeRepository(
  ecr: ECRClient,
  name: string,
  prefix = 'v',
): Promise<Repository> {
  try {
    const answer = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }));
    const found = answer.repositories?.[0];
    const uri = found?.repositoryUri;
    if (!uri) throw new Error(`ECR did not return the URI of repository ${name}.`);
    const slash = uri.indexOf('/');
    return {
      name,
      uri,
      registry: slash < 0 ? uri : uri.slice(0, slash),
      tagsImmutable: !versionTagsMutable(
        found.imageTagMutability,
        (found.imageTagMutabilityExclusionFilters ?? []).map((f) => f.filter ?? ''),
        prefix,
      ),
      tagMutability: found.imageTagMutability,
    };
  } catch (error) {
    if (errorName(error) === 'RepositoryNotFoundException') {
      // ECR's message names the registry (the account) it searched; the region is the client's.
      const account = /registry with id '(\d{12})'/.exec(
        error instanceof Error ? error.message : '',
      )?.[1];
      const region = await ecr.config.region();
      throw new Error(
        `ECR repository ${name} does not exist in account ${account ?? '(unknown)'}, region ${region}. Check ecr-repository and aws-region, and that the role's credentials are for the account that holds the repository.`,
        { cause: error },
      );
    }
    throw error;
  }
}

/** Tags the image as the next `vN` (or reuses its version) by pushing it or promoting a tag. */
export async function publishImage(
  deps: RegistryDeps,
  repository: Repository,
  source: ImageSource,
  prefix: string,
): Promise<PublishedImage> {
  return source.kind === 'promote'
    ? promoteImage(deps, repository, source.sourceTag, prefix)
    : pushImage(deps, repository, source.localImage, prefix);
}

interface SourceManifest {
  digest: string;
  manifest: string;
  mediaType?: string;
}

async function readManifest(
  ecr: ECRClient,
  repository: Repository,
  tag: string,
): Promise<SourceManifest> {
  const answer = await ecr.send(
    new BatchGetImageCommand({
      repositoryName: repository.name,
      imageIds: [{ imageTag: tag }],
      acceptedMediaTypes: MANIFEST_MEDIA_TYPES,
    }),
  );
  const image = answer.images?.[0];
  if (!image?.imageManifest || !image.imageId?.imageDigest) {
    const failure = answer.failures?.[0];
    throw new Error(
      `source-tag ${tag} was not found in ECR repository ${repository.name}${failure?.failureReason ? ` (${failure.failureReason})` : ''}.`,
    );
  }
  return {
    digest: image.imageId.imageDigest,
    manifest: image.imageManifest,
    mediaType: image.imageManifestMediaType,
  };
}

/** Adds the next `vN` tag to the image `sourceTag` points at, through the ECR API (no docker). */
export async function promoteImage(
  deps: RegistryDeps,
  repository: Repository,
  sourceTag: string,
  prefix: string,
): Promise<PublishedImage> {
  const source = await readManifest(deps.ecr, repository, sourceTag);
  for (let attempt = 1; attempt <= MAX_TAG_ATTEMPTS; attempt++) {
    const choice = await chooseVersion(deps.ecr, repository.name, prefix, [source.digest]);
    const published = {
      version: choice.version,
      uri: `${repository.uri}:${choice.version}`,
      digest: source.digest,
      reused: choice.reused,
    };
    if (choice.reused) {
      deps.log.info(`${sourceTag} (${source.digest}) is already ${choice.version}: reusing it.`);
      return published;
    }
    try {
      await deps.ecr.send(
        new PutImageCommand({
          repositoryName: repository.name,
          imageManifest: source.manifest,
          imageManifestMediaType: source.mediaType,
          imageDigest: source.digest,
          imageTag: choice.version,
        }),
      );
      deps.log.info(`Tagged ${sourceTag} (${source.digest}) as ${choice.version}.`);
      return published;
    } catch (error) {
      // The same tag on the same digest: an earlier attempt of ours got there.
      if (errorName(error) === 'ImageAlreadyExistsException') return published;
      // A concurrent run took the number: recompute.
      if (errorName(error) !== 'ImageTagAlreadyExistsException') throw error;
      deps.log.warning(`${choice.version} was taken by a concurrent run; picking the next number.`);
    }
  }
  throw new Error(
    `Could not tag ${sourceTag} with a new version: ${MAX_TAG_ATTEMPTS} numbers in a row were taken by concurrent runs.`,
  );
}

function requireDocker(deps: RegistryDeps): DockerCli {
  if (!deps.docker) throw new Error('The docker CLI is needed to push the image input.');
  return deps.docker;
}

async function dockerOrFail(docker: DockerCli, args: string[], what: string): Promise<string> {
  const result = await docker(args);
  if (result.exitCode !== 0) {
    const tail = `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-5).join('\n');
    throw new Error(`${what} failed (docker exit ${result.exitCode}):\n${tail}`);
  }
  return result.stdout;
}

interface LocalImage {
  /** The image id: its config digest (classic store) or its manifest/index digest (containerd store). */
  id: string;
  /** Digests this repository already knows the image by (it was pushed from this daemon before). */
  repoDigests: string[];
}

async function inspectLocalImage(
  docker: DockerCli,
  localImage: string,
  repository: Repository,
): Promise<LocalImage> {
  const result = await docker([
    'image',
    'inspect',
    '--format',
    '{{json .Id}} {{json .RepoDigests}}',
    localImage,
  ]);
  if (result.exitCode !== 0) {
    throw new Error(`The local image ${localImage} does not exist: ${result.stderr.trim()}`);
  }
  const [idJson = '""', digestsJson = '[]'] = result.stdout.trim().split(' ');
  const parse = (text: string): unknown => {
    try {
      return JSON.parse(text);
    } catch {
      return undefined;
    }
  };
  const id = parse(idJson);
  const repoDigests = parse(digestsJson);
  return {
    id: typeof id === 'string' ? id : '',
    repoDigests: (Array.isArray(repoDigests) ? repoDigests : [])
      .filter((entry): entry is string => typeof entry === 'string')
      .filter((entry) => entry.startsWith(`${repository.uri}@`))
      .map((entry) => entry.slice(repository.uri.length + 1)),
  };
}

/** BatchGetImage takes at most 100 image ids; a re-run is about a recent version. */
const RECENT_VERSIONS_CHECKED = 100;

/**
 * The version the local image already has in the repository, so that re-running a deploy of the
 * same image reuses its vN instead of pushing a new one. Matches, in order: a digest the daemon
 * recorded when it pushed the image; the image id as a manifest digest (containerd store); the
 * image id as the config digest of one of the 100 newest versions' manifests (classic store, and
 * a fresh runner that rebuilt the same image).
 */
async function versionOfLocalImage(
  ecr: ECRClient,
  repository: Repository,
  local: LocalImage,
  prefix: string,
): Promise<{ version: string; digest: string } | undefined> {
  const images = await listTaggedImages(ecr, repository.name);
  for (const digest of [...local.repoDigests, local.id]) {
    const version = digest ? versionOfDigest(images, digest, prefix) : undefined;
    if (version) {
      requirePullable(images, digest, version, repository.name);
      return { version, digest };
    }
  }
  if (!local.id) return undefined;
  const recent = images
    .map((image) => ({
      image,
      n: Math.max(-1, ...image.tags.map((tag) => versionNumber(tag, prefix) ?? -1)),
    }))
    .filter((entry) => entry.n >= 0)
    .sort((a, b) => b.n - a.n)
    .slice(0, RECENT_VERSIONS_CHECKED)
    .map((entry) => ({ image: entry.image, version: `${prefix}${entry.n}` }));
  if (recent.length === 0) return undefined;
  const answer = await ecr.send(
    new BatchGetImageCommand({
      repositoryName: repository.name,
      imageIds: recent.map((entry) => ({ imageDigest: entry.image.digest })),
      acceptedMediaTypes: MANIFEST_MEDIA_TYPES,
    }),
  );
  for (const image of answer.images ?? []) {
    let config: unknown;
    try {
      config = (JSON.parse(image.imageManifest ?? '{}') as { config?: { digest?: unknown } }).config
        ?.digest;
    } catch {
      config = undefined;
    }
    const match = recent.find((entry) => entry.image.digest === image.imageId?.imageDigest);
    if (config === local.id && match) {
      requirePullable(images, match.image.digest, match.version, repository.name);
      return { version: match.version, digest: match.image.digest };
    }
  }
  return undefined;
}

async function logIn(deps: RegistryDeps, docker: DockerCli, repository: Repository): Promise<void> {
  const answer = await deps.ecr.send(new GetAuthorizationTokenCommand({}));
  const token = answer.authorizationData?.[0]?.authorizationToken;
  if (!token) throw new Error('ECR returned no authorization token.');
  const decoded = Buffer.from(token, 'base64').toString('utf8');
  const password = decoded.slice(decoded.indexOf(':') + 1);
  deps.mask(token);
  deps.mask(password);
  const result = await docker(
    ['login', '--username', 'AWS', '--password-stdin', repository.registry],
    { input: password },
  );
  if (result.exitCode !== 0) {
    throw new Error(`docker login to ${repository.registry} failed: ${result.stderr.trim()}`);
  }
}

/** Pushes the local image as the next `vN` with the docker CLI. */
export async function pushImage(
  deps: RegistryDeps,
  repository: Repository,
  localImage: string,
  prefix: string,
): Promise<PublishedImage> {
  const docker = requireDocker(deps);
  const local = await inspectLocalImage(docker, localImage, repository);
  const existing = await versionOfLocalImage(deps.ecr, repository, local, prefix);
  if (existing) {
    deps.log.info(`${localImage} is already ${existing.version} (${existing.digest}): reusing it.`);
    return {
      version: existing.version,
      uri: `${repository.uri}:${existing.version}`,
      digest: existing.digest,
      reused: true,
    };
  }
  await logIn(deps, docker, repository);
  try {
    for (let attempt = 1; attempt <= MAX_TAG_ATTEMPTS; attempt++) {
      const { version } = await chooseVersion(deps.ecr, repository.name, prefix, []);
      const uri = `${repository.uri}:${version}`;
      await dockerOrFail(docker, ['tag', localImage, uri], `docker tag ${localImage} ${uri}`);
      const pushed = await docker(['push', uri]);
      if (pushed.exitCode !== 0) {
        await docker(['rmi', uri]);
        // An immutable repository refuses a tag a concurrent run pushed first: recompute.
        if (/already exists|immutable/i.test(`${pushed.stdout}\n${pushed.stderr}`)) {
          deps.log.warning(`${version} was taken by a concurrent run; picking the next number.`);
          continue;
        }
        const tail = `${pushed.stdout}\n${pushed.stderr}`.trim().split('\n').slice(-5).join('\n');
        throw new Error(`docker push ${uri} failed (exit ${pushed.exitCode}):\n${tail}`);
      }
      const digest =
        /digest: (sha256:[0-9a-f]{64})/.exec(pushed.stdout)?.[1] ??
        (await digestOfTag(deps.ecr, repository, version));
      deps.log.info(`Pushed ${localImage} as ${uri} (${digest}).`);
      return { version, uri, digest, reused: false };
    }
  } finally {
    await docker(['logout', repository.registry]);
  }
  throw new Error(
    `Could not push ${localImage} with a new version: ${MAX_TAG_ATTEMPTS} numbers in a row were taken by concurrent runs.`,
  );
}

async function digestOfTag(ecr: ECRClient, repository: Repository, tag: string): Promise<string> {
  const answer = await ecr.send(
    new DescribeImagesCommand({ repositoryName: repository.name, imageIds: [{ imageTag: tag }] }),
  );
  const digest = answer.imageDetails?.[0]?.imageDigest;
  if (!digest) throw new Error(`ECR does not report a digest for ${repository.name}:${tag}.`);
  return digest;
}

/**
 * The version and image a publish would produce, without writing anything (dry-run). For a local
 * image the digest is known only once it is pushed, so a re-run's reuse is not predicted.
 */
export async function previewImage(
  ecr: ECRClient,
  repository: Repository,
  source: ImageSource,
  prefix: string,
): Promise<PublishedImage> {
  const digest =
    source.kind === 'promote' ? (await readManifest(ecr, repository, source.sourceTag)).digest : '';
  const choice = await chooseVersion(ecr, repository.name, prefix, digest ? [digest] : []);
  return {
    version: choice.version,
    uri: `${repository.uri}:${choice.version}`,
    digest,
    reused: choice.reused,
  };
}
