import { describe, expect, it } from '@jest/globals';
import {
  describeBudget,
  describeSize,
  failureBudget,
  planRollout,
} from '../../action/batch-plan.js';
import { batchSize } from '../../action/inputs.js';
import { planBatches } from '../../action/rollout.js';
import { ids } from './fakes.js';

function sizes(batches: string[][]): number[] {
  return batches.map((batch) => batch.length);
}

describe('batch planning', () => {
  it.each([
    [{ count: 1 }, 5],
    [{ count: 2 }, 5],
    [{ count: 7 }, 5],
    [{ percent: 40 }, 5],
    [{ percent: 10 }, 3],
    [{ percent: 100 }, 120],
  ] as const)(
    'without a canary plans exactly what max-parallel %j always did (%i instances)',
    (spec, n) => {
      const fleet = ids(n);
      expect(planRollout(fleet, spec).batches).toEqual(planBatches(fleet, batchSize(spec, n)));
    },
  );

  it('puts the canary first, then the rest in max-parallel batches, in fleet order', () => {
    const fleet = ids(7);
    const plan = planRollout(fleet, { count: 3 }, { count: 1 });
    expect(plan.batches).toEqual([[fleet[0]], fleet.slice(1, 4), fleet.slice(4, 7)]);
    expect(plan.rules).toEqual(['canary `1`', 'max-parallel `3`', 'max-parallel `3`']);
    expect(plan.batches.flat()).toEqual(fleet);
  });

  it('takes percentages of the whole fleet for both, and says how they were rounded', () => {
    const fleet = ids(10);
    const plan = planRollout(fleet, { percent: 25 }, { percent: 10 });
    // canary 10% of 10 = 1; max-parallel 25% of 10 = 2.5 → 2: 1 + 2+2+2+2 + 1.
    expect(sizes(plan.batches)).toEqual([1, 2, 2, 2, 2, 1]);
    expect(plan.rules[0]).toBe('canary `10%` of 10 → 1');
    expect(plan.rules[1]).toBe('max-parallel `25%` of 10 → 2, rounded down');
    expect(plan.rules[5]).toBe('max-parallel `25%` of 10 → 2, rounded down; the remaining 1');
  });

  it('explains the dry-run example of the issue: `50%` of 3 → 1, rounded down', () => {
    expect(describeSize({ percent: 50 }, 3)).toBe('`50%` of 3 → 1, rounded down');
    const plan = planRollout(ids(3), { percent: 50 });
    expect(sizes(plan.batches)).toEqual([1, 1, 1]);
    expect(plan.rules).toEqual(Array(3).fill('max-parallel `50%` of 3 → 1, rounded down'));
  });

  it('never plans an empty batch: a percentage below one instance is one', () => {
    expect(sizes(planRollout(ids(3), { count: 1 }, { percent: 10 }).batches)).toEqual([1, 1, 1]);
    expect(describeSize({ percent: 10 }, 3)).toBe('`10%` of 3 → 1, at least one');
  });

  it('a canary as big as the fleet (or bigger) is the only batch', () => {
    const fleet = ids(3);
    const plan = planRollout(fleet, { count: 1 }, { count: 5 });
    expect(plan.batches).toEqual([fleet]);
    expect(plan.rules).toEqual(['canary `5` → 3, the whole fleet of 3']);
  });

  it('plans nothing for an empty fleet', () => {
    expect(planRollout([], { count: 2 }, { count: 1 })).toEqual({ batches: [], rules: [] });
  });
});

describe('the failure budget', () => {
  it.each([
    [{ count: 0 }, 10, 0, '`0`'],
    [{ count: 2 }, 10, 2, '`2`'],
    [{ percent: 10 }, 25, 2, '`10%` of 25 → 2, rounded down'],
    [{ percent: 20 }, 10, 2, '`20%` of 10 → 2'],
    // Rounded down, never up to one: 10% of 3 is no failure allowed.
    [{ percent: 10 }, 3, 0, '`10%` of 3 → 0, rounded down'],
  ] as const)('%j of %i instances allows %i', (spec, fleet, budget, text) => {
    expect(failureBudget(spec, fleet)).toBe(budget);
    expect(describeBudget(spec, fleet)).toBe(text);
  });
});
