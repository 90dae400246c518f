// Lifecycle hooks (pre-deploy-command, post-deploy-command): a one-off container of the new image on
// one instance, through the instance script's hook mode. Why the command is split into argv here
// and never handed to a shell: docs/decisions.md.
import { describeAwsError } from './aws-errors.js';
import type { EnvEntry } from './app-config.js';
import { InputError } from './inputs.js';
import { parseScriptReport, renderHookScript } from './instance-script.js';
import { runScript, type RunCommandDeps } from './run-command.js';

export type HookPhase = 'pre-deploy' | 'post-deploy';

export interface HookRun {
  phase: HookPhase;
  instanceId: string;
  /** The command exited 0. */
  ok: boolean;
  exitCode?: number;
  /** Counts in the `command-ids` output. */
  commandId?: string;
  /** Last lines of the command's output, for the summary. */
  outputTail: string;
  /** Clock ms, for the timeline. */
  startedAt: number;
  durationMs: number;
  /** One sentence for the log, the summary and the failure. */
  message: string;
}

/**
 * Splits a command input into argv the way a shell splits words, and does nothing else: blanks
 * (space, tab, newline) separate words, '…' keeps everything literally, "…" keeps everything but
 * lets \" and \\ stand for " and \, and outside quotes \ keeps the next character. No `$`, `` ` ``,
 * glob, pipe or `;` means anything: for those, write `sh -c '…'` (the image's shell runs it).
 */
export function commandWords(input: string, raw: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as string;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && (raw[i + 1] === '"' || raw[i + 1] === '\\')) word += raw[++i];
      else word += c;
    } else if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      inWord = true;
      if (c === "'" || c === '"') quote = c;
      else if (c === '\\' && i + 1 < raw.length) word += raw[++i];
      else word += c;
    }
  }
  if (quote) throw new InputError(`Input ${input}: a ${quote} quote is not closed.`);
  if (inWord) words.push(word);
  return words;
}

/** What a hook needs to know about the rollout (the deploy's values). */
export interface HookContext {
  region: string;
  registry: string;
  image: string;
  version: string;
  appDir: string;
  service?: string;
  composeContent?: string;
  envEntries?: EnvEntry[];
  envFromSsm?: string;
  /** The command's executionTimeout (command-timeout). */
  commandTimeoutSeconds: number;
}

const OUTPUT_START = /^----- (pre|post)-deploy output \(last \d+ lines\) -----$/;
const OUTPUT_END = '----- end -----';

/** The lines the hook mode printed between its markers; otherwise the end of the output. */
export function hookOutputTail(output: string): string {
  const lines = output.split('\n');
  const start = lines.findIndex((line) => OUTPUT_START.test(line.trim()));
  if (start >= 0) {
    const end = lines.indexOf(OUTPUT_END, start);
    return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
  }
  return lines
    .filter((line) => !line.startsWith('CHALLENGE_DEPLOY_'))
    .slice(-20)
    .join('\n');
}

/** Builds the function that runs one phase's command on an instance and reports how it went. */
export function hookRunner(
  deps: RunCommandDeps,
  phase: HookPhase,
  args: string[],
  context: HookContext,
): (instanceId: string) => Promise<HookRun> {
  return async (instanceId) => {
    const startedAt = deps.clock.now();
    const done = (fields: Omit<HookRun, 'phase' | 'instanceId' | 'startedAt' | 'durationMs'>) => {
      const run: HookRun = {
        phase,
        instanceId,
        startedAt,
        durationMs: deps.clock.now() - startedAt,
        ...fields,
      };
      deps.log.group(
        `${instanceId}: ${phase}-command (${run.message})`,
        run.outputTail || '(no output)',
      );
      return run;
    };
    deps.log.info(`${phase}-command on ${instanceId}: ${args.join(' ')}`);
    let invocation;
    try {
      const script = renderHookScript({ phase, args, ...context });
      invocation = (
        await runScript(deps, {
          instanceIds: [instanceId],
          script,
          executionTimeoutSeconds: context.commandTimeoutSeconds,
          comment: `challenge-deploy ${context.version} ${phase}-command`,
        })
      ).get(instanceId);
    } catch (error) {
      return done({
        ok: false,
        outputTail: '',
        message: `${phase}-command could not be run on ${instanceId} through SSM: ${describeAwsError(error)}.`,
      });
    }
    if (!invocation) {
      return done({
        ok: false,
        outputTail: '',
        message: `${phase}-command on ${instanceId}: no result.`,
      });
    }
    const report = parseScriptReport(invocation.output, invocation.exitCode);
    const outputTail = hookOutputTail(invocation.output);
    const base = { commandId: invocation.commandId, outputTail };
    if (report.outcome === 'hook-succeeded') {
      return done({
        ...base,
        ok: true,
        exitCode: 0,
        message: `${phase}-command succeeded on ${instanceId}.`,
      });
    }
    if (report.outcome === 'hook-failed') {
      return done({
        ...base,
        ok: false,
        exitCode: report.hookExitCode,
        message: `${phase}-command failed on ${instanceId} with exit code ${report.hookExitCode ?? '?'}.`,
      });
    }
    const why =
      report.outcome === 'failed-unchanged'
        ? `step ${report.failedStep ?? '?'} failed before the command ran`
        : `the SSM command ended ${invocation.status}${invocation.statusDetails ? ` (${invocation.statusDetails})` : ''}`;
    return done({
      ...base,
      ok: false,
      message: `${phase}-command did not run to the end on ${instanceId}: ${why}.`,
    });
  };
}
