import { ECR_REPOSITORY_NAME, patterns } from './instance-script.js';

/** `max-parallel`: a fixed number of instances, or a percentage of the fleet. */
export type MaxParallel = { count: number } | { percent: number };

export type ImageSource =
  { kind: 'push'; localImage: string } | { kind: 'promote'; sourceTag: string };

export type FleetTarget =
  { kind: 'ids'; instanceIds: string[] } | { kind: 'tag'; key: string; value: string };

export interface DeployInputs {
  ecrRepository: string;
  region: string;
  imageSource: ImageSource;
  tagPrefix: string;
  fleet: FleetTarget;
  appDir: string;
  healthUrl: string;
  healthTimeoutSeconds: number;
  maxParallel: MaxParallel;
  rollback: boolean;
  targetGroupArn?: string;
  commandTimeoutSeconds: number;
  dryRun: boolean;
}

/** A wrong input; the message names it. */
export class InputError extends Error {
  override name = 'InputError';
}

/** SSM's InstanceId pattern (botocore ssm 2014-11-06): EC2 ids of 8 or 17 characters, mi- 17. */
export const INSTANCE_ID = /^(?:i-(?:\w{8}|\w{17})|mi-\w{17})$/;
const REPOSITORY = new RegExp(`^(?=.{2,256}$)${ECR_REPOSITORY_NAME.source}$`);
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
// A prefix ending in a digit would make v1 + 2 and v12 the same tag.
const TAG_PREFIX = /^[A-Za-z_]([A-Za-z0-9_.-]{0,62}[A-Za-z_.-])?$/;
const LOCAL_IMAGE = /^[A-Za-z0-9][A-Za-z0-9._\-/:@]{0,511}$/;
const TARGET_GROUP_ARN =
  /^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:targetgroup\/[A-Za-z0-9-]{1,32}\/[0-9a-f]{16}$/;

function integer(name: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw)) {
    throw new InputError(`Input ${name} must be a whole number of seconds, got "${raw}".`);
  }
  const value = Number(raw);
  if (value < min || value > max) {
    throw new InputError(`Input ${name} must be between ${min} and ${max}, got ${value}.`);
  }
  return value;
}

function boolean(name: string, raw: string): boolean {
  if (['true', 'True', 'TRUE'].includes(raw)) return true;
  if (['false', 'False', 'FALSE'].includes(raw)) return false;
  throw new InputError(`Input ${name} must be true or false, got "${raw}".`);
}

function maxParallel(raw: string): MaxParallel {
  const percent = /^(\d{1,3})%$/.exec(raw);
  if (percent) {
    const value = Number(percent[1]);
    if (value < 1 || value > 100) {
      throw new InputError(`Input max-parallel must be between 1% and 100%, got "${raw}".`);
    }
    return { percent: value };
  }
  if (/^\d+$/.test(raw) && Number(raw) >= 1) return { count: Number(raw) };
  if (/^\d+$/.test(raw)) {
    throw new InputError(`Input max-parallel must be at least 1 instance, got "${raw}".`);
  }
  throw new InputError(
    `Input max-parallel must be a number of instances (2) or a percentage of the fleet (25%), got "${raw}".`,
  );
}

function fleet(idsRaw: string, tagRaw: string): FleetTarget {
  if ((idsRaw === '') === (tagRaw === '')) {
    throw new InputError('Set exactly one of the inputs instance-ids and instance-tag.');
  }
  if (tagRaw !== '') {
    const at = tagRaw.indexOf('=');
    const key = at < 0 ? '' : tagRaw.slice(0, at).trim();
    const value = at < 0 ? '' : tagRaw.slice(at + 1).trim();
    if (key === '' || value === '' || key.length > 128 || value.length > 256) {
      throw new InputError(`Input instance-tag must be Key=Value, got "${tagRaw}".`);
    }
    return { kind: 'tag', key, value };
  }
  const ids = [...new Set(idsRaw.split(/[\s,]+/).filter((id) => id !== ''))];
  const wrong = ids.filter((id) => !INSTANCE_ID.test(id));
  if (ids.length === 0 || wrong.length > 0) {
    throw new InputError(
      `Input instance-ids must list EC2 or managed instance ids (i-0123456789abcdef0); not valid: ${wrong.map((id) => `"${id}"`).join(', ') || '(none given)'}.`,
    );
  }
  return { kind: 'ids', instanceIds: ids };
}

function appDir(raw: string): string {
  const dir = raw.length > 1 ? raw.replace(/\/+$/, '') : raw;
  if (!patterns.appDir.test(dir) || dir.split('/').includes('..')) {
    throw new InputError(
      `Input app-dir must be an absolute path of letters, digits, ".", "_", "-" and "/", got "${raw}".`,
    );
  }
  return dir;
}

function healthUrl(raw: string): string {
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (!url || !['http:', 'https:'].includes(url.protocol) || !patterns.healthUrl.test(raw)) {
    throw new InputError(`Input health-url must be an http(s) URL without spaces, got "${raw}".`);
  }
  return raw;
}

/**
 * Parses and validates every input before any AWS call. `read` returns an input's raw value
 * ('' when unset); `env` supplies AWS_REGION when aws-region is not set.
 */
export function parseInputs(
  read: (name: string) => string,
  env: Record<string, string | undefined> = {},
): DeployInputs {
  const get = (name: string, fallback = ''): string => {
    const value = read(name).trim();
    return value === '' ? fallback : value;
  };

  const ecrRepository = get('ecr-repository');
  if (ecrRepository === '') throw new InputError('Input ecr-repository is required.');
  if (!REPOSITORY.test(ecrRepository)) {
    throw new InputError(
      `Input ecr-repository is not a valid ECR repository name: "${ecrRepository}" (2 to 256 lowercase letters and digits, in components joined by ".", "_", "__" or "-" and separated by "/").`,
    );
  }

  const region = get('aws-region', env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? '');
  if (region === '') {
    throw new InputError(
      'Input aws-region is not set and neither is AWS_REGION (set by aws-actions/configure-aws-credentials).',
    );
  }
  if (!patterns.region.test(region)) {
    throw new InputError(`Input aws-region is not a region name: "${region}".`);
  }

  const image = get('image');
  const sourceTag = get('source-tag');
  if ((image === '') === (sourceTag === '')) {
    throw new InputError('Set exactly one of the inputs image and source-tag.');
  }
  if (image !== '' && !LOCAL_IMAGE.test(image)) {
    throw new InputError(`Input image is not an image reference: "${image}".`);
  }
  if (sourceTag !== '' && !TAG.test(sourceTag)) {
    throw new InputError(`Input source-tag is not an image tag: "${sourceTag}".`);
  }

  const tagPrefix = get('tag-prefix', 'v');
  if (!TAG_PREFIX.test(tagPrefix)) {
    throw new InputError(
      `Input tag-prefix must start with a letter or "_", hold only letters, digits, ".", "_" and "-", and not end with a digit; got "${tagPrefix}".`,
    );
  }

  const healthTimeoutSeconds = integer('health-timeout', get('health-timeout', '120'), 1, 3600);
  const commandTimeoutSeconds = integer(
    'command-timeout',
    get('command-timeout', '600'),
    30,
    172800,
  );
  if (commandTimeoutSeconds < healthTimeoutSeconds + 30) {
    throw new InputError(
      `Input command-timeout (${commandTimeoutSeconds} s) must leave room for the health check: at least health-timeout + 30 = ${healthTimeoutSeconds + 30} s.`,
    );
  }

  const targetGroupArn = get('target-group-arn');
  if (targetGroupArn !== '' && !TARGET_GROUP_ARN.test(targetGroupArn)) {
    throw new InputError(`Input target-group-arn is not a target group ARN: "${targetGroupArn}".`);
  }

  return {
    ecrRepository,
    region,
    imageSource:
      image !== ''
        ? { kind: 'push', localImage: image }
        : { kind: 'promote', sourceTag: sourceTag },
    tagPrefix,
    fleet: fleet(get('instance-ids'), get('instance-tag')),
    appDir: appDir(get('app-dir', '/opt/challenge-app')),
    healthUrl: healthUrl(get('health-url', 'http://localhost/health')),
    healthTimeoutSeconds,
    maxParallel: maxParallel(get('max-parallel', '1')),
    rollback: boolean('rollback', get('rollback', 'true')),
    targetGroupArn: targetGroupArn === '' ? undefined : targetGroupArn,
    commandTimeoutSeconds,
    dryRun: boolean('dry-run', get('dry-run', 'false')),
  };
}

/** The number of instances per batch for a fleet of `fleetSize`. */
export function batchSize(maxParallel: MaxParallel, fleetSize: number): number {
  const size =
    'count' in maxParallel
      ? maxParallel.count
      : Math.floor((fleetSize * maxParallel.percent) / 100);
  return Math.max(1, Math.min(size, Math.max(fleetSize, 1)));
}
