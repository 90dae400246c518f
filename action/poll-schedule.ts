/**
 * When to poll a command's invocations. Every batch runs the same script, so once one command has
 * finished, the next is first polled when it should be done (the last one's duration, measured
 * by SSM's own timestamps, plus a margin for the agent to report): one or two polls per command
 * instead of a poll every few seconds, and the end is seen within a fraction of a second. Until
 * the first command has finished, and after a missed guess, polls start at `firstMs` and then come
 * at a growing interval.
 */
export interface PollScheduleOptions {
  /** First poll when nothing is known yet. */
  firstMs: number;
  /** Interval after a poll that found the command still running; grows by `growth`. */
  intervalMs: number;
  growth: number;
  maxIntervalMs: number;
  /** Added to the learnt duration: the agent reports a little after the script ends. */
  marginMs: number;
}

export const DEFAULT_POLL_SCHEDULE: PollScheduleOptions = {
  firstMs: 1_000,
  intervalMs: 500,
  growth: 1.25,
  maxIntervalMs: 15_000,
  marginMs: 300,
};

export class PollSchedule {
  private learntMs: number | undefined;

  constructor(private readonly options: PollScheduleOptions = DEFAULT_POLL_SCHEDULE) {}

  /** Milliseconds from SendCommand to the first poll. */
  first(): number {
    return this.learntMs === undefined
      ? this.options.firstMs
      : Math.max(this.options.firstMs, this.learntMs + this.options.marginMs);
  }

  /** Milliseconds to the next poll, after `polls` polls that found the command still running. */
  next(polls: number): number {
    const interval = this.options.intervalMs * this.options.growth ** Math.max(0, polls - 1);
    return Math.min(Math.round(interval), this.options.maxIntervalMs);
  }

  /** A command finished: from its request to the end of its slowest instance. */
  learn(durationMs: number): void {
    if (Number.isFinite(durationMs) && durationMs >= 0) this.learntMs = durationMs;
  }
}
