// Why a bash template sent through AWS-RunShellScript: docs/decisions.md.
import { envLines, MAX_COMMAND_BYTES, type EnvEntry } from './app-config.js';
import { deployScriptTemplate } from './deploy-script.generated.js';
import {
  DEFAULT_HEALTH_VERSION,
  HEADER_NAME,
  JSON_PATH,
  scriptFields,
  type HealthVersion,
} from './health-version.js';

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
  /** How the health gate recognises the version; default `json:version`. */
  healthVersion?: HealthVersion;
  /** The text written as APP_DIR/docker-compose.yml; undefined: the file is left as it is. */
  composeContent?: string;
  /** Entries merged into .env (validated by app-config.ts). */
  envEntries?: EnvEntry[];
  /** A Parameter Store path read on the instance into .env with each deploy. */
  envFromSsm?: string;
}

/** The exit codes of action/scripts/deploy.sh (documented at its top). */
export const ScriptExit = {
  deployed: 0,
  rolledBack: 10,
  rollbackFailed: 11,
  firstDeployFailed: 12,
  failedUnchanged: 13,
  failedLeftInPlace: 14,
  /** Check mode only: the version asked about is not healthy (nothing changed). */
  unhealthy: 15,
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
  /** Parameter Store names are letters, digits, "_", ".", "-" and "/". */
  ssmPath: /^\/([A-Za-z0-9_.-]+\/?)*$/,
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

function versionAssignments(healthVersion: HealthVersion): {
  VERSION_SOURCE: string;
  VERSION_FIELD: string;
} {
  const { source, field } = scriptFields(healthVersion);
  const pattern = source === 'json' ? JSON_PATH : source === 'header' ? HEADER_NAME : /^$/;
  return { VERSION_SOURCE: source, VERSION_FIELD: checked('VERSION_FIELD', field, pattern) };
}

/** Every name the template reads; a mode that does not use one renders it empty. */
const SCRIPT_NAMES = [
  'MODE',
  'REGION',
  'REGISTRY',
  'IMAGE',
  'VERSION',
  'APP_DIR',
  'HEALTH_URL',
  'HEALTH_TIMEOUT',
  'HEALTH_INTERVAL',
  'ROLLBACK',
  'VERSION_SOURCE',
  'VERSION_FIELD',
  'COMPOSE_CONTENT',
  'ENV_ENTRIES',
  'ENV_FROM_SSM',
] as const;

type ScriptName = (typeof SCRIPT_NAMES)[number];

function checkedAppDir(appDir: string): string {
  if (appDir.split('/').includes('..')) {
    throw new Error(`instance script: APP_DIR ${JSON.stringify(appDir)} must not contain ..`);
  }
  return checked('APP_DIR', appDir.replace(/(.)\/+$/, '$1'), patterns.appDir);
}

/** Sets the values, shell-quoted, as readonly variables in place of the template's placeholder. */
function renderTemplate(values: Partial<Record<ScriptName, string>>): string {
  const block = SCRIPT_NAMES.map((name) => {
    const value = values[name] ?? '';
    const line = `readonly ${name}=${shellQuote(value)}`;
    // A compose file or an env value may hold "$" or "`": literal here on purpose.
    return /[$`]/.test(value) ? `# shellcheck disable=SC2016\n${line}` : line;
  });
  if (!deployScriptTemplate.includes(PLACEHOLDER)) {
    throw new Error('instance script: the template has lost its values placeholder');
  }
  const script = deployScriptTemplate.replace(PLACEHOLDER, () => block.join('\n'));
  const bytes = Buffer.byteLength(script);
  if (bytes > MAX_COMMAND_BYTES) {
    throw new Error(
      `instance script: ${bytes} bytes, more than one SSM command carries (${MAX_COMMAND_BYTES}); make compose-file or env smaller`,
    );
  }
  return script;
}

/**
 * Renders the instance script: every value is validated (where it has a shape) and shell-quoted,
 * then set as a readonly variable in place of the template's placeholder line.
 */
export function renderInstanceScript(values: InstanceScriptValues): string {
  return renderTemplate({
    MODE: values.mode === 'rollback' ? 'rollback' : 'deploy',
    REGION: checked('REGION', values.region, patterns.region),
    REGISTRY: checked('REGISTRY', values.registry, patterns.registry),
    IMAGE: checked('IMAGE', values.image, patterns.image),
    VERSION: checked('VERSION', values.version, patterns.version),
    APP_DIR: checkedAppDir(values.appDir),
    HEALTH_URL: checked('HEALTH_URL', values.healthUrl, patterns.healthUrl),
    HEALTH_TIMEOUT: checkedSeconds('HEALTH_TIMEOUT', values.healthTimeoutSeconds),
    HEALTH_INTERVAL: checkedSeconds('HEALTH_INTERVAL', values.healthIntervalSeconds ?? 2),
    ROLLBACK: values.rollback ? 'true' : 'false',
    ...versionAssignments(values.healthVersion ?? DEFAULT_HEALTH_VERSION),
    COMPOSE_CONTENT: values.composeContent ?? '',
    ENV_ENTRIES: envLines(values.envEntries ?? []),
    ENV_FROM_SSM: values.envFromSsm
      ? checked('ENV_FROM_SSM', values.envFromSsm, patterns.ssmPath)
      : '',
  });
}

/** Values of the check mode: is `version` healthy on the instance? */
export interface CheckScriptValues {
  appDir: string;
  healthUrl: string;
  healthVersion?: HealthVersion;
  version: string;
  /** How long to retry before calling it unhealthy; default 10. */
  healthTimeoutSeconds?: number;
  healthIntervalSeconds?: number;
}

/**
 * Renders the instance script in check mode (the bake's re-check): it changes nothing on the
 * instance, runs the deploy's own health check for `version` and ends with the usual result line
 * (`deployed` when healthy, `unhealthy` otherwise), read by `parseScriptReport`.
 */
export function renderCheckScript(values: CheckScriptValues): string {
  return renderTemplate({
    MODE: 'check',
    VERSION: checked('VERSION', values.version, patterns.version),
    APP_DIR: checkedAppDir(values.appDir),
    HEALTH_URL: checked('HEALTH_URL', values.healthUrl, patterns.healthUrl),
    HEALTH_TIMEOUT: checkedSeconds('HEALTH_TIMEOUT', values.healthTimeoutSeconds ?? 10),
    HEALTH_INTERVAL: checkedSeconds('HEALTH_INTERVAL', values.healthIntervalSeconds ?? 2),
    ROLLBACK: 'false',
    ...versionAssignments(values.healthVersion ?? DEFAULT_HEALTH_VERSION),
  });
}

export interface ScriptReport {
  outcome:
    | 'deployed'
    | 'rolled-back'
    | 'rollback-failed'
    | 'first-deploy-failed'
    | 'failed-unchanged'
    | 'failed'
    | 'unhealthy'
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
  [ScriptExit.unhealthy]: 'unhealthy',
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
