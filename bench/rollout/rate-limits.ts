// Request rates the simulated SSM endpoint enforces, per operation, with token buckets as AWS
// throttles its APIs (a bucket per account, region and operation: it refills at a steady rate up
// to a burst; a call that finds it empty is answered ThrottlingException "Rate exceeded").

/** Tokens per second and bucket size of one operation. */
export interface Rate {
  perSecond: number;
  burst: number;
}

/**
 * AWS publishes no per-operation rates for Run Command: the Systems Manager quotas page
 * (https://docs.aws.amazon.com/general/latest/gr/ssm.html) gives a TPS only for Parameter Store
 * (GetParameter and friends, 40 by default), and the other APIs answer ThrottlingException
 * "Rate exceeded" at an unpublished, account-specific rate. Observed: SendCommand throttled with
 * more than 50 ids (https://github.com/boto/botocore/issues/993); ListCommandInvocations polled
 * every second by a few parallel test suites throttled until the client backed off
 * (https://github.com/aws/aws-rfdk/pull/1723, 2026). The figures below are conservative
 * assumptions in that range, not AWS numbers; `--rates` overrides them.
 */
export const SSM_RATES: Record<string, Rate> = {
  DescribeInstanceInformation: { perSecond: 10, burst: 20 },
  SendCommand: { perSecond: 5, burst: 10 },
  ListCommandInvocations: { perSecond: 10, burst: 20 },
  GetCommandInvocation: { perSecond: 10, burst: 20 },
  ListCommands: { perSecond: 5, burst: 10 },
  CancelCommand: { perSecond: 5, burst: 10 },
};

/** A token bucket: `take()` is false when the caller is over the rate. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: Rate,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = rate.burst;
    this.last = now();
  }

  take(): boolean {
    const now = this.now();
    this.tokens = Math.min(
      this.rate.burst,
      this.tokens + ((now - this.last) / 1000) * this.rate.perSecond,
    );
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** Parses `--rates SendCommand=5/10,GetCommandInvocation=20/40` over the defaults. */
export function parseRates(
  text: string,
  base: Record<string, Rate> = SSM_RATES,
): Record<string, Rate> {
  const rates = { ...base };
  for (const part of text.split(',').filter((p) => p.trim() !== '')) {
    const match = /^\s*(\w+)=(\d+(?:\.\d+)?)\/(\d+)\s*$/.exec(part);
    if (!match) throw new Error(`--rates: "${part}" is not Operation=perSecond/burst`);
    rates[match[1] ?? ''] = { perSecond: Number(match[2]), burst: Number(match[3]) };
  }
  return rates;
}
