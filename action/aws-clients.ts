// The AWS SDK clients the action uses, built in one place so that every one carries the same
// region, retry policy and user agent.
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { isThrottling } from './aws-errors.js';
import { systemClock } from './clock.js';
import { paceRequests } from './request-pacing.js';

/** Kept equal to package.json's version by test/action/aws-clients.test.ts. */
export const ACTION_VERSION = '1.0.0';
/** Appears in every request's User-Agent, so CloudTrail and throttling reports name the action. */
export const USER_AGENT: [string, string] = ['challenge-deploy', ACTION_VERSION];

export interface AwsClients {
  ecr: ECRClient;
  ssm: SSMClient;
  /** SSM without SDK retries, for SendCommand only: see RunCommandDeps.ssmSend. */
  ssmSend: SSMClient;
  elb: ElasticLoadBalancingV2Client;
  /** DescribeAlarms for `alarm-names` (JSON 1.0 protocol in this SDK version). */
  cloudwatch: CloudWatchClient;
}

export interface AwsClientOptions {
  region: string;
  /** For tests; the action itself honours AWS_ENDPOINT_URL(_<SERVICE>) through the SDK. */
  endpoint?: string;
  /** Told of every throttled answer, also those the SDK's own retries absorb. */
  onThrottle?: () => void;
}

type AnyClient = ECRClient | SSMClient | ElasticLoadBalancingV2Client | CloudWatchClient;

/**
 * Counts throttled answers per attempt: placed in finalizeRequest below the retry middleware
 * (priority high), it sees each attempt's deserialized error before the SDK retries it.
 */
function countThrottling<T extends AnyClient>(client: T, onThrottle?: () => void): T {
  if (!onThrottle) return client;
  (client.middlewareStack as ECRClient['middlewareStack']).add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        if (isThrottling(error)) onThrottle();
        throw error;
      }
    },
    { step: 'finalizeRequest', priority: 'low', name: 'challengeDeployThrottleCount' },
  );
  return client;
}

/**
 * SDK clients with adaptive retries (client-side rate limiting when AWS throttles). They take
 * credentials from the default chain.
 */
export function awsClients({ region, endpoint, onThrottle }: AwsClientOptions): AwsClients {
  const config = {
    region,
    endpoint,
    retryMode: 'adaptive',
    maxAttempts: 5,
    customUserAgent: [USER_AGENT],
  };
  const ssm = new SSMClient(config);
  const ssmSend = new SSMClient({ ...config, maxAttempts: 1 });
  // Below SSM's rates, so that a big fleet's calls wait here instead of being throttled.
  paceRequests(ssm, systemClock);
  paceRequests(ssmSend, systemClock);
  return {
    ecr: countThrottling(new ECRClient(config), onThrottle),
    ssm: countThrottling(ssm, onThrottle),
    ssmSend: countThrottling(ssmSend, onThrottle),
    elb: countThrottling(new ElasticLoadBalancingV2Client(config), onThrottle),
    cloudwatch: countThrottling(new CloudWatchClient(config), onThrottle),
  };
}
