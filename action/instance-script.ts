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
  /** The rollout's id, kept with the deploy's backup so that MODE=restore knows it is this one's. */
  deployId?: string;
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
  /** Hook mode only: the command exited non-zero (nothing switched). */
  hookFailed: 16,
  /** Restore mode only: no backup of this deploy on the instance; nothing was done. */
  untouched: 17,
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
  /** A compose service name (compose-spec: `[a-zA-Z0-9._-]+`). */
  composeService: /^[A-Za-z0-9._-]{1,128}$/,
  deployId: /^[A-Za-z0-9._-]{1,100}$/,
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
  'DEPLOY_ID',
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
  'HOOK_PHASE',
  'HOOK_SERVICE',
] as const;

type ScriptName = (typeof SCRIPT_NAMES)[number];

function checkedAppDir(appDir: string): string {
  if (appDir.split('/').includes('..')) {
    throw new Error(`instance script: APP_DIR ${JSON.stringify(appDir)} must not contain ..`);
  }
  return checked('APP_DIR', appDir.replace(/(.)\/+$/, '$1'), patterns.appDir);
}

/**
 * Sets the values, shell-quoted, as readonly variables in place of the template's placeholder;
 * `hookArgs` becomes the array HOOK_ARGS, one quoted word per argument.
 */
function renderTemplate(
  values: Partial<Record<ScriptName, string>>,
  hookArgs: string[] = [],
): string {
  // A compose file, an env value or a hook argument may hold "$" or "`": literal on purpose.
  const literal = (line: string, value: string) =>
    /[$`]/.test(value) ? `# shellcheck disable=SC2016\n${line}` : line;
  const block = SCRIPT_NAMES.map((name) => {
    const value = values[name] ?? '';
    return literal(`readonly ${name}=${shellQuote(value)}`, value);
  });
  block.push(
    literal(`readonly -a HOOK_ARGS=(${hookArgs.map(shellQuote).join(' ')})`, hookArgs.join(' ')),
  );
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
    DEPLOY_ID: values.deployId ? checked('DEPLOY_ID', values.deployId, patterns.deployId) : '',
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

/** Values of the hook mode: a one-off container of the new image runs `args`. */
export interface HookScriptValues {
  phase: 'pre-deploy' | 'post-deploy';
  region: string;
  registry: string;
  image: string;
  version: string;
  appDir: string;
  /** compose-service; undefined: the first service of the compose file. */
  service?: string;
  /** The command's argv (see action/hooks.ts for how the input becomes words). */
  args: string[];
  composeContent?: string;
  envEntries?: EnvEntry[];
  envFromSsm?: string;
}

/**
 * Renders the instance script in hook mode: it switches nothing; it pulls `image` and runs `args`
 * in a one-off container of the service with the .env a deploy of `version` would write.
 */
export function renderHookScript(values: HookScriptValues): string {
  if (values.args.length === 0) throw new Error('instance script: a hook needs a command');
  return renderTemplate(
    {
      MODE: 'hook',
      HOOK_PHASE: values.phase === 'post-deploy' ? 'post-deploy' : 'pre-deploy',
      HOOK_SERVICE: values.service
        ? checked('HOOK_SERVICE', values.service, patterns.composeService)
        : '',
      REGION: checked('REGION', values.region, patterns.region),
      REGISTRY: checked('REGISTRY', values.registry, patterns.registry),
      IMAGE: checked('IMAGE', values.image, patterns.image),
      VERSION: checked('VERSION', values.version, patterns.version),
      APP_DIR: checkedAppDir(values.appDir),
      // Not used by a hook, but the template's health code needs a valid number.
      HEALTH_TIMEOUT: '1',
      HEALTH_INTERVAL: '1',
      ROLLBACK: 'false',
      ...versionAssignments(DEFAULT_HEALTH_VERSION),
      COMPOSE_CONTENT: values.composeContent ?? '',
      ENV_ENTRIES: envLines(values.envEntries ?? []),
      ENV_FROM_SSM: values.envFromSsm
        ? checked('ENV_FROM_SSM', values.envFromSsm, patterns.ssmPath)
        : '',
    },
    values.args,
  );
}

/** Values of the restore mode: undo the deploy of `version` with `deployId` from its backup. */
export interface RestoreScriptValues {
  region: string;
  registry: string;
  version: string;
  deployId: string;
  appDir: string;
  healthUrl: string;
  healthVersion?: HealthVersion;
  healthTimeoutSeconds: number;
  healthIntervalSeconds?: number;
}

/**
 * Renders the instance script in restore mode (the post step after a cancel, for an instance
 * whose previous image the action never learned): it puts back what the deploy with `deployId`
 * replaced, from the instance's own backup, and health-checks it; with no such backup it does
 * nothing.
 */
export function renderRestoreScript(values: RestoreScriptValues): string {
  return renderTemplate({
    MODE: 'restore',
    DEPLOY_ID: checked('DEPLOY_ID', values.deployId, patterns.deployId),
    REGION: checked('REGION', values.region, patterns.region),
    REGISTRY: checked('REGISTRY', values.registry, patterns.registry),
    VERSION: checked('VERSION', values.version, patterns.version),
    APP_DIR: checkedAppDir(values.appDir),
    HEALTH_URL: checked('HEALTH_URL', values.healthUrl, patterns.healthUrl),
    HEALTH_TIMEOUT: checkedSeconds('HEALTH_TIMEOUT', values.healthTimeoutSeconds),
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
    | 'hook-succeeded'
    | 'hook-failed'
    | 'restored'
    | 'untouched'
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
  /** Hook mode: the command's exit code. */
  hookExitCode?: number;
  /** Restore mode: true when .env or the compose file was put back. */
  restored?: boolean;
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
  [ScriptExit.hookFailed]: 'hook-failed',
  [ScriptExit.untouched]: 'untouched',
};

/** Outcomes a result line may carry besides those the exit code gives. */
const LINE_ONLY_OUTCOMES: ScriptReport['outcome'][] = ['hook-succeeded', 'restored'];

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
    fromLine &&
    (Object.values(outcomeByExitCode).includes(fromLine) || LINE_ONLY_OUTCOMES.includes(fromLine))
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
    hookExitCode: /^\d+$/.test(text(result?.hookExitCode) ?? '')
      ? Number(result?.hookExitCode)
      : undefined,
    restored: text(result?.restored) === undefined ? undefined : result?.restored === 'true',
    fromResultLine: result !== undefined,
  };
}
