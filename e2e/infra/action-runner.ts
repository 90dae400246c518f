// Runs the bundled action the way the GitHub Actions runner does: `node dist/index.js` as a child
// process with INPUT_* variables (name upper-cased, hyphens kept), the file commands
// (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_STATE, GITHUB_ENV) and the usual GITHUB_*/RUNNER_*
// variables; then the post step (action.yml `post:`), with the saved state as STATE_* variables.
// A run can be cancelled mid-step the way the runner cancels a job (see `cancel`).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface ActionRun {
  exitCode: number;
  postExitCode: number;
  /** stdout and stderr of the main step, interleaved as the runner's log shows them. */
  log: string;
  postLog: string;
  outputs: Record<string, string>;
  summary: string;
  /** The `::error::` annotations of the main step (core.setFailed). */
  errors: string[];
  /** The `::warning::` annotations of the main step (core.warning). */
  warnings: string[];
  /** The signals the main step was sent when the run was cancelled, in order. */
  signals: NodeJS.Signals[];
  ms: number;
}

/**
 * How the runner cancels a step (actions/runner ProcessInvoker, Linux): SIGINT to the step's
 * process, SIGTERM 7.5 s later if it still runs, SIGKILL 2.5 s after that; then the post steps
 * run (`post-if: always()` by default).
 */
const CANCEL_SEQUENCE: Array<[NodeJS.Signals, number]> = [
  ['SIGINT', 7500],
  ['SIGTERM', 2500],
  ['SIGKILL', 0],
];

export interface ActionRunnerOptions {
  entry: string;
  workDir: string;
  /** Variables the workflow's earlier steps set (AWS credentials, region, endpoint, DOCKER_HOST). */
  env: NodeJS.ProcessEnv;
  /** Files an earlier step (actions/checkout) put in the workspace: relative path → content. */
  workspaceFiles?: Record<string, string>;
}

/** Parses a file-command file: `name<<DELIMITER\nvalue\nDELIMITER` blocks and `name=value` lines. */
export function parseFileCommands(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name = '', delimiter] = heredoc;
      const body: string[] = [];
      for (i++; i < lines.length && lines[i] !== delimiter; i++) body.push(lines[i] ?? '');
      values[name] = body.join('\n');
    } else if (line.includes('=')) {
      values[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
    }
  }
  return values;
}

function execute(
  entry: string,
  env: NodeJS.ProcessEnv,
  cwd: string,
  cancel?: Promise<unknown>,
): Promise<{ code: number; log: string; signals: NodeJS.Signals[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [entry], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    let exited = false;
    const signals: NodeJS.Signals[] = [];
    const timers: NodeJS.Timeout[] = [];
    child.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
    child.on('error', reject);
    child.on('exit', () => (exited = true));
    child.on('close', (code, signal) => {
      for (const timer of timers) clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : -1), log, signals });
    });
    void cancel?.then(() => {
      let delay = 0;
      for (const [signal, wait] of CANCEL_SEQUENCE) {
        timers.push(
          setTimeout(() => {
            if (exited) return;
            signals.push(signal);
            child.kill(signal);
          }, delay),
        );
        delay += wait;
      }
    });
  });
}

let runNumber = 0;

export async function runAction(
  options: ActionRunnerOptions,
  inputs: Record<string, string>,
  control: {
    /** Once this settles, the job is cancelled while the main step runs (CANCEL_SEQUENCE). */
    cancel?: Promise<unknown>;
  } = {},
): Promise<ActionRun> {
  runNumber += 1;
  const dir = mkdtempSync(path.join(options.workDir, `run-${runNumber}-`));
  const files = {
    GITHUB_OUTPUT: path.join(dir, 'output'),
    GITHUB_STEP_SUMMARY: path.join(dir, 'step_summary'),
    GITHUB_STATE: path.join(dir, 'state'),
    GITHUB_ENV: path.join(dir, 'env'),
    GITHUB_PATH: path.join(dir, 'path'),
  };
  for (const file of Object.values(files)) writeFileSync(file, '');
  const workspace = path.join(dir, 'workspace');
  const temp = path.join(dir, 'temp');
  mkdirSync(workspace);
  mkdirSync(temp);
  for (const [file, content] of Object.entries(options.workspaceFiles ?? {})) {
    mkdirSync(path.dirname(path.join(workspace, file)), { recursive: true });
    writeFileSync(path.join(workspace, file), content);
  }
  const inputEnv = Object.fromEntries(
    Object.entries(inputs).map(([name, value]) => [
      `INPUT_${name.replace(/ /g, '_').toUpperCase()}`,
      value,
    ]),
  );
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LANG: 'C.UTF-8',
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKFLOW: 'Deploy to ECR',
    GITHUB_RUN_ID: String(1000 + runNumber),
    GITHUB_RUN_NUMBER: String(runNumber),
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_JOB: 'deploy',
    GITHUB_ACTION: 'deploy',
    GITHUB_ACTION_PATH: path.dirname(path.dirname(options.entry)),
    GITHUB_ACTOR: 'e2e',
    GITHUB_REPOSITORY: 'e2e/challenge-deploy',
    GITHUB_EVENT_NAME: 'workflow_dispatch',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_SHA: '0'.repeat(40),
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_API_URL: 'https://api.github.com',
    GITHUB_WORKSPACE: workspace,
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64',
    RUNNER_NAME: 'e2e',
    RUNNER_TEMP: temp,
    RUNNER_TOOL_CACHE: path.join(dir, 'toolcache'),
    ...files,
    ...options.env,
    ...inputEnv,
  };
  const started = Date.now();
  const main = await execute(options.entry, env, workspace, control.cancel);
  const ms = Date.now() - started;
  const state = parseFileCommands(readFileSync(files.GITHUB_STATE, 'utf8'));
  const stateEnv = Object.fromEntries(
    Object.entries(state).map(([name, value]) => [`STATE_${name}`, value]),
  );
  // The runner runs `post:` after the job's steps, with `post-if: always()` by default.
  const post = await execute(options.entry, { ...env, ...stateEnv }, workspace);
  writeFileSync(path.join(dir, 'main.log'), main.log);
  writeFileSync(path.join(dir, 'post.log'), post.log);
  return {
    exitCode: main.code,
    postExitCode: post.code,
    log: main.log,
    postLog: post.log,
    outputs: parseFileCommands(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
    summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
    errors: [...main.log.matchAll(/^::error(?: [^:]*)?::(.*)$/gm)].map((m) =>
      decodeCommand(m[1] ?? ''),
    ),
    warnings: [...main.log.matchAll(/^::warning(?: [^:]*)?::(.*)$/gm)].map((m) =>
      decodeCommand(m[1] ?? ''),
    ),
    signals: main.signals,
    ms,
  };
}

/** Undoes the escaping of workflow command values (%25 %0D %0A). */
function decodeCommand(value: string): string {
  return value.replaceAll('%0A', '\n').replaceAll('%0D', '\r').replaceAll('%25', '%');
}
