import { deployScriptTemplate } from './deploy-script.generated.js';

/** Values the instance script needs; `renderInstanceScript` is the only way they reach it. */
export interface InstanceScriptValues {
  mode: 'deploy' | 'rollback';
  region: string;
  /** Registry host (and port), e.g. `123456789012.dkr.ecr.eu-west-1.amazonaws.com`. */
  registry: string;
  /** Full image reference, `<registry>/<repository>:<tag>`. */
  image: string;
  version: string;
  appDir: string;
  healthUrl: string;
  healthTimeoutSeconds: number;
  healthIntervalSeconds?: number;
  rollback: boolean;
}

/** The exit codes of action/scripts/deploy.sh (documented at its top). */
export const ScriptExit = {
  deployed: 0,
  rolledBack: 10,
  rollbackFailed: 11,
  firstDeployFailed: 12,
  failedUnchanged: 13,
  failedLeftInPlace: 14,
} as const;

export const RESULT_PREFIX = 'CHALLENGE_DEPLOY_RESULT';
export const PREVIOUS_PREFIX = 'CHALLENGE_DEPLOY_PREVIOUS';

const PLACEHOLDER = '#@VALUES@#';

/**
 * ECR's RepositoryName pattern (botocore ecr 2015-09-21): components joined by ".", "_", "__" or
 * a run of "-", separated by "/". Its length (2 to 256) is checked where the name is an input.
 */
export const ECR_REPOSITORY_NAME =
  /[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*/;

export const patterns = {
  region: /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/,
  registry: /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\d{1,5})?$/,
  image: new RegExp(
    `^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\\d{1,5})?\\/${ECR_REPOSITORY_NAME.source}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})$`,
  ),
  version: /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/,
  appDir: /^\/[A-Za-z0-9._/-]*$/,
  healthUrl: /^https?:\/\/[^\s]+$/,
} as const;

/** Wraps a value in single quotes so that the shell reads it literally, whatever it holds. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

function checked(name: string, value: string, pattern: RegExp): string {
  if (!pattern.test(value)) {
    throw new Error(`instance script: ${name} ${JSON.stringify(value)} does not match ${pattern}`);
  }
  return value;
}

function checkedSeconds(name: string, value: number): string {
  if (!Number.isInteger(value) || value < 1 || value > 172800) {
    throw new Error(`instance script: ${name} must be a whole number of seconds, got ${value}`);
  }
  return String(value);
}

/**
 * Renders the instance script: every value is validated (where it has a shape) and shell-quoted,
 * then set as a readonly variable in place of the template's placeholder line.
 */
export function renderInstanceScript(values: InstanceScriptValues): string {
  if (values.appDir.split('/').includes('..')) {
    throw new Error(
      `instance script: APP_DIR ${JSON.stringify(values.appDir)} must not contain ..`,
    );
  }
  const assignments: Array<[string, string]> = [
    ['MODE', values.mode === 'rollback' ? 'rollback' : 'deploy'],
    ['REGION', checked('REGION', values.region, patterns.region)],
    ['REGISTRY', checked('REGISTRY', values.registry, patterns.registry)],
    ['IMAGE', checked('IMAGE', values.image, patterns.image)],
    ['VERSION', checked('VERSION', values.version, patterns.version)],
    ['APP_DIR', checked('APP_DIR', values.appDir.replace(/(.)\/+$/, '$1'), patterns.appDir)],
    ['HEALTH_URL', checked('HEALTH_URL', values.healthUrl, patterns.healthUrl)],
    ['HEALTH_TIMEOUT', checkedSeconds('HEALTH_TIMEOUT', values.healthTimeoutSeconds)],
    ['HEALTH_INTERVAL', checkedSeconds('HEALTH_INTERVAL', values.healthIntervalSeconds ?? 2)],
    ['ROLLBACK', values.rollback ? 'true' : 'false'],
  ];
  const block = assignments.map(([name, value]) => `readonly ${name}=${shellQuote(value)}`);
  if (!deployScriptTemplate.includes(PLACEHOLDER)) {
    throw new Error('instance script: the template has lost its values placeholder');
  }
  return deployScriptTemplate.replace(PLACEHOLDER, () => block.join('\n'));
}

export interface ScriptReport {
  outcome:
    | 'deployed'
    | 'rolled-back'
    | 'rollback-failed'
    | 'first-deploy-failed'
    | 'failed-unchanged'
    | 'failed'
    | 'unknown';
  version?: string;
  image?: string;
  previousVersion?: string;
  previousImage?: string;
  failedStep?: string;
  httpStatus?: string;
  reportedVersion?: string;
  healthSeconds?: number;
  rollbackHttpStatus?: string;
  /** false when the result line was missing and the outcome came from the exit code. */
  fromResultLine: boolean;
}

const outcomeByExitCode: Record<number, ScriptReport['outcome']> = {
  [ScriptExit.deployed]: 'deployed',
  [ScriptExit.rolledBack]: 'rolled-back',
  [ScriptExit.rollbackFailed]: 'rollback-failed',
  [ScriptExit.firstDeployFailed]: 'first-deploy-failed',
  [ScriptExit.failedUnchanged]: 'failed-unchanged',
  [ScriptExit.failedLeftInPlace]: 'failed',
};

function lastJsonAfter(output: string, prefix: string): Record<string, unknown> | undefined {
  const lines = output.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]?.trim() ?? '';
    if (!line.startsWith(`${prefix} `)) continue;
    try {
      const parsed: unknown = JSON.parse(line.slice(prefix.length + 1));
      if (parsed && typeof parsed === 'object') return parsed as Record<string, unknown>;
    } catch {
      // A truncated line: fall through to earlier ones, then to the exit code.
    }
  }
  return undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * Reads the script's result from its output and exit code. The result line comes last, so when
 * SSM truncated the output (24,000 characters) the exit code and the early PREVIOUS line still
 * tell what happened and what to roll back to.
 */
export function parseScriptReport(output: string, exitCode: number | undefined): ScriptReport {
  const result = lastJsonAfter(output, RESULT_PREFIX);
  const previous = lastJsonAfter(output, PREVIOUS_PREFIX);
  const fromCode = exitCode === undefined ? undefined : outcomeByExitCode[exitCode];
  const fromLine = text(result?.outcome) as ScriptReport['outcome'] | undefined;
  const outcome =
    fromLine && Object.values(outcomeByExitCode).includes(fromLine)
      ? fromLine
      : (fromCode ?? 'unknown');
  const healthSeconds = Number(result?.healthSeconds);
  return {
    outcome,
    version: text(result?.version),
    image: text(result?.image),
    previousVersion: text(result?.previousVersion) ?? text(previous?.version),
    previousImage: text(result?.previousImage) ?? text(previous?.image),
    failedStep: text(result?.failedStep),
    httpStatus: text(result?.httpStatus),
    reportedVersion: text(result?.reportedVersion),
    healthSeconds: Number.isFinite(healthSeconds) && result ? healthSeconds : undefined,
    rollbackHttpStatus: text(result?.rollbackHttpStatus),
    fromResultLine: result !== undefined,
  };
}
