// The job summary's parts for issue 12: the timeline (a Mermaid gantt chart), the hooks, the
// headline of a rollout that used its failure budget.
import { describe, expect, it } from '@jest/globals';
import type { HookRun, RolloutReport, TimelineEntry } from '../../action/rollout.js';
import { renderSummary, renderTimeline, TIMELINE_BARS } from '../../action/summary.js';

const T0 = Date.UTC(2026, 10, 29, 12);

const timeline: TimelineEntry[] = [
  {
    section: 'Hooks',
    label: 'pre-deploy-command on i-1',
    startedAt: T0,
    endedAt: T0 + 4_000,
    failed: false,
  },
  {
    section: 'Batches',
    label: 'Batch 1 (1)',
    startedAt: T0 + 4_000,
    endedAt: T0 + 20_000,
    failed: false,
  },
  {
    section: 'Bake',
    label: 'Bake after batch 1',
    startedAt: T0 + 20_000,
    endedAt: T0 + 50_000,
    failed: false,
  },
  {
    section: 'Bake',
    label: 'Re-check 1 instance(s)',
    startedAt: T0 + 50_000,
    endedAt: T0 + 54_000,
    failed: true,
  },
  {
    section: 'Rollback',
    label: 'Roll back 1 instance(s)',
    startedAt: T0 + 54_000,
    endedAt: T0 + 80_000,
    failed: false,
  },
];

const hook: HookRun = {
  phase: 'pre-deploy',
  instanceId: 'i-1',
  ok: true,
  exitCode: 0,
  commandId: 'c-1',
  outputTail: 'migrated <2> tables',
  startedAt: T0,
  durationMs: 4_000,
  message: 'pre-deploy-command exited 0',
};

function report(overrides: Partial<RolloutReport> = {}): RolloutReport {
  return {
    version: 'v8',
    image: 'r/app:v8',
    region: 'eu-west-1',
    succeeded: true,
    rolledBack: false,
    results: ['i-1', 'i-2', 'i-3'].map((instanceId, i) => ({
      instanceId,
      outcome: i === 1 ? 'rolled-back' : 'deployed',
      batch: i + 1,
      newVersion: 'v8',
      previousVersion: 'v7',
      newVersionFailed: i === 1,
      durationMs: 3_000,
      output: '',
    })),
    tolerated: [],
    hooks: [],
    commandIds: [],
    timeline: [],
    ...overrides,
  };
}

describe('the timeline', () => {
  it('is a Mermaid gantt chart on the clock’s times, one block per section, failures in red', () => {
    expect(renderTimeline('v8', timeline).join('\n')).toBe(
      [
        '```mermaid',
        'gantt',
        '  title Rollout of v8',
        '  dateFormat x',
        '  axisFormat %H:%M:%S',
        '  section Hooks',
        `  pre-deploy-command on i-1 :done, ${T0}, ${T0 + 4_000}`,
        '  section Batches',
        `  Batch 1 (1) :done, ${T0 + 4_000}, ${T0 + 20_000}`,
        '  section Bake',
        `  Bake after batch 1 :active, ${T0 + 20_000}, ${T0 + 50_000}`,
        `  Re-check 1 instance(s) :crit, ${T0 + 50_000}, ${T0 + 54_000}`,
        '  section Rollback',
        `  Roll back 1 instance(s) :done, ${T0 + 54_000}, ${T0 + 80_000}`,
        '```',
        '',
      ].join('\n'),
    );
  });

  it('keeps Mermaid syntax out of task names', () => {
    const [bar] = timeline;
    const lines = renderTimeline('v8', [{ ...bar!, label: 'a: b; c # d' }]);
    expect(lines).toContain(`  a  b  c   d :done, ${T0}, ${T0 + 4_000}`);
  });

  it(`keeps at most ${TIMELINE_BARS} bars and says what it left out`, () => {
    const many = Array.from({ length: 1000 }, (_, i): TimelineEntry => ({
      section: 'Batches',
      label: `Batch ${i + 1} (1)`,
      startedAt: T0 + i * 1_000,
      endedAt: T0 + (i + 1) * 1_000,
      failed: false,
    }));
    const lines = renderTimeline('v8', many);
    expect(lines.filter((l) => l.startsWith('  Batch '))).toHaveLength(TIMELINE_BARS);
    expect(lines).toContain('  Batch 1000 (1) :done, ' + `${T0 + 999_000}, ${T0 + 1_000_000}`);
    expect(lines.at(-2)).toBe(
      `The chart leaves out ${1000 - TIMELINE_BARS} bar(s) in the middle; the job log has every step.`,
    );
  });

  it('is absent when nothing ran (and so are the hooks): the summary is as before', () => {
    const summary = renderSummary(report(), '');
    expect(summary).not.toContain('mermaid');
    expect(summary).not.toContain('| Hook |');
  });
});

describe('the summary of a rollout with strategies', () => {
  it('shows the timeline and the hooks beside the table', () => {
    const summary = renderSummary(report({ timeline, hooks: [hook] }), '');
    expect(summary).toContain('```mermaid\ngantt\n');
    expect(summary).toContain(
      '| pre-deploy-command | <code>i-1</code> | ✅ pre-deploy-command exited 0 | 4 s | <details><summary>output</summary><pre>migrated &lt;2&gt; tables</pre></details> |',
    );
    expect(summary.indexOf('```mermaid')).toBeLessThan(summary.indexOf('| Instance | Outcome |'));
  });

  it('says how many instances failed within max-failures in the headline', () => {
    const summary = renderSummary(report({ tolerated: ['i-2'], rolledBack: true }), '');
    expect(summary).toContain(
      '### ✅ v8 deployed to 2 of 3 instance(s); 1 failed within max-failures and went back',
    );
  });
});
