// Every long-running process the suite starts goes through here, so teardown can stop each one
// by its pid (never by name), also when a scenario failed.
import { execFile, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';

export interface CommandResult {
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; rejects with its output when it fails. */
export function run(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string; timeoutMs?: number } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      {
        env: options.env ?? process.env,
        cwd: options.cwd,
        timeout: options.timeoutMs ?? 300_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (error) {
          reject(
            new Error(
              `${command} ${args.join(' ')} failed: ${error.message}\n${stderr}\n${stdout}`.trim(),
            ),
          );
        } else {
          resolve({ stdout, stderr });
        }
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Like run, but never rejects (teardown steps that may have nothing to do). */
export async function tryRun(
  command: string,
  args: string[],
  env?: NodeJS.ProcessEnv,
): Promise<boolean> {
  return run(command, args, { env, timeoutMs: 60_000 }).then(
    () => true,
    () => false,
  );
}

interface Tracked {
  name: string;
  child: ChildProcess;
}

export class Processes {
  private readonly tracked: Tracked[] = [];

  /** Starts a long-running process, its output appended to `logFile`. */
  start(
    name: string,
    command: string,
    args: string[],
    logFile: string,
    options: SpawnOptions = {},
  ): ChildProcess {
    const fd = openSync(logFile, 'a');
    const child = spawn(command, args, { ...options, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    child.on('error', () => undefined);
    this.tracked.push({ name, child });
    return child;
  }

  /** Stops every process, newest first: SIGTERM by pid, SIGKILL after `graceMs`. */
  async stopAll(graceMs = 5000): Promise<void> {
    for (const { child } of [...this.tracked].reverse()) {
      await stop(child, graceMs);
    }
    this.tracked.length = 0;
  }

  async stop(child: ChildProcess, graceMs = 5000): Promise<void> {
    await stop(child, graceMs);
    const index = this.tracked.findIndex((t) => t.child === child);
    if (index >= 0) this.tracked.splice(index, 1);
  }
}

function running(child: ChildProcess): boolean {
  return child.pid !== undefined && child.exitCode === null && child.signalCode === null;
}

async function stop(child: ChildProcess, graceMs: number): Promise<void> {
  if (!running(child) || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = new Promise<'timeout'>((resolve) =>
    setTimeout(() => resolve('timeout'), graceMs).unref(),
  );
  if ((await Promise.race([exited, timer])) === 'timeout') {
    child.kill('SIGKILL');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
  }
}

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 30_000,
  intervalMs = 200,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ''}`,
  );
}
