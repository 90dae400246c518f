import { randomBytes } from 'node:crypto';

/** The random part of a revision tag: new on every write. */
export function revisionNonce(): string {
  return randomBytes(8).toString('hex');
}

/** A fresh revision tag for the given version, e.g. `3-9f2c4e1a7b0d5c36`. */
export function newRevision(version: number): string {
  return `${version}-${revisionNonce()}`;
}
