import { PREVIOUS_PREFIX, RESULT_PREFIX } from './instance-script.js';
import type { InstanceOutcome, InstanceResult } from './outcome.js';
import type { HookRun, RolloutReport, TimelineEntry } from './rollout.js';
import { commandConsoleUrl } from './run-command.js';
import { targetGroupConsoleUrl } from './target-group.js';

/** The action's outputs, exactly as DESIGN.md names them. */
export interface ActionOutputs {
  version: string;
  'image-uri': string;
  'image-digest': string;
  'deployed-instances': string;
  'failed-instances': string;
  'rolled-back': 'true' | 'false';
  /** Set by a rollout (strategyOutputs); absent in a dry run's first outputs. */
  'previous-version'?: string;
  'command-ids'?: string;
  result?: string;
}

/** One entry of the `result` output. */
export interface InstanceResultEntry {
  instance: string;
  outcome: InstanceOutcome;
  versionBefore: string | null;
  versionAfter: string | null;
  seconds: number;
  failedStep: string | null;
}

/**
 * The version the fleet ran before, from the instances that reported it: one version, or for a
 * mixed fleet every version, most common first (`v6,v5`), so that a step which wants one version
 * fails loudly instead of picking one. Empty when no instance was reached.
 */
export function previousVersion(results: InstanceResult[]): string {
  const counts = new Map<string, number>();
  for (const r of results) {
    if (r.previousVersion) counts.set(r.previousVersion, (counts.get(r.previousVersion) ?? 0) + 1);
  }
  // Sort is stable: equal counts keep the fleet's order.
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([version]) => version)
    .join(',');
}

/** The outputs issue 12 adds: previous-version, command-ids, result. */
export function strategyOutputs(
  report: RolloutReport,
): Required<Pick<ActionOutputs, 'previous-version' | 'command-ids' | 'result'>> {
  const entries = report.results.map((r): InstanceResultEntry => ({
    instance: r.instanceId,
    outcome: r.outcome,
    versionBefore: r.previousVersion ?? null,
    versionAfter: r.versionAfter ?? null,
    seconds: Math.round(r.durationMs / 100) / 10,
    failedStep: r.failedStep ?? null,
  }));
  return {
    'previous-version': previousVersion(report.results),
    'command-ids': report.commandIds.join(','),
    result: JSON.stringify(entries),
  };
}

export function rolloutOutputs(report: RolloutReport, digest: string): ActionOutputs {
  return {
    version: report.version,
    'image-uri': report.image,
    'image-digest': digest,
    'deployed-instances': report.results
      .filter((r) => r.outcome === 'deployed')
      .map((r) => r.instanceId)
      .join(','),
    'failed-instances': report.results
      .filter((r) => r.newVersionFailed)
      .map((r) => r.instanceId)
      .join(','),
    'rolled-back': report.rolledBack ? 'true' : 'false',
  };
}

const OUTCOME_LABEL: Record<InstanceOutcome, string> = {
  deployed: '✅ deployed',
  'rolled-back': '↩️ rolled back',
  'rollback-failed': '❌ rollback failed',
  failed: '❌ failed',
  'not-reached': '⏸️ not reached',
};

function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll('|', '&#124;');
}

/** The last lines of an instance's output, without the machine-readable lines. */
export function outputTail(output: string, lines = 12): string {
  return output
    .split('\n')
    .filter((line) => !line.startsWith(RESULT_PREFIX) && !line.startsWith(PREVIOUS_PREFIX))
    .filter((line) => line.trim() !== '')
    .slice(-lines)
    .join('\n');
}

function countsByOutcome(results: InstanceResult[]): string {
  return (Object.keys(OUTCOME_LABEL) as InstanceOutcome[])
    .map((outcome) => [outcome, results.filter((r) => r.outcome === outcome).length] as const)
    .filter(([, n]) => n > 0)
    .map(([outcome, n]) => `${n} ${OUTCOME_LABEL[outcome].replace(/^\S+ /, '')}`)
    .join(', ');
}

function duration(ms: number): string {
  if (ms <= 0) return '–';
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** Up to this many instances, every one has a full table row with its output tail. */
export const FULL_ROWS = 50;
/** In a bigger fleet, the table holds at most this many: the instances that need a look first. */
export const ATTENTION_ROWS = 50;
/** Lines of the failure text the summary shows (the table and the folded lists name the rest). */
const FAILURE_LINES = 30;

const ATTENTION: Array<(r: InstanceResult) => boolean> = [
  (r) => r.newVersionFailed,
  (r) => r.outcome === 'rollback-failed',
  (r) => r.outcome === 'failed',
];

/**
 * Which instances get a full row. A fleet of 1,000 would make a summary of 400 KB that nobody
 * reads (and GitHub caps it at 1 MiB): beyond FULL_ROWS only the instances that need a look do,
 * the culprits first, and the others are folded by outcome, one short entry each.
 */
function splitRows(results: InstanceResult[]): {
  rows: InstanceResult[];
  folded: InstanceResult[];
} {
  if (results.length <= FULL_ROWS) return { rows: results, folded: [] };
  const rows = new Set<InstanceResult>();
  for (const wanted of ATTENTION) {
    for (const r of results) if (rows.size < ATTENTION_ROWS && wanted(r)) rows.add(r);
  }
  return { rows: [...rows], folded: results.filter((r) => !rows.has(r)) };
}

function foldedLists(folded: InstanceResult[]): string[] {
  const lines: string[] = [];
  for (const outcome of Object.keys(OUTCOME_LABEL) as InstanceOutcome[]) {
    const group = folded.filter((r) => r.outcome === outcome);
    if (group.length === 0) continue;
    const entries = group.map(
      (r) =>
        `<code>${escapeHtml(r.instanceId)}</code> (batch ${r.batch}, ${duration(r.durationMs)})`,
    );
    lines.push(
      `<details><summary>${OUTCOME_LABEL[outcome]}: ${group.length} instance(s)</summary>`,
      '',
      entries.join(' · '),
      '',
      '</details>',
      '',
    );
  }
  return lines;
}

function failureText(failure: string): string {
  const lines = failure.replaceAll('```', "'''").split('\n');
  if (lines.length <= FAILURE_LINES) return lines.join('\n');
  return [
    ...lines.slice(0, FAILURE_LINES),
    `… and ${lines.length - FAILURE_LINES} more line(s): every instance is listed below, and in the log.`,
  ].join('\n');
}

/**
 * The job summary: a headline, the failure if any, and a table row per instance (in a fleet of
 * more than FULL_ROWS, rows for those that need a look and folded lists for the rest).
 */
export function renderSummary(report: RolloutReport, digest: string): string {
  const tolerated = report.tolerated.length;
  const headline = !report.succeeded
    ? `### ❌ ${escapeHtml(report.version)} is not running healthy on every instance`
    : tolerated > 0
      ? `### ✅ ${escapeHtml(report.version)} deployed to ${report.results.length - tolerated} of ${report.results.length} instance(s); ${tolerated} failed within max-failures and went back`
      : `### ✅ ${escapeHtml(report.version)} deployed to ${report.results.length} instance(s)`;
  const { rows: detailed, folded } = splitRows(report.results);
  const rows = detailed.map((r) => {
    const tail = outputTail(r.output);
    const cells = [
      `<code>${escapeHtml(r.instanceId)}</code>`,
      OUTCOME_LABEL[r.outcome] +
        (r.message ? `<br>${escapeHtml(r.message)}` : '') +
        (r.commandIds ?? [])
          .map(
            (id) =>
              `<br><a href="${escapeHtml(commandConsoleUrl(report.region, id))}">SSM ${escapeHtml(id)}</a>`,
          )
          .join(''),
      `${escapeHtml(r.previousVersion ?? '?')} → ${escapeHtml(r.newVersion)}`,
      duration(r.durationMs),
      tail
        ? `<details><summary>output</summary><pre>${escapeHtml(tail).replaceAll('\n', '<br>')}</pre></details>`
        : '',
    ];
    return `| ${cells.join(' | ')} |`;
  });
  return [
    headline,
    '',
    `Image <code>${escapeHtml(report.image)}</code>${digest ? ` (<code>${escapeHtml(digest)}</code>)` : ''}`,
    '',
    ...(report.targetGroupArn
      ? [
          `Target group <a href="${escapeHtml(targetGroupConsoleUrl(report.targetGroupArn))}"><code>${escapeHtml(report.targetGroupArn)}</code></a>`,
          '',
        ]
      : []),
    ...(report.failure ? ['```text', failureText(report.failure), '```', ''] : []),
    ...(folded.length > 0
      ? [
          `${report.results.length} instances: ${countsByOutcome(report.results)}. The table shows those that need a look; the others are folded below, their output is in the job log.`,
          '',
        ]
      : []),
    ...renderHooks(report.hooks),
    ...renderTimeline(report.version, report.timeline),
    '| Instance | Outcome | Version | Duration | Output (tail) |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
    ...foldedLists(folded),
  ].join('\n');
}

/** The lifecycle hooks that ran, with their output tails. */
function renderHooks(hooks: HookRun[]): string[] {
  if (hooks.length === 0) return [];
  return [
    '| Hook | Instance | Result | Duration | Output (tail) |',
    '| --- | --- | --- | --- | --- |',
    ...hooks.map((hook) => {
      const cells = [
        `${hook.phase}-command`,
        `<code>${escapeHtml(hook.instanceId)}</code>`,
        `${hook.ok ? '✅' : '❌'} ${escapeHtml(hook.message)}`,
        duration(hook.durationMs),
        hook.outputTail
          ? `<details><summary>output</summary><pre>${escapeHtml(hook.outputTail).replaceAll('\n', '<br>')}</pre></details>`
          : '',
      ];
      return `| ${cells.join(' | ')} |`;
    }),
    '',
  ];
}

/** Beyond this many bars the chart keeps the first and last halves: the rest is in the log. */
export const TIMELINE_BARS = 60;

/** Mermaid reads ":" , "#" and ";" in a task name as syntax. */
function taskName(label: string): string {
  return label.replace(/[:#;\n\r]/g, ' ').trim();
}

/**
 * The rollout as a Mermaid gantt chart (GitHub renders it): hooks, batches, bakes and rollbacks on
 * the injected clock's times (`dateFormat x`: milliseconds), failed bars in red (`crit`).
 */
export function renderTimeline(version: string, timeline: TimelineEntry[]): string[] {
  if (timeline.length === 0) return [];
  let bars = timeline;
  let skipped = 0;
  if (timeline.length > TIMELINE_BARS) {
    const half = TIMELINE_BARS / 2;
    skipped = timeline.length - TIMELINE_BARS;
    bars = [...timeline.slice(0, half), ...timeline.slice(-half)];
  }
  const lines = [
    '```mermaid',
    'gantt',
    `  title Rollout of ${taskName(version)}`,
    '  dateFormat x',
    '  axisFormat %H:%M:%S',
  ];
  // One block per section (each bar is its own row; the time axis keeps the order).
  const order: Array<TimelineEntry['section']> = ['Hooks', 'Batches', 'Bake', 'Rollback'];
  const sorted = [...bars].sort((a, b) => order.indexOf(a.section) - order.indexOf(b.section));
  let section: string | undefined;
  for (const bar of sorted) {
    if (bar.section !== section) {
      section = bar.section;
      lines.push(`  section ${section}`);
    }
    const tag = bar.failed ? 'crit' : bar.section === 'Bake' ? 'active' : 'done';
    const end = Math.max(bar.endedAt, bar.startedAt);
    lines.push(`  ${taskName(bar.label)} :${tag}, ${bar.startedAt}, ${end}`);
  }
  lines.push('```', '');
  if (skipped > 0) {
    lines.push(
      `The chart leaves out ${skipped} bar(s) in the middle; the job log has every step.`,
      '',
    );
  }
  return lines;
}

export interface DryRunPlan {
  version: string;
  reused: boolean;
  image: string;
  digest: string;
  source: string;
  batches: string[][];
  /** Per batch, the rule that produced its size (batch-plan.ts). */
  rules?: string[];
  /** bake-time, alarm-names and max-failures in words; empty when unset. */
  strategy?: string[];
  script: string;
}

/** What a dry run prints: the plan, and nothing changed. */
export function renderDryRun(plan: DryRunPlan): string {
  return [
    `Dry run: nothing was changed.`,
    `Version: ${plan.version}${plan.reused ? ' (already the tag of this digest: a re-run reuses it)' : ''}`,
    `Image: ${plan.image}${plan.digest ? ` (${plan.digest})` : ''}, from ${plan.source}`,
    ...(plan.digest
      ? []
      : [
          '  (a local image is not inspected in a dry run: if the repository already has it, the deploy reuses its version)',
        ]),
    `Batches (${plan.batches.length}):`,
    ...plan.batches.map(
      (batch, i) =>
        `  ${i + 1}. ${batch.join(', ')}${plan.rules?.[i] ? `   (${batch.length}: ${plan.rules[i]})` : ''}`,
    ),
    ...(plan.strategy ?? []),
  ].join('\n');
}
