// What the strategy scenarios read from the fleet and its surroundings to prove what happened:
// each instance's version, .env and running container; the SSM commands a run sent; the
// migration runs recorded in PostgreSQL; the action's per-instance `result` output.
import type { E2eEnvironment } from '../infra/environment.js';
import { run } from '../infra/processes.js';

export interface InstanceState {
  instanceId: string;
  /** GET /health's version, undefined when it does not answer 200. */
  version: string | undefined;
  dotEnv: string;
  /** `docker ps`: id, image and creation time of the running containers (a restart changes it). */
  containers: string;
}

export async function fleetState(env: E2eEnvironment): Promise<InstanceState[]> {
  return Promise.all(
    env.instances.map(async (instance) => ({
      instanceId: instance.instanceId,
      version: await instance.runningVersion(),
      dotEnv: instance.readEnvFile(),
      containers: (
        await instance.exec(`docker ps --format '{{.ID}} {{.Image}} {{.CreatedAt}}'`)
      ).stdout.trim(),
    })),
  );
}

/** Every SSM invocation requested since `since` (ms), oldest first. */
export function invocationsSince(env: E2eEnvironment, since: number) {
  return env.ssm.invocations().filter((inv) => inv.requestedAt.getTime() >= since);
}

const RUNNING = new Set(['Pending', 'InProgress']);

/** Waits until no SSM command is running anywhere (a cancelled job's command may go on). */
export async function settled(env: E2eEnvironment, timeoutMs = 120_000): Promise<void> {
  await waitFor(
    () => env.ssm.invocations().every((inv) => !RUNNING.has(inv.status)),
    timeoutMs,
    'every SSM command to end',
  );
}

/** Polls `condition` every 200 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export interface MigrationRun {
  at: number;
  buildId: string | null;
  instanceId: string | null;
  args: string;
}

/** The runs e2e-migrate.mjs recorded (none before its table exists). */
export async function migrationRuns(env: E2eEnvironment): Promise<MigrationRun[]> {
  const { stdout } = await run('psql', [
    env.databaseUrl,
    '-Atc',
    `SELECT coalesce(json_agg(json_build_object('at', extract(epoch FROM ran_at) * 1000,
       'buildId', build_id, 'instanceId', instance_id, 'args', args) ORDER BY id), '[]'::json)
     FROM e2e_migration_runs`,
  ]).catch((error: Error) => {
    // The migration creates its table on its first run.
    if (/relation "e2e_migration_runs" does not exist/.test(error.message)) return { stdout: '[]' };
    throw error;
  });
  return JSON.parse(stdout) as MigrationRun[];
}

/** One entry of the action's `result` output. */
export interface InstanceOutcome {
  instance: string;
  outcome: string;
  versionBefore: string | null;
  versionAfter: string | null;
  seconds: number;
  failedStep: string | null;
}

export function resultOutput(outputs: Record<string, string>): InstanceOutcome[] {
  const raw = outputs.result;
  if (raw === undefined) throw new Error('the action set no `result` output');
  return JSON.parse(raw) as InstanceOutcome[];
}

export function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean)
    .sort();
}
