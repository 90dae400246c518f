import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, Next } from 'koa';
import { Problem } from './errors.js';

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Bearer authentication against every configured token. Comparing SHA-256 digests gives equal
 * lengths for timingSafeEqual, and every token is compared (no early exit), so the time taken
 * reveals neither a token's length nor which token of a rotation pair matched.
 */
export function requireBearerToken(tokens: readonly string[]) {
  const expected = tokens.map(digest);
  const challenge = { 'WWW-Authenticate': 'Bearer realm="documents"' };

  return async function bearerToken(ctx: Context, next: Next): Promise<void> {
    if (expected.length === 0) {
      throw new Problem(
        401,
        'unauthorized',
        'Writes are disabled: no API_TOKEN is configured.',
        challenge,
      );
    }
    const match = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(ctx.get('Authorization'));
    if (!match) {
      throw new Problem(
        401,
        'unauthorized',
        'This request needs an Authorization: Bearer <token> header.',
        challenge,
      );
    }
    const presented = digest(match[1]!);
    let matched = false;
    for (const candidate of expected) matched = timingSafeEqual(presented, candidate) || matched;
    if (!matched) {
      throw new Problem(401, 'unauthorized', 'The bearer token is not valid.', {
        'WWW-Authenticate': 'Bearer realm="documents", error="invalid_token"',
      });
    }
    await next();
  };
}
