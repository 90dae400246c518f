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
