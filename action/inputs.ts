import { AppConfigError, parseEnvEntries, type EnvEntry } from './app-config.js';
import { parseHealthVersion, type HealthVersion } from './health-version.js';
import { ECR_REPOSITORY_NAME, patterns } from './instance-script.js';
import { RELEASE_PARAMETER, RESERVED_PREFIX } from './release.js';

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
  /** How the health gate recognises the new version (`health-version`). */
  healthVersion: HealthVersion;
  healthTimeoutSeconds: number;
  maxParallel: MaxParallel;
  rollback: boolean;
  targetGroupArn?: string;
  commandTimeoutSeconds: number;
  dryRun: boolean;
  /** `compose-file`: the path relative to the workspace, when set. */
  composeFile?: string;
  /** `env`: entries merged into the instance's .env on every deploy. */
  env: EnvEntry[];
  /** `env-from-ssm`: a Parameter Store path the instances read into .env on every deploy. */
  envFromSsm?: string;
  /** `release-parameter`: the SSM parameter written after a fully successful deploy. */
  releaseParameter?: string;
  /** `canary`: the size of the first batch; undefined: every batch is `max-parallel`. */
  canary?: MaxParallel;
  /** `bake-time`: seconds watched after each batch before the next (0: no bake). */
  bakeSeconds: number;
  /** `alarm-names`: CloudWatch alarms that stop and roll back the rollout. */
  alarmNames: string[];
  /** `max-failures`: instances that may fail and be returned on their own. */
  maxFailures: MaxParallel;
}

/**
 * The defaults action.yml declares. The runner applies action.yml's; these apply where nothing
 * does (tests, scripts that call parseInputs). test/action/input-defaults.test.ts fails when the
 * two differ, in either direction.
 */
export const INPUT_DEFAULTS = {
  'tag-prefix': 'v',
  'app-dir': '/opt/challenge-app',
  'health-url': 'http://localhost/health',
  'health-version': 'json:version',
  'health-timeout': '120',
  'max-parallel': '1',
  rollback: 'true',
  'command-timeout': '600',
  'dry-run': 'false',
  'bake-time': '0',
  'max-failures': '0',
} as const;

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

const COMPOSE_FILE = /^[A-Za-z0-9_][A-Za-z0-9._/-]{0,1023}$/;

function composeFile(raw: string): string | undefined {
  if (raw === '') return undefined;
  if (!COMPOSE_FILE.test(raw) || raw.split('/').includes('..')) {
    throw new InputError(
      `Input compose-file must be a path relative to the workspace, of letters, digits, ".", "_", "-" and "/", without "..", got "${raw}".`,
    );
  }
  return raw;
}

function envEntries(raw: string): EnvEntry[] {
  try {
    return parseEnvEntries(raw);
  } catch (error) {
    if (error instanceof AppConfigError) throw new InputError(error.message);
    throw error;
  }
}

function envFromSsm(raw: string): string | undefined {
  if (raw === '') return undefined;
  if (!patterns.ssmPath.test(raw) || raw.length > 1011) {
    throw new InputError(
      `Input env-from-ssm must be a Parameter Store path such as /my-app/production/ (letters, digits, "_", ".", "-" between slashes), got "${raw}".`,
    );
  }
  return raw;
}

function releaseParameter(raw: string): string | undefined {
  if (raw === '') return undefined;
  if (!RELEASE_PARAMETER.test(raw) || RESERVED_PREFIX.test(raw) || raw.length > 1011) {
    throw new InputError(
      `Input release-parameter must be an SSM parameter name such as /my-app/production/release (letters, digits, "_", ".", "-" between slashes, not starting with aws or ssm), got "${raw}".`,
    );
  }
  return raw;
}

function healthVersion(raw: string): HealthVersion {
  const parsed = parseHealthVersion(raw);
  if (!parsed) {
    throw new InputError(
      `Input health-version must be json:<field> (a dot path into the JSON body, such as json:version or json:build.version; letters, digits, "_" and "-" between the dots), header:<Header-Name> (such as header:X-App-Version) or none; got "${raw}".`,
    );
  }
  return parsed;
}

// Rollout strategies (issue 12): canary, bake-time, alarm-names, max-failures.

/** A size input: `N` instances or `N%` of the fleet; `min` is 0 or 1. */
function sizeSpec(name: string, raw: string, min: 0 | 1): MaxParallel {
  const percent = /^(\d{1,3})%$/.exec(raw);
  const value = Number(percent ? percent[1] : raw);
  if (percent && value >= min && value <= 100) return { percent: value };
  if (!percent && /^\d{1,9}$/.test(raw) && value >= min) return { count: value };
  throw new InputError(
    `Input ${name} must be a number of instances (${min === 0 ? '0, 1' : '1, 2'}, …) or a percentage of the fleet (${min}% to 100%), got "${raw}".`,
  );
}

/** CloudWatch AlarmName: 1 to 255 characters, no control characters (botocore cloudwatch). */
// eslint-disable-next-line no-control-regex
const ALARM_NAME = /^[^\u0000-\u001f\u007f]{1,255}$/;
/** DescribeAlarms takes at most 100 AlarmNames. */
export const MAX_ALARM_NAMES = 100;

function alarmNames(raw: string): string[] {
  const names = [
    ...new Set(
      raw
        .split(/[,\n]/)
        .map((name) => name.trim())
        .filter((name) => name !== ''),
    ),
  ];
  const wrong = names.filter((name) => !ALARM_NAME.test(name));
  if (wrong.length > 0) {
    throw new InputError(
      `Input alarm-names must list CloudWatch alarm names (1 to 255 characters, no control characters), separated by commas or newlines; not valid: ${wrong.map((name) => JSON.stringify(name)).join(', ')}.`,
    );
  }
  if (names.length > MAX_ALARM_NAMES) {
    throw new InputError(
      `Input alarm-names lists ${names.length} alarms; at most ${MAX_ALARM_NAMES} (one DescribeAlarms call). Combine them in a composite alarm.`,
    );
  }
  return names;
}

/**
 * Parses and validates every input before any AWS call. `read` returns an input's raw value
 * ('' when unset); `env` supplies AWS_REGION when aws-region is not set.
 */
export function parseInputs(
  read: (name: string) => string,
  env: Record<string, string | undefined> = {},
): DeployInputs {
  const defaults: Readonly<Record<string, string>> = INPUT_DEFAULTS;
  const get = (name: string, fallback: string = defaults[name] ?? ''): string => {
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

  const tagPrefix = get('tag-prefix');
  if (!TAG_PREFIX.test(tagPrefix)) {
    throw new InputError(
      `Input tag-prefix must start with a letter or "_", hold only letters, digits, ".", "_" and "-", and not end with a digit; got "${tagPrefix}".`,
    );
  }

  const healthTimeoutSeconds = integer('health-timeout', get('health-timeout'), 1, 3600);
  const commandTimeoutSeconds = integer('command-timeout', get('command-timeout'), 30, 172800);
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
    appDir: appDir(get('app-dir')),
    healthUrl: healthUrl(get('health-url')),
    healthVersion: healthVersion(get('health-version')),
    healthTimeoutSeconds,
    maxParallel: maxParallel(get('max-parallel')),
    rollback: boolean('rollback', get('rollback')),
    targetGroupArn: targetGroupArn === '' ? undefined : targetGroupArn,
    commandTimeoutSeconds,
    dryRun: boolean('dry-run', get('dry-run')),
    composeFile: composeFile(get('compose-file')),
    env: envEntries(read('env')),
    envFromSsm: envFromSsm(get('env-from-ssm')),
    releaseParameter: releaseParameter(get('release-parameter')),
    canary: get('canary') === '' ? undefined : sizeSpec('canary', get('canary'), 1),
    bakeSeconds: integer('bake-time', get('bake-time'), 0, 21600),
    alarmNames: alarmNames(read('alarm-names')),
    maxFailures: sizeSpec('max-failures', get('max-failures'), 0),
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
