import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';

/** Ids from upstream (a load balancer, a client) are kept when they are short and printable. */
const ACCEPTABLE = /^[\w.:@/+=-]{1,128}$/;

export async function requestId(ctx: Context, next: Next): Promise<void> {
  const incoming = ctx.get('X-Request-Id');
  const id = ACCEPTABLE.test(incoming) ? incoming : randomUUID();
  ctx.state.requestId = id;
  ctx.set('X-Request-Id', id);
  await next();
}
