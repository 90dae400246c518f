// What happened on each instance, in the words users read: outcomes, and one-sentence messages
// that name the instance, the step, the version and the outcome.
import { parseScriptReport, type ScriptReport } from './instance-script.js';
import type { Invocation } from './run-command.js';

export type InstanceOutcome =
  'deployed' | 'rolled-back' | 'rollback-failed' | 'failed' | 'not-reached';

export interface InstanceResult {
  instanceId: string;
  outcome: InstanceOutcome;
  /** 1-based batch number. */
  batch: number;
  newVersion: string;
  previousVersion?: string;
  previousImage?: string;
  /** true when the new version itself failed here (the `failed-instances` output). */
  newVersionFailed: boolean;
  /** One sentence: instance, step, version and outcome. Unset for a plain success. */
  message?: string;
  durationMs: number;
  /** Everything the instance printed (deploy, then rollback), as SSM kept it. */
  output: string;
  /** The SSM commands that ran on it (deploy, then rollback), for console links. */
  commandIds?: string[];
  /** The step where the new version failed here (`health`, `pull`, …, `recheck`); unset if none. */
  failedStep?: string;
  /** The version it runs after the rollout, where the action knows it. */
  versionAfter?: string;
}

function healthProblem(report: ScriptReport): string {
  if (report.httpStatus && report.httpStatus !== '200') {
    return report.httpStatus === '000' ? 'no answer' : `HTTP ${report.httpStatus}`;
  }
  if (report.httpStatus === '200') {
    return `it reported version ${report.reportedVersion ?? 'none'}`;
  }
  return 'no answer';
}

/** What the new version's failure on the instance was, e.g. `v8 failed its health check after 120 s (HTTP 503)`. */
export function newVersionFailure(version: string, report: ScriptReport): string {
  if (
    report.failedStep === 'health' ||
    (!report.failedStep && report.healthSeconds !== undefined)
  ) {
    return `${version} failed its health check after ${report.healthSeconds ?? '?'} s (${healthProblem(report)})`;
  }
  if (report.failedStep) return `${version} failed at step ${report.failedStep}`;
  return `${version} failed`;
}

export function describeInvocation(invocation: Invocation): string {
  const details =
    invocation.statusDetails && invocation.statusDetails !== invocation.status
      ? ` (${invocation.statusDetails})`
      : '';
  const code = invocation.exitCode === undefined ? '' : `, exit ${invocation.exitCode}`;
  return `the SSM command ended ${invocation.status}${details}${code}`;
}

/** What the deploy script did on one instance, from its output and exit code. */
export interface DeployOutcome {
  outcome: InstanceOutcome;
  newVersionFailed: boolean;
  /** The instance may run the new version: the action's rollback must return it. */
  updated: boolean;
  /** The script left it on its previous version, healthy or untouched: nothing to undo. */
  returned: boolean;
  failedStep?: string;
  message?: string;
  previousImage?: string;
  previousVersion?: string;
  output: string;
}

export function deployOutcome(
  instanceId: string,
  version: string,
  invocation: Invocation,
): DeployOutcome {
  const report = parseScriptReport(invocation.output, invocation.exitCode);
  const item: DeployOutcome = {
    outcome: 'failed',
    newVersionFailed: false,
    updated: false,
    returned: false,
    failedStep: report.failedStep,
    output: invocation.output,
    previousImage: report.previousImage,
    previousVersion: report.previousVersion,
  };
  const id = instanceId;
  const previous = report.previousVersion ?? report.previousImage ?? 'the previous version';
  switch (report.outcome) {
    case 'deployed':
      item.outcome = 'deployed';
      item.updated = true;
      return item;
    case 'rolled-back':
      item.outcome = 'rolled-back';
      item.newVersionFailed = true;
      item.returned = true;
      item.message = `${id}: ${newVersionFailure(version, report)}; rolled back to ${previous} (healthy).`;
      return item;
    case 'rollback-failed':
      item.outcome = 'rollback-failed';
      item.newVersionFailed = true;
      item.message = `${id}: ${newVersionFailure(version, report)}; rolling back to ${previous} failed too (${report.rollbackHttpStatus && report.rollbackHttpStatus !== '000' ? `HTTP ${report.rollbackHttpStatus}` : 'no answer'}): the app is down on this instance.`;
      return item;
    case 'first-deploy-failed':
      item.outcome = 'failed';
      item.newVersionFailed = true;
      item.message = `${id}: ${newVersionFailure(version, report)}; nothing to roll back to (.env named no previous image).`;
      return item;
    case 'failed-unchanged':
      item.outcome = 'failed';
      item.newVersionFailed = true;
      item.returned = true;
      item.message = `${id}: ${version} was not deployed: step ${report.failedStep ?? '?'} failed before anything changed; still on ${previous}.`;
      return item;
    case 'failed':
      item.outcome = 'failed';
      item.newVersionFailed = true;
      item.updated = true;
      item.message = `${id}: ${newVersionFailure(version, report)}; left on ${version} because rollback is false.`;
      return item;
    default:
      item.outcome = 'failed';
      item.newVersionFailed = true;
      item.failedStep = report.failedStep ?? 'ssm';
      // Killed mid-way or never ran: it may run either version, so the action's rollback returns
      // it to the previous one when that is known.
      item.updated = report.previousImage !== undefined;
      item.message = `${id}: ${version} did not finish: ${describeInvocation(invocation)}; its state is unknown${item.updated ? '' : ', check the instance'}.`;
      return item;
  }
}

export function describeFailure(
  plan: { version: string; batches: string[][] },
  results: InstanceResult[],
  failedBatch: number | undefined,
): string {
  const count = (outcome: InstanceOutcome): number =>
    results.filter((r) => r.outcome === outcome).length;
  const parts = [
    [count('deployed'), 'on the new version'],
    [count('failed'), 'failed'],
    [count('rolled-back'), 'rolled back'],
    [count('rollback-failed'), 'rollback failed'],
    [count('not-reached'), 'not reached'],
  ]
    .filter(([n]) => Number(n) > 0)
    .map(([n, what]) => `${n} ${what}`);
  const where = failedBatch
    ? ` The rollout stopped at batch ${failedBatch} of ${plan.batches.length}.`
    : '';
  // The instances where the new version failed come first: they are why the rollout stopped.
  const lines = [
    ...results.filter((r) => r.message && r.newVersionFailed),
    ...results.filter((r) => r.message && !r.newVersionFailed),
  ].map((r) => r.message as string);
  return [
    `${plan.version} is not running healthy on every instance (${parts.join(', ')}).${where}`,
    ...lines,
  ].join('\n');
}
