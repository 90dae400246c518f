// OIDC role sessions expire (1 h by default) and credentials from environment variables cannot be
// refreshed: a rollout that outlives its session fails every later call (polling, rollback, the
// post step's cancel) with ExpiredToken. The deploy estimates its worst case up front and warns.

/** A role session's default length (aws-actions/configure-aws-credentials role-duration-seconds). */
export const DEFAULT_SESSION_MS = 3_600_000;

export interface RolloutBounds {
  batches: number;
  instances: number;
  /** SSM executionTimeout of one deploy or rollback command. */
  commandTimeoutSeconds: number;
  healthTimeoutSeconds: number;
  /** Set with a target group: one drain's limit (its deregistration delay plus a margin). */
  drainTimeoutMs?: number;
  rollback: boolean;
  /** `bake-time`: each batch is followed by this wait and a re-check command. */
  bakeSeconds?: number;
  /** The re-check command's own limit (bake.ts), counted once per bake. */
  recheckTimeoutSeconds?: number;
}

/**
 * The longest the rollout can take: every batch runs out its command timeout (plus a drain and
 * the target group's health wait) and its bake (the wait, then the re-check running out its
 * limit), then every instance is rolled back, one at a time, the same way.
 */
export function worstCaseRolloutMs(bounds: RolloutBounds): number {
  const targetGroupMs =
    bounds.drainTimeoutMs === undefined
      ? 0
      : bounds.drainTimeoutMs + Math.max(bounds.healthTimeoutSeconds, 300) * 1000;
  const stepMs = bounds.commandTimeoutSeconds * 1000 + targetGroupMs;
  const bakeMs = bounds.bakeSeconds
    ? (bounds.bakeSeconds + (bounds.recheckTimeoutSeconds ?? 0)) * 1000
    : 0;
  return (stepMs + bakeMs) * bounds.batches + (bounds.rollback ? stepMs * bounds.instances : 0);
}

function minutes(ms: number): string {
  return `${Math.ceil(ms / 60_000)} min`;
}

/**
 * A warning when the worst case outlives the session: its known expiry (the SDK knows it when the
 * credentials carry one), else the default one hour. Undefined when the session is long enough.
 */
export function sessionLifetimeWarning(
  worstCaseMs: number,
  now: number,
  expiration: Date | undefined,
): string | undefined {
  const fix =
    'raise role-duration-seconds in aws-actions/configure-aws-credentials (up to the role’s MaxSessionDuration, which you may need to raise too), or deploy with a larger max-parallel';
  if (expiration) {
    const left = expiration.getTime() - now;
    if (worstCaseMs <= left) return undefined;
    return `The AWS session expires in ${minutes(left)} (${expiration.toISOString()}), but this rollout can take up to ${minutes(worstCaseMs)} in the worst case: calls after that fail with ExpiredToken and can leave instances mid-deploy. To be safe, ${fix}.`;
  }
  if (worstCaseMs <= DEFAULT_SESSION_MS) return undefined;
  return `This rollout can take up to ${minutes(worstCaseMs)} in the worst case, longer than a default 1 h role session: calls after it expires fail with ExpiredToken and can leave instances mid-deploy. To be safe, ${fix}.`;
}
