// A stand-in for one instance: a temporary directory whose PATH holds small fakes of docker,
// docker-compose, aws, curl and sleep that record their calls and answer as scripted. `up -d`
// makes the version named in .env the running one; curl answers for whatever is running.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type Health = 'healthy' | 'new-unhealthy' | 'old-version-answers' | 'down';

/**
 * How the stand-in app reports its version: `{"version": …}`, at `app.builds.0.version` (with a
 * decoy "version" at the top), in an `X-App-Version` header, or not at all (a plain `OK`).
 */
export type AppShape = 'json' | 'nested' | 'header' | 'plain';

const SYSTEM_TOOLS = [
  'awk',
  'bash',
  'cat',
  'chmod',
  'cmp',
  'cp',
  'cut',
  'date',
  'flock',
  'grep',
  'head',
  'mkdir',
  'mktemp',
  'rm',
  'sed',
  'tail',
  'tr',
];

const STAND_INS: Record<string, string> = {
  docker: `#!/bin/bash
echo "docker $*" >> "$STATE/calls"
if [ "$1" = compose ]; then
  shift
  [ "$COMPOSE_V2" = 1 ] || { echo "docker: 'compose' is not a docker command." >&2; exit 1; }
  exec compose-stand-in "$@"
fi
if [ "$1" = login ]; then cat > "$STATE/login-password"; echo 'Login Succeeded'; fi
c="$STATE/containers/\${2:-none}"
case "$1" in
  wait)
    [ -f "$c.exit" ] || { echo "Error: No such container: $2" >&2; exit 1; }
    # HOOK_WAIT=hang: the container runs until it is removed (then wait returns), or 8 s pass
    # (then the fake gives up, noting it in wait-ended, so that a test cannot hang).
    if [ "$HOOK_WAIT" = hang ]; then
      for _ in {1..80}; do [ -f "$c.exit" ] || { echo removed > "$STATE/wait-ended"; echo 137; exit 0; }; command -p sleep 0.1; done
      echo gave-up > "$STATE/wait-ended"; echo 137; exit 0
    fi
    cat "$c.exit" ;;
  logs) [ -f "$c.log" ] || { echo "Error: No such container: $2" >&2; exit 1; }; cat "$c.log" ;;
  rm) c="$STATE/containers/$3"; [ -f "$c.exit" ] || { echo "Error: No such container: $3" >&2; exit 1; }; rm -f "$c.exit" "$c.log" ;;
esac
`,
  'docker-compose': `#!/bin/bash
echo "docker-compose $*" >> "$STATE/calls"
exec compose-stand-in "$@"
`,
  'compose-stand-in': `#!/bin/bash
env_file=.env; compose_file=docker-compose.yml; project=.
while [ $# -gt 0 ]; do
  case "$1" in
    -f) compose_file="$2"; shift 2 ;;
    --env-file) env_file="$2"; shift 2 ;;
    --project-directory) project="$2"; shift 2 ;;
    *) break ;;
  esac
done
case "$1" in
  version) echo 'Docker Compose version v2.29.0' ;;
  pull) image="$(sed -n 's/^IMAGE=//p' "$env_file")"; echo "pulling $image"; echo "$image $2" >> "$STATE/pulled" ;;
  up) sed -n 's/^APP_VERSION=//p' .env > "$STATE/running"; echo 'Container app Started' ;;
  run)
    # A one-off container, detached only (an attached run is what hangs on podman): records what
    # it was given, prints its name and "runs": 50 lines of output, exit HOOK_EXIT (for docker
    # wait/logs). HOOK_START=fail: created but not started, as when its command does not exist.
    shift
    printf '%s\\0' "$@" > "$STATE/run-argv"
    cp "$env_file" "$STATE/run-env"
    cp "$compose_file" "$STATE/run-compose"
    echo "$project" > "$STATE/run-project"
    [ "$1" = -d ] || { echo 'compose run: not detached: this would hang on podman' >&2; exit 99; }
    name=''; for ((i = 1; i <= $#; i++)); do [ "\${!i}" = --name ] && { j=$((i + 1)); name="\${!j}"; }; done
    [ -n "$name" ] || name="app_run_$RANDOM"
    mkdir -p "$STATE/containers"
    { for i in {1..50}; do echo "hook line $i"; done; } > "$STATE/containers/$name.log"
    echo "\${HOOK_EXIT:-0}" > "$STATE/containers/$name.exit"
    if [ "$HOOK_START" = fail ]; then echo 'Error: executable file not found in $PATH' >&2; exit 1; fi
    echo "$name"
    ;;
esac
`,
  aws: `#!/bin/bash
echo "aws $*" >> "$STATE/calls"
if [ "$1" = ssm ]; then
  [ -f "$STATE/ssm-parameters.json" ] || { echo 'An error occurred (AccessDeniedException) when calling the GetParametersByPath operation' >&2; exit 254; }
  exec cat "$STATE/ssm-parameters.json"
fi
echo 'ecr-password'
`,
  curl: `#!/bin/bash
echo "curl $*" >> "$STATE/calls"
out=''; url=''; headers=/dev/null
while [ $# -gt 0 ]; do
  case "$1" in -o) out="$2"; shift 2 ;; -D) headers="$2"; shift 2 ;; -w|--max-time) shift 2 ;; -*) shift ;; *) url="$1"; shift ;; esac
done
echo "$url" > "$STATE/last-url"
running="$(cat "$STATE/running" 2>/dev/null)"
answer() {
  printf 'HTTP/1.1 %s X\\r\\nContent-Type: text/plain\\r\\n' "$1" > "$headers"
  case "$APP_SHAPE" in
    json) printf '{ "status": "ok",\\n  "version" : "%s" }' "$2" > "$out" ;;
    nested) printf '{"version":"not-this","app":{"builds":[{"version":"%s"}]}}' "$2" > "$out" ;;
    header) printf 'x-app-version:  %s \\r\\n' "$2" >> "$headers"; printf 'OK' > "$out" ;;
    plain) printf 'OK' > "$out" ;;
  esac
  printf '\\r\\n' >> "$headers"
  printf '%s' "$1"
}
case "$HEALTH" in
  healthy) answer 200 "$running" ;;
  new-unhealthy) if [ "$running" = "$NEW_VERSION" ]; then answer 503 "$running"; else answer 200 "$running"; fi ;;
  old-version-answers) answer 200 "$OLD_VERSION" ;;
  down) printf '000'; echo 'curl: (7) Failed to connect' >&2; exit 7 ;;
esac
`,
  sleep: `#!/bin/bash
echo "sleep $*" >> "$STATE/calls"
`,
};

export interface SandboxOptions {
  /** The instance's .env before the deploy; undefined: no .env yet. */
  env?: string;
  health: Health;
  composeV2?: boolean;
  /** For new-unhealthy: the version that answers 503. */
  badVersion?: string;
  /** For old-version-answers: the version the old container keeps reporting. */
  oldVersion?: string;
  /** Default json. */
  appShape?: AppShape;
  /** What `aws ssm get-parameters-by-path` prints; undefined: it fails with AccessDenied. */
  ssmParametersJson?: string;
  /** The exit code of a one-off container (`compose run`); default 0. */
  hookExit?: number;
  /** fail: the one-off container is created but does not start (`compose run -d` fails). */
  hookStart?: 'ok' | 'fail';
  /** hang: the one-off container runs until it is removed (`docker wait` does not return). */
  hookWait?: 'exits' | 'hang';
}

export interface Sandbox {
  root: string;
  appDir: string;
  /** Runs a rendered script as SSM would; `shell` is how it is started (bash, or sh for dash). */
  /** Runs the script; with timeoutMs, SIGTERM after that long (as SSM's executionTimeout). */
  run(
    script: string,
    shell?: string,
    timeoutMs?: number,
  ): { exitCode: number | null; signal: string | null; stdout: string; stderr: string };
  calls(): string[];
  env(): string;
  running(): string;
  loginPassword(): string;
  lastUrl(): string;
  /** How the app answers from the next run on. */
  setHealth(health: Health): void;
  /** The one-off containers that exist (created by `compose run -d`, not removed). */
  containers(): string[];
  /** hookWait hang: how the hanging `docker wait` ended: removed, gave-up (8 s), or '' (running). */
  waitEnded(): string;
  /** What the last `compose run` got: its argv, --env-file content, compose file, project dir. */
  oneOff(): { argv: string[]; env: string; compose: string; project: string } | undefined;
  /** `<image> <service>` per `compose pull`. */
  pulled(): string[];
  remove(): void;
}

export function createSandbox(options: SandboxOptions): Sandbox {
  const root = mkdtempSync(join(tmpdir(), 'instance-'));
  const bin = join(root, 'bin');
  const state = join(root, 'state');
  const appDir = join(root, 'app');
  for (const dir of [bin, state, appDir]) mkdirSync(dir);
  for (const tool of SYSTEM_TOOLS) {
    // flock is optional on an instance (the script skips its lock without it).
    const path = execFileSync('bash', ['-c', `command -v ${tool} || true`])
      .toString()
      .trim();
    if (path) symlinkSync(path, join(bin, tool));
  }
  for (const [name, body] of Object.entries(STAND_INS)) {
    if (name === 'docker-compose' && options.composeV2 !== false) continue;
    writeFileSync(join(bin, name), body);
    chmodSync(join(bin, name), 0o755);
  }
  if (options.env !== undefined) writeFileSync(join(appDir, '.env'), options.env);
  writeFileSync(join(appDir, 'docker-compose.yml'), 'services: {}\n');
  if (options.ssmParametersJson !== undefined) {
    writeFileSync(join(state, 'ssm-parameters.json'), options.ssmParametersJson);
  }
  const running = /^APP_VERSION=(.*)$/m.exec(options.env ?? '')?.[1];
  if (running) writeFileSync(join(state, 'running'), running);
  let health = options.health;
  const read = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : '');

  return {
    root,
    appDir,
    run(script, shell = 'bash', timeoutMs) {
      const scriptPath = join(root, 'script.sh');
      writeFileSync(scriptPath, script);
      const result = spawnSync(shell, [scriptPath], {
        cwd: root,
        encoding: 'utf8',
        ...(timeoutMs === undefined ? {} : { timeout: timeoutMs, killSignal: 'SIGTERM' as const }),
        env: {
          PATH: bin,
          STATE: state,
          HEALTH: health,
          COMPOSE_V2: options.composeV2 === false ? '0' : '1',
          NEW_VERSION: options.badVersion ?? 'v8',
          OLD_VERSION: options.oldVersion ?? 'v7',
          APP_SHAPE: options.appShape ?? 'json',
          HOOK_EXIT: String(options.hookExit ?? 0),
          HOOK_START: options.hookStart ?? 'ok',
          HOOK_WAIT: options.hookWait ?? 'exits',
        },
      });
      return {
        exitCode: result.status,
        signal: result.signal,
        stdout: result.stdout,
        stderr: result.stderr,
      };
    },
    calls: () => read(join(state, 'calls')).trim().split('\n'),
    env: () => read(join(appDir, '.env')),
    running: () => read(join(state, 'running')).trim(),
    loginPassword: () => read(join(state, 'login-password')),
    lastUrl: () => read(join(state, 'last-url')).trim(),
    setHealth: (next) => {
      health = next;
    },
    oneOff: () => {
      if (!existsSync(join(state, 'run-argv'))) return undefined;
      return {
        argv: read(join(state, 'run-argv')).split('\0').slice(0, -1),
        env: read(join(state, 'run-env')),
        compose: read(join(state, 'run-compose')),
        project: read(join(state, 'run-project')).trim(),
      };
    },
    waitEnded: () => read(join(state, 'wait-ended')).trim(),
    containers: () =>
      existsSync(join(state, 'containers'))
        ? readdirSync(join(state, 'containers')).filter((file) => file.endsWith('.exit'))
        : [],
    pulled: () => read(join(state, 'pulled')).trim().split('\n').filter(Boolean),
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}
