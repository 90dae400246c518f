// The bake after a batch (`bake-time`): watch the alarms for its length, then re-check the health
// of every instance deployed so far with one SSM command (the instance script's check mode), so a
// version that passed its health gate at second 1 and fails at second 30 is caught.
import { ALARM_POLL_MS, type AlarmVerdict, type AlarmWatch } from './alarms.js';
import type { Clock } from './clock.js';
import type { HealthVersion } from './health-version.js';
import { parseScriptReport, renderCheckScript, type ScriptReport } from './instance-script.js';
import {
  DELIVERY_TIMEOUT_SECONDS,
  runScript,
  type Invocation,
  type RunCommandDeps,
} from './run-command.js';

/**
 * Waits `durationMs`, reading the alarms every ALARM_POLL_MS, and returns the first verdict that is
 * not `ok`. It ends with a read that succeeded after the wait (AlarmWatch.checkFresh), so the next
 * batch never starts on an old answer. Without alarms it only waits.
 */
export async function watchAlarms(
  clock: Clock,
  alarms: AlarmWatch | undefined,
  durationMs: number,
): Promise<AlarmVerdict> {
  const end = clock.now() + durationMs;
  for (;;) {
    const left = end - clock.now();
    if (left <= 0) break;
    await clock.sleep(alarms ? Math.min(ALARM_POLL_MS, left) : left);
    if (alarms && clock.now() < end) {
      const verdict = await alarms.check();
      if (verdict.kind !== 'ok') return verdict;
    }
  }
  return alarms ? alarms.checkFresh() : { kind: 'ok' };
}

/** How long the re-check retries an unhealthy answer: a bake already waited, this only confirms. */
export const RECHECK_HEALTH_SECONDS = 10;
/** The re-check command's SSM executionTimeout: its health retries, plus room for a slow agent. */
export const RECHECK_TIMEOUT_SECONDS = RECHECK_HEALTH_SECONDS + 60;
/** The most one re-check can take: SSM's delivery limit, its run and the last poll (runScript). */
export const RECHECK_WORST_CASE_SECONDS = DELIVERY_TIMEOUT_SECONDS + RECHECK_TIMEOUT_SECONDS + 60;

export interface RecheckTarget {
  appDir: string;
  healthUrl: string;
  healthVersion?: HealthVersion;
  version: string;
  /** health-timeout: the re-check never retries longer than the deploy's own gate. */
  healthTimeoutSeconds: number;
}

export interface RecheckResult {
  instanceId: string;
  healthy: boolean;
  report: ScriptReport;
  invocation?: Invocation;
}

/**
 * Runs the check script on the instances, one SSM command (SendCommand splits at 50 ids), and
 * says which are healthy on the version. No answer from an instance is not healthy. Throws when
 * SSM itself fails (the caller cannot tell, and stops).
 */
export async function recheckHealth(
  deps: RunCommandDeps,
  target: RecheckTarget,
  instanceIds: string[],
): Promise<RecheckResult[]> {
  const healthSeconds = Math.min(RECHECK_HEALTH_SECONDS, target.healthTimeoutSeconds);
  const invocations = await runScript(deps, {
    instanceIds,
    script: renderCheckScript({
      appDir: target.appDir,
      healthUrl: target.healthUrl,
      healthVersion: target.healthVersion,
      version: target.version,
      healthTimeoutSeconds: healthSeconds,
    }),
    executionTimeoutSeconds: RECHECK_TIMEOUT_SECONDS,
    comment: `challenge-deploy re-check ${target.version}`,
  });
  return instanceIds.map((instanceId) => {
    const invocation = invocations.get(instanceId);
    const report = parseScriptReport(invocation?.output ?? '', invocation?.exitCode);
    return { instanceId, healthy: report.outcome === 'deployed', report, invocation };
  });
}
