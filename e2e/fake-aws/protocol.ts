// The wire protocols the fake endpoint speaks: AWS JSON 1.1 (ECR, SSM) and the AWS query
// protocol with XML responses (ELBv2). Only what the AWS SDK v3 clients need to parse answers.

/** An error the endpoint returns to the client, in the shape of the real service's errors. */
export class AwsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export type JsonOperation = (input: Record<string, unknown>) => unknown;

export interface SigV4Scope {
  accessKeyId: string;
  region: string;
  service: string;
}

/**
 * Reads the credential scope of a SigV4 `Authorization` header. The signature itself is not
 * checked (the credentials are dummies), but the scope tells which service and region the client
 * meant, which catches a client pointed at the wrong service.
 */
export function sigV4Scope(authorization: string | undefined): SigV4Scope | undefined {
  const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(
    authorization ?? '',
  );
  if (!match) return undefined;
  return { accessKeyId: match[1] ?? '', region: match[2] ?? '', service: match[3] ?? '' };
}

/** Epoch seconds, as AWS JSON 1.1 encodes timestamps. */
export function epochSeconds(date: Date): number {
  return date.getTime() / 1000;
}

export function jsonError(error: AwsError): string {
  return JSON.stringify({ __type: error.type, message: error.message });
}

export function stringParam(input: Record<string, unknown>, name: string, required = true): string {
  const value = input[name];
  if (typeof value === 'string' && value !== '') return value;
  if (value === undefined && !required) return '';
  throw new AwsError(
    'ValidationException',
    `1 validation error detected: Value at '${name}' failed to satisfy constraint: Member must not be null`,
  );
}

export function arrayParam<T = unknown>(input: Record<string, unknown>, name: string): T[] {
  const value = input[name];
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    throw new AwsError('ValidationException', `Value at '${name}' must be a list`);
  }
  return value as T[];
}

/** Pagination by an opaque offset token, as the real APIs paginate (`NextToken`/`nextToken`). */
export function paginate<T>(
  items: T[],
  token: unknown,
  maxResults: unknown,
  defaultMax: number,
): { page: T[]; next?: string } {
  const start =
    typeof token === 'string' && token !== '' ? Number(Buffer.from(token, 'base64').toString()) : 0;
  if (!Number.isInteger(start) || start < 0) {
    throw new AwsError('InvalidNextToken', 'The specified token is invalid.');
  }
  const max = typeof maxResults === 'number' && maxResults > 0 ? maxResults : defaultMax;
  const page = items.slice(start, start + max);
  const end = start + page.length;
  return {
    page,
    next: end < items.length ? Buffer.from(String(end)).toString('base64') : undefined,
  };
}

export function xmlEscape(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}
