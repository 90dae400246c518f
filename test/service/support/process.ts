import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface ServiceProcess {
  child: ChildProcess;
  url: string;
  port: number;
  /** Process ids that logged "listening": one per worker. */
  listeningPids: number[];
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started = new Set<ChildProcess>();

/** Ends every service process a test left running, by its pid. */
export function killStartedServices(): void {
  for (const child of started) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  started.clear();
}

/**
 * Runs `node --import tsx service/main.ts` as `npm start` does, on a port the OS picks, and
 * resolves once `listeners` processes have logged that they listen.
 */
export function spawnService(
  env: Record<string, string>,
  options: { listeners?: number; timeoutMs?: number } = {},
): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'service/main.ts'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.add(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const wanted = options.listeners ?? 1;

  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`service did not start:\n${out}\n${err}`)),
      options.timeoutMs ?? 15_000,
    );
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`service exited with ${code} before listening:\n${out}\n${err}`));
    });
    const check = () => {
      const listening = out
        .split('\n')
        .filter((line) => line.includes('"msg":"listening"'))
        .map((line) => JSON.parse(line) as { port: number; pid: number });
      if (listening.length < wanted) return;
      clearTimeout(timer);
      child.stdout.off('data', check);
      const port = listening[0]!.port;
      resolve({
        child,
        port,
        url: `http://127.0.0.1:${port}`,
        listeningPids: listening.map((entry) => entry.pid),
        stdout: () => out,
        stderr: () => err,
        exited,
      });
    };
    child.stdout.on('data', check);
  });
}

/** Runs the service expecting it to refuse to start; resolves with its exit code and output. */
export async function runToExit(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'service/main.ts'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.add(child);
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, output: out };
}
