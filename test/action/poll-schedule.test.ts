import { describe, expect, it } from '@jest/globals';
import { PollSchedule } from '../../action/poll-schedule.js';

describe('the poll schedule', () => {
  it('polls soon and then at a growing, capped interval while it knows nothing', () => {
    const schedule = new PollSchedule({
      firstMs: 1000,
      intervalMs: 500,
      growth: 2,
      maxIntervalMs: 3000,
      marginMs: 300,
    });
    expect(schedule.first()).toBe(1000);
    expect([1, 2, 3, 4, 5].map((n) => schedule.next(n))).toEqual([500, 1000, 2000, 3000, 3000]);
  });

  it('polls the next command when the last one took to finish, plus the margin', () => {
    const schedule = new PollSchedule();
    schedule.learn(42_000);
    expect(schedule.first()).toBe(42_300);
    schedule.learn(2_200);
    expect(schedule.first()).toBe(2_500);
    // Never sooner than the first poll of an unknown command, nor from a nonsense duration.
    schedule.learn(100);
    expect(schedule.first()).toBe(1_000);
    schedule.learn(Number.NaN);
    expect(schedule.first()).toBe(1_000);
  });
});
