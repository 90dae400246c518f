import { describe, expect, it } from '@jest/globals';
import type { RolloutReport } from '../../action/rollout.js';
import { outputTail, renderSummary, rolloutOutputs } from '../../action/summary.js';

/** The rollout-strategy fields of a report (issue 12), empty: none of these tests uses them. */
const NO_STRATEGY = { tolerated: [], hooks: [], commandIds: [], timeline: [] };

const report: RolloutReport = {
  ...NO_STRATEGY,
  version: 'v8',
  image: 'r/app:v8',
  region: 'eu-west-1',
  succeeded: false,
  rolledBack: true,
  failure: 'v8 is not running healthy on every instance (1 rolled back, 1 not reached).',
  results: [
    {
      instanceId: 'i-0aaa0aaa0aaa0aaa0',
      outcome: 'rolled-back',
      batch: 1,
      newVersion: 'v8',
      previousVersion: 'v7',
      newVersionFailed: true,
      message:
        'i-0aaa0aaa0aaa0aaa0: v8 failed its health check after 120 s (HTTP 503); rolled back to v7 (healthy).',
      durationMs: 135_000,
      output:
        'CHALLENGE_DEPLOY_PREVIOUS {}\n[12:00:00] health: HTTP 503 <b>|</b>\nCHALLENGE_DEPLOY_RESULT {}',
    },
    {
      instanceId: 'i-0bbb0bbb0bbb0bbb0',
      outcome: 'not-reached',
      batch: 2,
      newVersion: 'v8',
      newVersionFailed: false,
      durationMs: 0,
      output: '',
    },
  ],
};

describe('the report', () => {
  it('has one table row per instance with outcome, versions, duration and output tail', () => {
    const summary = renderSummary(report, 'sha256:abc');
    expect(summary).toContain('### ❌ v8 is not running healthy on every instance');
    expect(summary).toContain('| Instance | Outcome | Version | Duration | Output (tail) |');
    expect(summary).toContain(
      '<code>i-0aaa0aaa0aaa0aaa0</code> | ↩️ rolled back<br>i-0aaa0aaa0aaa0aaa0: v8 failed its health check',
    );
    expect(summary).toContain('v7 → v8 | 2 min 15 s |');
    expect(summary).toContain('health: HTTP 503 &lt;b&gt;&#124;&lt;/b&gt;');
    expect(summary).toContain('<code>i-0bbb0bbb0bbb0bbb0</code> | ⏸️ not reached | ? → v8 | – |');
    expect(summary).not.toContain('CHALLENGE_DEPLOY_RESULT');
  });

  it('links each instance to its SSM commands and the target group to its console page', () => {
    const arn =
      'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/app/0123456789abcdef';
    const first = { ...report.results[0]!, commandIds: ['cmd-deploy', 'cmd-rollback'] };
    const summary = renderSummary(
      { ...report, targetGroupArn: arn, results: [first, report.results[1]!] },
      'sha256:abc',
    );
    expect(summary).toContain(
      '<a href="https://eu-west-1.console.aws.amazon.com/systems-manager/run-command/cmd-deploy?region=eu-west-1">SSM cmd-deploy</a>',
    );
    expect(summary).toContain('>SSM cmd-rollback</a>');
    expect(summary).toContain(
      `Target group <a href="https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#TargetGroup:targetGroupArn=${arn}">`,
    );
  });

  it('sets the outputs of DESIGN.md', () => {
    expect(rolloutOutputs(report, 'sha256:abc')).toEqual({
      version: 'v8',
      'image-uri': 'r/app:v8',
      'image-digest': 'sha256:abc',
      'deployed-instances': '',
      'failed-instances': 'i-0aaa0aaa0aaa0aaa0',
      'rolled-back': 'true',
    });
  });

  it('keeps the last lines of output without the machine-readable ones', () => {
    const output = Array.from({ length: 30 }, (_, i) => `line ${i}`).join('\n');
    expect(outputTail(output, 3)).toBe('line 27\nline 28\nline 29');
  });
});

describe('the summary of a fleet of 1,000', () => {
  const id = (n: number) => `i-${n.toString(16).padStart(17, '0')}`;
  const output = [
    'CHALLENGE_DEPLOY_PREVIOUS {"image":"r/app:v7","version":"v7"}',
    ...Array.from({ length: 8 }, (_, i) => `[12:00:0${i}] step ${i}: ok (1 s) ${'.'.repeat(60)}`),
    'CHALLENGE_DEPLOY_RESULT {"outcome":"deployed"}',
  ].join('\n');
  const fleet = (outcome: 'deployed' | 'rolled-back'): RolloutReport['results'] =>
    Array.from({ length: 1000 }, (_, i) => ({
      instanceId: id(i + 1),
      outcome,
      batch: Math.floor(i / 100) + 1,
      newVersion: 'v8',
      previousVersion: 'v7',
      newVersionFailed: false,
      message:
        outcome === 'deployed'
          ? undefined
          : `${id(i + 1)}: v8 was healthy; rolled back to v7 (healthy) because v8 failed on ${id(500)}.`,
      durationMs: 2_000,
      output,
    }));

  it('names every instance with its outcome and duration, and folds them, far below GitHub’s 1 MiB', () => {
    const summary = renderSummary(
      {
        ...NO_STRATEGY,
        version: 'v8',
        image: 'r/app:v8',
        region: 'eu-west-1',
        succeeded: true,
        rolledBack: false,
        results: fleet('deployed'),
      },
      'sha256:abc',
    );
    expect(summary).toContain('### ✅ v8 deployed to 1000 instance(s)');
    expect(summary).toContain('1000 instances: 1000 deployed.');
    expect(summary).toContain('<details><summary>✅ deployed: 1000 instance(s)</summary>');
    expect(summary).toContain(`<code>${id(1000)}</code> (batch 10, 2 s)`);
    for (let n = 1; n <= 1000; n++) expect(summary).toContain(id(n));
    expect(summary).not.toContain('<details><summary>output</summary>');
    expect(Buffer.byteLength(summary)).toBeLessThan(100 * 1024);
  });

  it('gives the culprit and every failed rollback a full row, first, and folds the healthy rollbacks', () => {
    const results = fleet('rolled-back');
    results[499] = {
      ...results[499]!,
      newVersionFailed: true,
      message: `${id(500)}: v8 failed its health check after 120 s (HTTP 503); rolled back to v7 (healthy).`,
    };
    results[10] = {
      ...results[10]!,
      outcome: 'rollback-failed',
      message: `${id(11)}: v8 was healthy; rolling back to v7 failed: v7 failed its health check after 120 s (no answer).`,
    };
    const failure = [
      'v8 is not running healthy on every instance (999 rolled back, 1 rollback failed).',
      ...results.map((r) => r.message),
    ].join('\n');
    const summary = renderSummary(
      {
        ...NO_STRATEGY,
        version: 'v8',
        image: 'r/app:v8',
        region: 'eu-west-1',
        succeeded: false,
        rolledBack: true,
        failure,
        results,
      },
      'sha256:abc',
    );
    const rows = summary.split('\n').filter((line) => line.startsWith('| <code>'));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toContain(`${id(500)}: v8 failed its health check`);
    expect(rows[1]).toContain('❌ rollback failed');
    expect(summary).toContain('1000 instances: 999 rolled back, 1 rollback failed.');
    expect(summary).toContain('<details><summary>↩️ rolled back: 998 instance(s)</summary>');
    expect(summary).toContain(
      '… and 971 more line(s): every instance is listed below, and in the log.',
    );
    expect(Buffer.byteLength(summary)).toBeLessThan(100 * 1024);
  });
});
