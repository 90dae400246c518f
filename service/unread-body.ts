import type { IncomingMessage, ServerResponse } from 'node:http';

export interface UnreadBodyLimits {
  /** Bytes of an unread body still read (and thrown away) after the answer. */
  maxBytes: number;
  /** How long after the answer the rest of the body may keep arriving. */
  maxMs: number;
}

/**
 * Enough for a client that sends its whole body before reading the answer (Python's urllib) to
 * get a 413 for a body a few times the default 1 MB limit, small enough that an unauthenticated
 * 100 MB upload costs the service little.
 */
export const UNREAD_BODY_LIMITS: UnreadBodyLimits = { maxBytes: 8 * 1024 ** 2, maxMs: 5000 };

/**
 * When the answer goes out before the request body has arrived (401, 413, 415, …), the client
 * may still be sending. Closing the connection then resets it under the client, which often sees
 * EPIPE or ECONNRESET instead of the answer: Node's fetch with a streamed body did in 4 of 5
 * tries, and Python's urllib, which sends the whole body before it reads, always does once the
 * body passes the socket buffers. Reading on to the end instead lets anyone make the service read
 * gigabytes it throws away.
 *
 * So the rest of the body is read and discarded for a bounded time and size, past either of which
 * the connection is closed. A body that ends within them leaves a keep-alive connection usable.
 * When the connection is to close after the answer (the client sent `Connection: close`), Node
 * would destroy the socket as soon as the answer is written; here it only half-closes it, as RFC
 * 9112 (9.6) asks: the answer and a FIN go out, and the rest of the body is still read, within
 * the same bounds.
 */
export function boundUnreadBody(
  req: IncomingMessage,
  res: ServerResponse,
  limits: UnreadBodyLimits = UNREAD_BODY_LIMITS,
): void {
  const socket = req.socket;
  // 'prefinish' comes before Node's own 'finish' handling of the connection: reading starts
  // here, or Node would dump the body itself, unbounded and out of sight.
  res.once('prefinish', () => {
    if (req.complete) return;
    // Node's server calls destroySoon() after the last answer on a connection; this socket's own
    // version sends the FIN and leaves the destroy to the bounds below.
    socket.destroySoon = () => {
      socket.end();
      // The client closes once it has the answer; this only ends a connection it leaves open.
      const linger = setTimeout(cut, limits.maxMs);
      socket.once('close', () => clearTimeout(linger));
    };
    res.once('finish', () => delete (socket as Partial<typeof socket>).destroySoon);
    let discarded = 0;
    const cut = () => socket.destroy();
    const timer = setTimeout(cut, limits.maxMs);
    const onData = (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded > limits.maxBytes) cut();
    };
    req.on('data', onData);
    req.once('end', () => {
      req.off('data', onData);
      clearTimeout(timer);
    });
    socket.once('close', () => clearTimeout(timer));
    req.resume();
  });
}
