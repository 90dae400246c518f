import { describe, expect, it } from '@jest/globals';
import type { RolloutReport } from '../../action/rollout.js';
import { outputTail, renderSummary, rolloutOutputs } from '../../action/summary.js';

const report: RolloutReport = {
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
