import { randomBytes } from 'node:crypto';

/**
 * Random bytes are drawn 4 KiB at a time: one randomBytes(8) call per write measured several
 * microseconds, a pool slice costs almost nothing.
 */
const POOL_SIZE = 4096;
let pool = randomBytes(POOL_SIZE);
let offset = 0;

/** The random part of a revision tag: 16 hex digits, new on every write. */
export function revisionNonce(): string {
  if (offset + 8 > POOL_SIZE) {
    pool = randomBytes(POOL_SIZE);
    offset = 0;
  }
  offset += 8;
  return pool.toString('hex', offset - 8, offset);
}

/** A fresh revision tag for the given version, e.g. `3-9f2c4e1a7b0d5c36`. */
export function newRevision(version: number): string {
  return `${version}-${revisionNonce()}`;
}
