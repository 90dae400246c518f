// Why the action paces SSM calls beside the SDK's adaptive retries: docs/decisions.md.
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { Clock } from './clock.js';

/** A steady rate and the burst allowed above it. */
export interface RequestRate {
  perSecond: number;
  burst: number;
}

/**
 * The action's own pace for SSM, per operation, below the rates at which AWS throttles (AWS
 * publishes none for Run Command; throttling of ListCommandInvocations polled every second by a
 * few clients at once is reported). A fleet of 1,000 sends 20 commands and polls them together:
 * paced, the calls queue here for a moment instead of being refused and retried, and the
 * account's other users of SSM keep their share.
 */
export const SSM_PACE: Record<string, RequestRate> = {
  SendCommand: { perSecond: 4, burst: 8 },
  ListCommandInvocations: { perSecond: 8, burst: 16 },
  GetCommandInvocation: { perSecond: 8, burst: 16 },
  DescribeInstanceInformation: { perSecond: 8, burst: 16 },
};

/** A token bucket whose callers queue: each takes a token, or waits until its turn comes. */
export function rateLimiter(rate: RequestRate, clock: Clock): () => Promise<void> {
  let tokens = rate.burst;
  let last = clock.now();
  return async () => {
    const now = clock.now();
    tokens = Math.min(rate.burst, tokens + ((now - last) / 1000) * rate.perSecond);
    last = now;
    tokens -= 1;
    // A negative balance is the queue: this caller's token arrives when it is paid back.
    if (tokens < 0) await clock.sleep(Math.ceil((-tokens / rate.perSecond) * 1000));
  };
}

/** Makes every call of the client wait for its operation's pace (once per call, not per retry). */
export function paceRequests(
  client: SSMClient,
  clock: Clock,
  rates: Record<string, RequestRate> = SSM_PACE,
): void {
  const limiters = new Map(
    Object.entries(rates).map(([operation, rate]) => [operation, rateLimiter(rate, clock)]),
  );
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = (context.commandName ?? '').replace(/Command$/, '');
      await limiters.get(operation)?.();
      return next(args);
    },
    { step: 'initialize', name: 'challengeDeployRequestPacing' },
  );
}
