import { paginateDescribeImages, type ECRClient } from '@aws-sdk/client-ecr';

export interface TaggedImage {
  digest: string;
  tags: string[];
  /** ECR's imageStatus: ACTIVE, ARCHIVED (cannot be pulled) or ACTIVATING (being restored). */
  status?: string;
}

/**
 * Every tagged image of the repository, archived ones included: DescribeImages lists only ACTIVE
 * images unless asked for ANY, and an archived vN still holds its number (and its tag). A
 * repository holds thousands, so every page is read.
 */
export async function listTaggedImages(
  ecr: ECRClient,
  repositoryName: string,
): Promise<TaggedImage[]> {
  const images: TaggedImage[] = [];
  const pages = paginateDescribeImages(
    { client: ecr, pageSize: 1000 },
    { repositoryName, filter: { tagStatus: 'TAGGED', imageStatus: 'ANY' } },
  );
  for await (const page of pages) {
    for (const detail of page.imageDetails ?? []) {
      if (detail.imageDigest) {
        images.push({
          digest: detail.imageDigest,
          tags: detail.imageTags ?? [],
          status: detail.imageStatus,
        });
      }
    }
  }
  return images;
}

/** Refuses to reuse a version whose image ECR cannot serve: instances could not pull it. */
export function requirePullable(
  images: TaggedImage[],
  digest: string,
  version: string,
  repositoryName: string,
): void {
  const image = images.find(
    (candidate) => candidate.digest === digest && candidate.status && candidate.status !== 'ACTIVE',
  );
  if (!image) return;
  throw new Error(
    image.status === 'ARCHIVED'
      ? `${version} (${digest}) is archived in ECR repository ${repositoryName}, and ECR cannot pull an archived image: restore it (aws ecr update-image-storage-class --repository-name ${repositoryName} --image-id imageDigest=${digest} --target-storage-class STANDARD) and run again.`
      : `${version} (${digest}) is ${image.status} in ECR repository ${repositoryName} (being restored from the archive): run again once it is ACTIVE.`,
  );
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The number N of a `<prefix>N` tag, or undefined for any other tag (`latest`, `v1.2`, `vfoo`). */
export function versionNumber(tag: string, prefix: string): number | undefined {
  const match = new RegExp(`^${escapeRegExp(prefix)}(\\d+)$`).exec(tag);
  if (!match?.[1]) return undefined;
  const n = Number(match[1]);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** The highest `<prefix>N` in the repository plus one (gaps are not filled: v1, v2, v10 → v11). */
export function nextVersion(images: TaggedImage[], prefix: string): string {
  let highest = 0;
  for (const image of images) {
    for (const tag of image.tags) {
      highest = Math.max(highest, versionNumber(tag, prefix) ?? 0);
    }
  }
  return `${prefix}${highest + 1}`;
}

/** The highest `<prefix>N` tag the digest already carries, so that a re-run reuses it. */
export function versionOfDigest(
  images: TaggedImage[],
  digest: string,
  prefix: string,
): string | undefined {
  let best: number | undefined;
  for (const image of images.filter((candidate) => candidate.digest === digest)) {
    for (const tag of image.tags) {
      const n = versionNumber(tag, prefix);
      if (n !== undefined && (best === undefined || n > best)) best = n;
    }
  }
  return best === undefined ? undefined : `${prefix}${best}`;
}

export interface VersionChoice {
  version: string;
  /** true when the digest already carried this tag: nothing needs to be tagged. */
  reused: boolean;
}

/**
 * Reuses the version of the image's digest when it has one (re-runs are idempotent), else takes
 * the next free number. `digests` are the image's known digests (none when unknown yet).
 */
export async function chooseVersion(
  ecr: ECRClient,
  repositoryName: string,
  prefix: string,
  digests: string[],
): Promise<VersionChoice & { digest?: string }> {
  const images = await listTaggedImages(ecr, repositoryName);
  for (const digest of digests) {
    const existing = versionOfDigest(images, digest, prefix);
    if (existing) {
      requirePullable(images, digest, existing, repositoryName);
      return { version: existing, reused: true, digest };
    }
  }
  return { version: nextVersion(images, prefix), reused: false };
}
