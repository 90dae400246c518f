import { ListCommandsCommand, type SSMClient } from '@aws-sdk/client-ssm';
// Why the post step rolls back a cancelled rollout, and within what time: docs/decisions.md.
import { describeAwsError } from './aws-errors.js';
import {
  parseScriptReport,
  patterns,
  renderInstanceScript,
  renderRestoreScript,
} from './instance-script.js';
import type { Logger } from './logger.js';
import { unsettled, type JournalState } from './rollout-journal.js';
import { cancelCommand, runScript, type Invocation, type RunCommandDeps } from './run-command.js';

const RUNNING = new Set(['Pending', 'InProgress', 'Delayed']);

/**
 * Cancels the SSM commands a cancelled job left running, so that no instance keeps deploying
 * after the workflow said stop. Runs in the post step, and in the main step on SIGINT/SIGTERM.
 */
export async function cancelInFlight(
  ssm: SSMClient,
  commandIds: string[],
  log: Logger,
): Promise<string[]> {
  const cancelled: string[] = [];
  for (const commandId of commandIds) {
    try {
      const answer = await ssm.send(new ListCommandsCommand({ CommandId: commandId }));
      const status = answer.Commands?.[0]?.Status ?? 'Unknown';
      if (!RUNNING.has(status) && status !== 'Unknown') {
        log.info(`SSM command ${commandId} already ended (${status}).`);
        continue;
      }
      await cancelCommand(ssm, commandId);
      cancelled.push(commandId);
      log.warning(
        `Cancelled SSM command ${commandId} (${status}); its instances may be mid-deploy: check them or re-run the workflow.`,
      );
    } catch (error) {
      log.warning(`Could not cancel SSM command ${commandId}: ${describeAwsError(error)}`);
    }
  }
  return cancelled;
}

/** What the post step did for one instance a cancelled rollout left. */
export interface UndoResult {
  instanceId: string;
  /**
   * rolled-back: back on its previous version, healthy · unchanged: the deploy never changed it ·
   * rollback-failed: the previous version is not healthy, or the undo could not run ·
   * not-confirmed: the undo was sent but did not finish within the post step's time.
   */
  outcome: 'rolled-back' | 'unchanged' | 'rollback-failed' | 'not-confirmed';
  commandId?: string;
  message: string;
}

export interface UndoReport {
  results: UndoResult[];
  /** Markdown for the job summary; empty when there was nothing to undo. */
  summary: string;
  /** true when some undo was still running when the time ran out. */
  timedOut: boolean;
}

/** One SSM command of the undo: a group of instances and the script they run. */
interface UndoGroup {
  instanceIds: string[];
  script: string;
  /** Restore from the instance's backup (the previous image was never learned). */
  restore: boolean;
  previousVersion?: string;
}

function undoGroups(state: JournalState, pending: ReturnType<typeof unsettled>): UndoGroup[] {
  const byPrevious = new Map<string, UndoGroup>();
  const restore: string[] = [];
  for (const entry of pending) {
    const { previousImage, previousVersion } = entry;
    if (
      previousImage &&
      previousVersion &&
      patterns.image.test(previousImage) &&
      patterns.version.test(previousVersion)
    ) {
      const key = `${previousImage} ${previousVersion}`;
      const group = byPrevious.get(key) ?? {
        instanceIds: [],
        restore: false,
        previousVersion,
        script: renderInstanceScript({
          mode: 'rollback',
          region: state.region,
          registry: state.registry,
          image: previousImage,
          version: previousVersion,
          appDir: state.appDir,
          healthUrl: state.healthUrl,
          healthVersion: state.healthVersion,
          healthTimeoutSeconds: state.healthTimeoutSeconds,
          rollback: true,
        }),
      };
      group.instanceIds.push(entry.instanceId);
      byPrevious.set(key, group);
    } else {
      restore.push(entry.instanceId);
    }
  }
  const groups = [...byPrevious.values()];
  if (restore.length > 0) {
    groups.push({
      instanceIds: restore,
      restore: true,
      script: renderRestoreScript({
        region: state.region,
        registry: state.registry,
        version: state.version,
        deployId: state.deployId,
        appDir: state.appDir,
        healthUrl: state.healthUrl,
        healthVersion: state.healthVersion,
        healthTimeoutSeconds: state.healthTimeoutSeconds,
      }),
    });
  }
  return groups;
}

function judge(
  group: UndoGroup,
  instanceId: string,
  invocation: Invocation | undefined,
  version: string,
): UndoResult {
  if (!invocation) {
    return {
      instanceId,
      outcome: 'rollback-failed',
      message: `${instanceId}: no result from the undo.`,
    };
  }
  const report = parseScriptReport(invocation.output, invocation.exitCode);
  const base = { instanceId, commandId: invocation.commandId };
  // Rollback mode reports as "previous" what it replaced (the new version): the target is ours.
  const previous = group.restore
    ? (report.previousVersion ?? 'its previous version')
    : (group.previousVersion ?? 'its previous version');
  if (report.outcome === 'untouched') {
    return {
      ...base,
      outcome: 'unchanged',
      message: `${instanceId}: ${version} never got as far as changing it; nothing to undo.`,
    };
  }
  if (report.outcome === 'restored' || (!group.restore && report.outcome === 'deployed')) {
    if (report.restored === false) {
      return {
        ...base,
        outcome: 'unchanged',
        message: `${instanceId}: already on ${previous} (healthy); nothing to undo.`,
      };
    }
    return {
      ...base,
      outcome: 'rolled-back',
      message: `${instanceId}: rolled back to ${previous} (healthy).`,
    };
  }
  const what =
    report.outcome === 'unknown'
      ? `the SSM command ended ${invocation.status}${invocation.statusDetails ? ` (${invocation.statusDetails})` : ''}`
      : report.outcome === 'first-deploy-failed'
        ? `there is no previous version to return to (first deploy)`
        : `${report.outcome}${report.failedStep ? ` at step ${report.failedStep}` : ''}${report.httpStatus ? `, HTTP ${report.httpStatus}` : ''}`;
  return {
    ...base,
    outcome: 'rollback-failed',
    message: `${instanceId}: rolling back to ${previous} failed: ${what}.`,
  };
}

function undoSummary(state: JournalState, results: UndoResult[], note?: string): string {
  const rows = results.map(
    (r) =>
      `| \`${r.instanceId}\` | ${r.outcome} | ${r.commandId ? `\`${r.commandId}\`` : ''} | ${r.message.replaceAll('|', '\\|')} |`,
  );
  return [
    `### ⏹️ Cancelled rollout of ${state.version}: what the post step undid`,
    '',
    ...(note ? [note, ''] : []),
    ...(rows.length > 0
      ? ['| instance | outcome | SSM command | detail |', '|---|---|---|---|', ...rows, '']
      : []),
  ].join('\n');
}

/**
 * The post step after a cancelled (or crashed) main step: returns every instance the journal says
 * may have switched and is not settled to what it ran before — by its previous image when the
 * action learned it, else from the instance's own backup of this deploy (restore mode, which does
 * nothing where the deploy never changed anything). Waits at most until `budget` resolves (the
 * runner's cancellation time); what is still running then is reported, not cancelled.
 */
export async function undoRollout(
  deps: RunCommandDeps,
  state: JournalState,
  budget: Promise<unknown>,
): Promise<UndoReport> {
  const { log } = deps;
  const pending = unsettled(state);
  if (pending.length === 0) {
    log.info(
      state.finished
        ? `The rollout of ${state.version} had finished: nothing to undo.`
        : `The rollout of ${state.version} had not switched any instance yet: nothing to undo.`,
    );
    return { results: [], summary: '', timedOut: false };
  }
  const ids = pending.map((entry) => entry.instanceId);
  if (!state.rollback) {
    const message = `The job stopped mid-rollout and rollback is false: ${ids.join(', ')} may run ${state.version} while the rest of the fleet does not.`;
    log.warning(message, { title: 'Rollout left unfinished' });
    return { results: [], summary: undoSummary(state, [], message), timedOut: false };
  }
  log.warning(
    `The rollout of ${state.version} stopped before it finished: returning ${ids.join(', ')} to their previous version.`,
    { title: 'Rolling back a cancelled rollout' },
  );
  const results = new Map<string, UndoResult>();
  let groups: UndoGroup[];
  try {
    groups = undoGroups(state, pending);
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    const failed = ids.map((instanceId): UndoResult => ({
      instanceId,
      outcome: 'rollback-failed',
      message: `${instanceId}: could not be rolled back: ${text}.`,
    }));
    return { results: failed, summary: undoSummary(state, failed), timedOut: false };
  }
  const sent = new Map<string, string>();
  const trackingDeps: RunCommandDeps = {
    ...deps,
    inFlight: {
      add: (commandId) => sent.set(commandId, commandId),
      remove: () => undefined,
      list: () => [...sent.keys()],
    },
  };
  const work = Promise.all(
    groups.map(async (group) => {
      try {
        const invocations = await runScript(trackingDeps, {
          instanceIds: group.instanceIds,
          script: group.script,
          executionTimeoutSeconds: state.commandTimeoutSeconds,
          comment: `challenge-deploy undo ${state.version} (cancelled)`,
        });
        for (const id of group.instanceIds) {
          results.set(id, judge(group, id, invocations.get(id), state.version));
        }
      } catch (error) {
        for (const instanceId of group.instanceIds) {
          results.set(instanceId, {
            instanceId,
            outcome: 'rollback-failed',
            message: `${instanceId}: the undo could not be run through SSM: ${describeAwsError(error)}.`,
          });
        }
      }
    }),
  ).then(() => 'done' as const);
  const ended = await Promise.race([work, budget.then(() => 'timeout' as const)]);
  const timedOut = ended === 'timeout';
  const commands = [...sent.keys()];
  const ordered = ids.map(
    (instanceId): UndoResult =>
      results.get(instanceId) ?? {
        instanceId,
        outcome: 'not-confirmed',
        message: `${instanceId}: the undo was ${commands.length > 0 ? `sent (${commands.join(', ')})` : 'not sent'} but had not finished when the post step's time ran out; check the instance.`,
      },
  );
  for (const result of ordered) {
    if (result.outcome === 'rolled-back' || result.outcome === 'unchanged')
      log.info(result.message);
    else log.error(result.message, { title: `${result.instanceId}: ${result.outcome}` });
  }
  return { results: ordered, summary: undoSummary(state, ordered), timedOut };
}
