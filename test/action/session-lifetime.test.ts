import { describe, expect, it } from '@jest/globals';
import { sessionLifetimeWarning, worstCaseRolloutMs } from '../../action/session-lifetime.js';

const NOW = Date.UTC(2026, 10, 30, 12);

describe('the AWS session against the rollout', () => {
  it('bounds the rollout by every batch and every rollback running out its timeouts', () => {
    // 3 batches of 600 s, then 3 rollbacks of 600 s.
    expect(
      worstCaseRolloutMs({
        batches: 3,
        instances: 3,
        commandTimeoutSeconds: 600,
        healthTimeoutSeconds: 120,
        rollback: true,
      }),
    ).toBe(3_600_000);
    // A target group adds the drain limit and the health wait (at least 300 s) to each step.
    expect(
      worstCaseRolloutMs({
        batches: 1,
        instances: 1,
        commandTimeoutSeconds: 600,
        healthTimeoutSeconds: 120,
        drainTimeoutMs: 360_000,
        rollback: false,
      }),
    ).toBe(1_260_000);
  });

  it('warns when the worst case outlives the session the SDK knows the expiry of', () => {
    const expiration = new Date(NOW + 30 * 60_000);
    expect(sessionLifetimeWarning(45 * 60_000, NOW, expiration)).toMatch(
      /^The AWS session expires in 30 min \(2026-11-30T12:30:00.000Z\), but this rollout can take up to 45 min in the worst case: calls after that fail with ExpiredToken.*role-duration-seconds.*MaxSessionDuration/,
    );
    expect(sessionLifetimeWarning(20 * 60_000, NOW, expiration)).toBeUndefined();
  });

  it('warns beyond one hour when the expiry is unknown', () => {
    expect(sessionLifetimeWarning(61 * 60_000, NOW, undefined)).toMatch(
      /longer than a default 1 h role session/,
    );
    expect(sessionLifetimeWarning(60 * 60_000, NOW, undefined)).toBeUndefined();
  });
});

describe('the worst case with a bake', () => {
  it('adds, per batch, the bake and the re-check running out its limit', () => {
    const base = {
      batches: 3,
      instances: 3,
      commandTimeoutSeconds: 600,
      healthTimeoutSeconds: 120,
      rollback: true,
    };
    // 3 × (600 s + 300 s bake + 430 s re-check) + 3 × 600 s of rollbacks.
    expect(worstCaseRolloutMs({ ...base, bakeSeconds: 300, recheckTimeoutSeconds: 430 })).toBe(
      3 * 1_330_000 + 1_800_000,
    );
    expect(worstCaseRolloutMs({ ...base, bakeSeconds: 0, recheckTimeoutSeconds: 430 })).toBe(
      worstCaseRolloutMs(base),
    );
  });
});
