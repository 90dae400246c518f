import { Problem } from './errors.js';

/** Ids are safe in a URL path segment and a file name alike. */
export const ID_PATTERN = /^[A-Za-z0-9._~-]{1,128}$/;
export const MAX_DEPTH = 64;
export const MAX_KEYS = 10_000;
/** Keys that could reach an object's prototype if some code ever merged them by assignment. */
const FORBIDDEN_KEY = '__proto__';

export function isValidId(id: string): boolean {
  return ID_PATTERN.test(id) && id !== '.' && id !== '..';
}

export function assertValidId(id: string): void {
  if (!isValidId(id)) {
    throw new Problem(
      400,
      'invalid-id',
      'A document id is 1 to 128 characters from A-Z a-z 0-9 . _ ~ - and is not "." or "..".',
    );
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Bounds the cost of storing and later merging a document: nesting depth, total number of object
 * keys, and no `__proto__` keys anywhere. Stops walking as soon as a bound is crossed. Also
 * refuses numbers JSON cannot hold: JSON.parse reads `1e400` as Infinity, which JSON.stringify
 * would store as null.
 */
export function assertSaneJson(value: unknown): void {
  let keys = 0;
  const walk = (node: unknown, depth: number): void => {
    if (typeof node === 'number' && !Number.isFinite(node)) {
      throw new Problem(
        400,
        'number-out-of-range',
        'A number in the body is too large for JSON to hold (beyond ±1.8e308).',
      );
    }
    if (typeof node !== 'object' || node === null) return;
    if (depth > MAX_DEPTH) {
      throw new Problem(
        400,
        'too-deep',
        `JSON nesting deeper than ${MAX_DEPTH} levels is refused.`,
      );
    }
    if (Array.isArray(node)) {
      for (const item of node) walk(item, depth + 1);
      return;
    }
    for (const key of Object.keys(node)) {
      if (++keys > MAX_KEYS) {
        throw new Problem(400, 'too-many-keys', `A document may hold at most ${MAX_KEYS} keys.`);
      }
      if (key === FORBIDDEN_KEY) {
        throw new Problem(400, 'forbidden-key', 'The key "__proto__" is not allowed in documents.');
      }
      walk((node as Record<string, unknown>)[key], depth + 1);
    }
  };
  walk(value, 1);
}

/** `data` must be a JSON object; if it carries an `id` it must name the same document. */
export function assertDocumentData(
  data: unknown,
  id: string,
  where: string,
): asserts data is object {
  if (!isPlainObject(data)) {
    throw new Problem(400, 'invalid-body', `${where} must be a JSON object.`);
  }
  if (Object.hasOwn(data, 'id') && data.id !== id) {
    throw new Problem(
      400,
      'id-mismatch',
      `The body's id ${JSON.stringify(data.id)} differs from the document id "${id}".`,
    );
  }
}

/** The body of POST /json: `{"id"?: string, "data": {…}}` and nothing else. */
export function parseCreateBody(body: unknown): { id: string | undefined; data: object } {
  if (!isPlainObject(body)) {
    throw new Problem(400, 'invalid-body', 'The body must be a JSON object {"id", "data"}.');
  }
  const unknownKeys = Object.keys(body).filter((key) => key !== 'id' && key !== 'data');
  if (unknownKeys.length > 0) {
    throw new Problem(
      400,
      'invalid-body',
      `Unknown field(s) ${unknownKeys.map((k) => JSON.stringify(k)).join(', ')}; the body is {"id", "data"}.`,
    );
  }
  const { id, data } = body;
  if (id !== undefined && typeof id !== 'string') {
    throw new Problem(400, 'invalid-id', 'The id must be a string.');
  }
  if (id !== undefined) assertValidId(id);
  if (!isPlainObject(data)) {
    throw new Problem(400, 'invalid-body', 'The body needs "data", a JSON object.');
  }
  return { id, data };
}
