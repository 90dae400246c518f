// The AWS SDK clients the action uses, built in one place so that every one carries the same
// region, retry policy and user agent.
import { ECRClient } from '@aws-sdk/client-ecr';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { SSMClient } from '@aws-sdk/client-ssm';

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
}

export interface AwsClientOptions {
  region: string;
  /** For tests; the action itself honours AWS_ENDPOINT_URL(_<SERVICE>) through the SDK. */
  endpoint?: string;
}

/**
 * SDK clients with adaptive retries (client-side rate limiting when AWS throttles). They take
 * credentials from the default chain.
 */
export function awsClients({ region, endpoint }: AwsClientOptions): AwsClients {
  const config = {
    region,
    endpoint,
    retryMode: 'adaptive',
    maxAttempts: 5,
    customUserAgent: [USER_AGENT],
  };
  return {
    ecr: new ECRClient(config),
    ssm: new SSMClient(config),
    ssmSend: new SSMClient({ ...config, maxAttempts: 1 }),
    elb: new ElasticLoadBalancingV2Client(config),
  };
}
