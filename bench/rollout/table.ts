// The benchmark's report: one Markdown table row per case, and the issue's targets checked.
import type { CaseResult } from './run-case.js';

/** Issue 14: wall time ≤ 1.05 × ideal + 10 s. */
export function wallTarget(result: CaseResult): number {
  return 1.05 * result.idealMs + 10_000;
}

/** Issue 14: ≤ 0.5 SSM calls per instance at N ≥ 100 in the success cases. */
export function callsTargetApplies(result: CaseResult): boolean {
  return result.instances >= 100 && result.failing === 0;
}

const OPERATIONS: Array<[string, string]> = [
  ['DescribeInstanceInformation', 'Describe'],
  ['SendCommand', 'Send'],
  ['ListCommandInvocations', 'List'],
  ['GetCommandInvocation', 'Get'],
];

function byOperation(result: CaseResult): string {
  const known = new Set(OPERATIONS.map(([name]) => name));
  const parts = OPERATIONS.map(([name, short]) => `${short} ${result.callsByOperation[name] ?? 0}`);
  for (const [name, count] of Object.entries(result.callsByOperation)) {
    if (!known.has(name)) parts.push(`${name} ${count}`);
  }
  return parts.join(', ');
}

const s = (ms: number): string => (ms / 1000).toFixed(1);

export function renderTable(results: CaseResult[], scriptMs: number): string {
  const header = [
    'case',
    'wall s',
    `ideal s (batches × ${s(scriptMs)} s)`,
    'wall / ideal',
    'wall target',
    'SSM calls',
    'per instance',
    'by operation',
    'throttled',
    'peak RSS MB',
    'summary KB',
    'log KB',
    'result',
  ];
  const rows = results.map((r) => {
    const ideal = `${s(r.idealMs)} (${r.batches}${r.rollbackBatches ? ` + ${r.rollbackBatches} rollback` : ''})`;
    const perInstance = r.ssmCalls / r.instances;
    return [
      r.label,
      s(r.wallMs),
      ideal,
      (r.wallMs / r.idealMs).toFixed(2),
      r.wallMs <= wallTarget(r) ? 'met' : `missed (≤ ${s(wallTarget(r))})`,
      String(r.ssmCalls),
      perInstance.toFixed(2) + (callsTargetApplies(r) ? (perInstance <= 0.5 ? ' ✓' : ' ✗') : ''),
      byOperation(r),
      String(r.throttled),
      (r.peakRssKb / 1024).toFixed(0),
      (r.summaryBytes / 1024).toFixed(1),
      (r.logBytes / 1024).toFixed(1),
      r.problem ? `FAILED: ${r.problem}` : r.failing ? 'failed and rolled back, as expected' : 'ok',
    ];
  });
  return [header, header.map(() => '---'), ...rows]
    .map((row) => `| ${row.join(' | ')} |`)
    .join('\n');
}
