// Which instances go in which batch, and the rule that produced each batch's size, in words the
// dry run prints (`50%` of 3 → 1, rounded down). `canary` sizes the first batch, `max-parallel`
// the rest; both are a count or a percentage of the whole fleet, like `max-parallel` always was.
import { batchSize, type MaxParallel } from './inputs.js';

/** A size given as an input: a number of instances, or a percentage of the fleet. */
export type SizeSpec = MaxParallel;

export interface BatchPlan {
  batches: string[][];
  /** One per batch: why it has the size it has. */
  rules: string[];
}

/** How a size input reads for a fleet, e.g. "`50%` of 3 → 1, rounded down". */
export function describeSize(spec: SizeSpec, fleetSize: number): string {
  const size = batchSize(spec, fleetSize);
  if ('count' in spec) {
    return spec.count > fleetSize
      ? `\`${spec.count}\` → ${size}, the whole fleet of ${fleetSize}`
      : `\`${spec.count}\``;
  }
  const exact = (fleetSize * spec.percent) / 100;
  if (Number.isInteger(exact)) return `\`${spec.percent}%\` of ${fleetSize} → ${size}`;
  if (Math.floor(exact) < 1) return `\`${spec.percent}%\` of ${fleetSize} → ${size}, at least one`;
  return `\`${spec.percent}%\` of ${fleetSize} → ${size}, rounded down`;
}

/**
 * Splits the fleet into batches: the canary batch first (when `canary` is set), then batches of
 * `max-parallel`, in fleet order. Without a canary this is exactly the old planning.
 */
export function planRollout(ids: string[], maxParallel: SizeSpec, canary?: SizeSpec): BatchPlan {
  const batches: string[][] = [];
  const rules: string[] = [];
  let next = 0;
  if (canary !== undefined && ids.length > 0) {
    const size = batchSize(canary, ids.length);
    batches.push(ids.slice(0, size));
    rules.push(`canary ${describeSize(canary, ids.length)}`);
    next = size;
  }
  const size = batchSize(maxParallel, ids.length);
  const rule = `max-parallel ${describeSize(maxParallel, ids.length)}`;
  for (; next < ids.length; next += size) {
    const batch = ids.slice(next, next + size);
    batches.push(batch);
    rules.push(batch.length < size ? `${rule}; the remaining ${batch.length}` : rule);
  }
  return { batches, rules };
}

/** `max-failures` as a number of instances: a percentage is of the whole fleet, rounded down. */
export function failureBudget(spec: SizeSpec, fleetSize: number): number {
  if ('count' in spec) return spec.count;
  return Math.floor((fleetSize * spec.percent) / 100);
}

/** How the budget reads, e.g. "`10%` of 25 → 2, rounded down". */
export function describeBudget(spec: SizeSpec, fleetSize: number): string {
  if ('count' in spec) return `\`${spec.count}\``;
  const exact = (fleetSize * spec.percent) / 100;
  const budget = failureBudget(spec, fleetSize);
  return Number.isInteger(exact)
    ? `\`${spec.percent}%\` of ${fleetSize} → ${budget}`
    : `\`${spec.percent}%\` of ${fleetSize} → ${budget}, rounded down`;
}
