import { describe, expect, it } from '@jest/globals';
import { describeAwsError, isRejected, isThrottling } from '../../action/aws-errors.js';

function sdkError(name: string, message: string, fields: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { name, ...fields });
}

describe('AWS errors in the words users read', () => {
  it('turn "Could not load credentials from any providers" into the two steps that fix it', () => {
    const text = describeAwsError(
      sdkError('CredentialsProviderError', 'Could not load credentials from any providers'),
    );
    expect(text).toContain('No AWS credentials (Could not load credentials from any providers)');
    expect(text).toContain('`permissions: id-token: write`');
    expect(text).toContain('aws-actions/configure-aws-credentials');
  });

  it.each(['ExpiredToken', 'ExpiredTokenException'])(
    'report %s as an expired session, with role-duration-seconds and MaxSessionDuration',
    (name) => {
      const text = describeAwsError(
        sdkError(name, 'The security token included in the request is expired'),
      );
      expect(text).toMatch(/^The AWS session expired/);
      expect(text).toContain('role-duration-seconds');
      expect(text).toContain('MaxSessionDuration');
    },
  );

  it('leave any other message as AWS wrote it', () => {
    expect(describeAwsError(sdkError('AccessDeniedException', 'not authorized'))).toBe(
      'not authorized',
    );
  });
});

describe('classifying an AWS failure', () => {
  it('knows throttling by the SDK classifier (status 429, codes, $retryable)', () => {
    expect(isThrottling(sdkError('Foo', 'x', { $metadata: { httpStatusCode: 429 } }))).toBe(true);
    expect(isThrottling(sdkError('RequestThrottledException', 'x'))).toBe(true);
    expect(isThrottling(sdkError('Foo', 'x', { $retryable: { throttling: true } }))).toBe(true);
    expect(isThrottling(sdkError('InvalidInstanceId', 'x'))).toBe(false);
  });

  it('calls a 4xx a refusal, and a 5xx or a lost connection ambiguous', () => {
    expect(
      isRejected(sdkError('InvalidInstanceId', 'x', { $metadata: { httpStatusCode: 400 } })),
    ).toBe(true);
    expect(
      isRejected(sdkError('InternalServerError', 'x', { $metadata: { httpStatusCode: 500 } })),
    ).toBe(false);
    expect(isRejected(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe(
      false,
    );
    expect(isRejected(sdkError('TimeoutError', 'x'))).toBe(false);
  });
});
