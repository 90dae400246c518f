import { isPlainObject } from './validation.js';

/**
 * RFC 7396 JSON Merge Patch. Keys are written with defineProperty and read only when they are
 * the object's own, so a key named `__proto__`, `constructor` or `prototype` is plain data and can
 * never reach a prototype, whatever the patch contains.
 */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch;
  const result: Record<string, unknown> = {};
  if (isPlainObject(target)) {
    for (const key of Object.keys(target)) define(result, key, target[key]);
  }
  for (const key of Object.keys(patch)) {
    const value = patch[key];
    if (value === null) {
      delete result[key];
    } else {
      const current = Object.hasOwn(result, key) ? result[key] : undefined;
      define(result, key, applyMergePatch(current, value));
    }
  }
  return result;
}

function define(object: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(object, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}
