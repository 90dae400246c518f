// How the action reads an AWS SDK error: throttled (safe to retry), rejected (AWS answered with a
// client error: nothing happened), or ambiguous (a 5xx or a lost response: it may have happened).
// Throttling is the SDK's own classifier, so every code AWS uses for it counts, not a list of ours.
import { isThrottlingError } from '@smithy/core/retry';

interface SdkErrorFields {
  name?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number; requestId?: string };
}

function fields(error: unknown): SdkErrorFields {
  return typeof error === 'object' && error !== null ? error : {};
}

export function errorName(error: unknown): string {
  return error instanceof Error ? error.name : '';
}

export function isThrottling(error: unknown): boolean {
  return (
    error instanceof Error && isThrottlingError(error as Parameters<typeof isThrottlingError>[0])
  );
}

/**
 * AWS answered with a 4xx that is not throttling: the request was refused and changed nothing.
 * Anything else (5xx, timeout, connection reset, no answer at all) may or may not have happened.
 */
export function isRejected(error: unknown): boolean {
  if (isThrottling(error)) return false;
  const status = fields(error).$metadata?.httpStatusCode;
  if (status !== undefined) return status >= 400 && status < 500;
  return fields(error).$fault === 'client';
}

/** The AWS request id of a failed call, for support cases and CloudTrail; undefined if none. */
export function requestIdOf(error: unknown): string | undefined {
  return fields(error).$metadata?.requestId;
}

/** An expired STS session: every later call fails the same way, so say so plainly. */
export function isExpiredToken(error: unknown): boolean {
  return ['ExpiredToken', 'ExpiredTokenException'].includes(errorName(error));
}

/** No credentials at all: the SDK's default chain found none (CredentialsProviderError). */
export function isMissingCredentials(error: unknown): boolean {
  return (
    errorName(error) === 'CredentialsProviderError' ||
    (error instanceof Error &&
      error.message.includes('Could not load credentials from any providers'))
  );
}

/**
 * The message users read for an AWS failure: the SDK's own, with what to do for the two failures
 * whose raw text does not say it (no credentials, an expired session).
 */
export function describeAwsError(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  if (isMissingCredentials(error)) {
    return `No AWS credentials (${text}). Give the job \`permissions: id-token: write\` and run aws-actions/configure-aws-credentials (with role-to-assume) in a step before this action.`;
  }
  if (isExpiredToken(error)) {
    return `The AWS session expired (${errorName(error)}: ${text}). The deploy outlived its role session: raise role-duration-seconds in aws-actions/configure-aws-credentials (and the role's MaxSessionDuration), or deploy fewer batches per run.`;
  }
  return text;
}
