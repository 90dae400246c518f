// Why reads bypass Koa, and what was measured: docs/decisions.md.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import {
  clientHasCurrent,
  DOCUMENT_CONTENT_TYPE,
  documentHeaders,
  documentJson,
} from './representation.js';
import type { RequestFrames } from './request-frame.js';
import type { DocumentStore } from './store/index.js';
import { isValidId } from './validation.js';

export interface DirectReadOptions {
  store: DocumentStore;
  frames: RequestFrames;
}

/** What a direct read found when it did not answer: no document, or a failing store. */
export type EarlierRead = { id: string; found: undefined } | { id: string; failure: unknown };

/**
 * Hands a read that the direct path could not answer on to the Koa route, so the route renders
 * it without reading the store a second time: with a frozen database that second read would
 * double the time the client waits, and with a missing document it is wasted work.
 */
const earlierReads = new WeakMap<IncomingMessage, EarlierRead>();

/** The direct read's outcome for this request and id, taken (a second call returns undefined). */
export function takeEarlierRead(req: IncomingMessage, id: string): EarlierRead | undefined {
  const earlier = earlierReads.get(req);
  earlierReads.delete(req);
  return earlier?.id === id ? earlier : undefined;
}

/** The path of one document, with an optional query string (which a read ignores, as Koa does). */
const DOCUMENT_URL = /^\/json\/([^/?#]+)(?:\?[^#]*)?$/;

function validId(segment: string): string | undefined {
  try {
    const id = decodeURIComponent(segment);
    return isValidId(id) ? id : undefined;
  } catch {
    return undefined; // not valid percent-encoding: the Koa route answers 400
  }
}

/**
 * Wraps the Koa app's listener so that GET and HEAD of an existing document are answered on
 * node:http directly. Reads are the hot path, and Koa's per-request machinery (three context
 * objects, on-finished listeners, the middleware promise chain, the response setters) measured
 * about 13 µs of CPU per read on its own: a Koa app that did nothing but the read served 0.62x
 * the reads of a bare node:http server of the same contract; this service serves about 0.8x
 * this way (bench/service.ts).
 *
 * Only the success answers (200, 304) are given here, with the headers and body the Koa route
 * gives (representation.ts and request-frame.ts are shared, and test/service/direct-read.test.ts
 * compares the two paths). Everything else goes to Koa, so errors are rendered in one place:
 * another method or path, an invalid id, a missing document, a failing store. A missing document
 * or a failing store is handed on with the request (takeEarlierRead), so it is read only once.
 */
export function withDirectReads(
  fallback: RequestListener,
  { store, frames }: DirectReadOptions,
): RequestListener {
  async function answer(req: IncomingMessage, res: ServerResponse, id: string): Promise<boolean> {
    const frame = frames.open(req.headers['x-request-id'] as string | undefined);
    let doc;
    try {
      doc = await store.get(id);
    } catch (failure) {
      earlierReads.set(req, { id, failure });
      return false;
    }
    if (!doc) {
      earlierReads.set(req, { id, found: undefined });
      return false;
    }
    const status = clientHasCurrent(req.headers['if-none-match'], doc) ? 304 : 200;
    // A flat [name, value, …] list: node writes it as is, with none of the object shape changes
    // that building a header object piece by piece costs.
    const headers = ['X-Request-Id', frame.id];
    if (frames.instanceHeader) headers.push('X-Instance-Id', frames.instanceHeader);
    const { ETag, 'Cache-Control': cacheControl } = documentHeaders(doc);
    headers.push('ETag', ETag, 'Cache-Control', cacheControl);
    if (frames.draining) headers.push('Connection', 'close');
    if (status === 304) {
      res.writeHead(status, headers).end();
    } else {
      const body = documentJson(doc);
      headers.push('Content-Type', DOCUMENT_CONTENT_TYPE);
      headers.push('Content-Length', String(Buffer.byteLength(body)));
      res.writeHead(status, headers).end(req.method === 'HEAD' ? undefined : body);
    }
    frames.close(frame, { method: req.method!, url: req.url!, route: '/json/:id', status });
    return true;
  }

  return (req, res) => {
    const match =
      req.method === 'GET' || req.method === 'HEAD' ? DOCUMENT_URL.exec(req.url!) : null;
    const id = match ? validId(match[1]!) : undefined;
    if (id === undefined) return fallback(req, res);
    answer(req, res, id).then(
      (answered) => answered || fallback(req, res),
      // Nothing expected throws after the read; if something does before a byte is written,
      // the Koa route repeats the request and renders (and logs) a proper 500.
      (error: unknown) => (res.headersSent ? res.destroy(error as Error) : fallback(req, res)),
    );
  };
}
