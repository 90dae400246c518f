import { randomUUID } from 'node:crypto';

/** Ids from upstream (a load balancer, a client) are kept when they are short and printable. */
const ACCEPTABLE = /^[\w.:@/+=-]{1,128}$/;

/** The request id to use: the incoming X-Request-Id when it is acceptable, else a new UUID. */
export function requestIdFor(incoming: string): string {
  return ACCEPTABLE.test(incoming) ? incoming : randomUUID();
}
