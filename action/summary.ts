import { PREVIOUS_PREFIX, RESULT_PREFIX } from './instance-script.js';
import type { InstanceOutcome } from './outcome.js';
import type { RolloutReport } from './rollout.js';
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

function duration(ms: number): string {
  if (ms <= 0) return '–';
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** The job summary: a headline, the failure if any, and one table row per instance. */
export function renderSummary(report: RolloutReport, digest: string): string {
  const headline = report.succeeded
    ? `### ✅ ${escapeHtml(report.version)} deployed to ${report.results.length} instance(s)`
    : `### ❌ ${escapeHtml(report.version)} is not running healthy on every instance`;
  const rows = report.results.map((r) => {
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
    ...(report.failure ? ['```text', report.failure.replaceAll('```', "'''"), '```', ''] : []),
    '| Instance | Outcome | Version | Duration | Output (tail) |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

export interface DryRunPlan {
  version: string;
  reused: boolean;
  image: string;
  digest: string;
  source: string;
  batches: string[][];
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
    ...plan.batches.map((batch, i) => `  ${i + 1}. ${batch.join(', ')}`),
  ].join('\n');
}
