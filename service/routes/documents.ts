import { randomUUID } from 'node:crypto';
import type { default as Router, RouterContext } from '@koa/router';
import type { Context, Next } from 'koa';
import { MERGE_PATCH, readJsonBody, type BodyRules } from '../body.js';
import { takeEarlierRead } from '../direct-read.js';
import { Problem } from '../errors.js';
import { ifMatchHolds, parsePrecondition, singleStrongTag, type Precondition } from '../etag.js';
import { applyMergePatch } from '../merge-patch.js';
import {
  clientHasCurrent,
  DOCUMENT_CONTENT_TYPE,
  documentHeaders,
  documentJson,
} from '../representation.js';
import type { DocumentStore, StoredDocument } from '../store/index.js';
import type { WriteResult } from '../store/types.js';
import {
  assertDocumentData,
  assertSaneJson,
  assertValidId,
  isValidId,
  parseCreateBody,
} from '../validation.js';

export interface DocumentRoutesOptions {
  store: DocumentStore;
  bodyLimitBytes: number;
  /** Middleware that lets only authenticated writers through. */
  authenticate: (ctx: Context, next: Next) => Promise<void>;
}

export const LIST_DEFAULT_LIMIT = 100;
export const LIST_MAX_LIMIT = 1000;

function respondWithDocument(ctx: Context, doc: StoredDocument, status = 200): void {
  ctx.status = status;
  ctx.set(documentHeaders(doc));
  ctx.set('Content-Type', DOCUMENT_CONTENT_TYPE);
  ctx.body = documentJson(doc);
}

function notFound(id: string): Problem {
  return new Problem(404, 'document-not-found', `No document has the id "${id}".`);
}

function preconditionFailed(id: string): Problem {
  return new Problem(
    412,
    'precondition-failed',
    `Document "${id}" has changed since the version named in If-Match; fetch it again and retry.`,
  );
}

function refusal(id: string, result: Extract<WriteResult, { ok: false }>): Problem {
  if (result.reason === 'not-found') return notFound(id);
  if (result.reason === 'exists') {
    return new Problem(409, 'document-exists', `A document with the id "${id}" already exists.`);
  }
  return preconditionFailed(id);
}

/** Param values are percent-decoded by the router, so `%2F` arrives as `/` and is refused here. */
function idParam(ctx: Context): string {
  const id = (ctx.params as Record<string, string>).id ?? '';
  assertValidId(id);
  return id;
}

/** The revision a write must compare-and-set against, resolved from If-Match; 412 if stale. */
async function expectedRevision(
  store: DocumentStore,
  id: string,
  condition: Precondition | undefined,
): Promise<string | undefined> {
  if (!condition || condition.kind === 'any') return undefined;
  const single = singleStrongTag(condition);
  if (single !== undefined) return single; // the store checks it atomically
  const current = await store.get(id);
  if (!current) throw notFound(id);
  if (!ifMatchHolds(condition, current.revision)) throw preconditionFailed(id);
  return current.revision;
}

/**
 * GET /json/:id: the document with its ETag, or 304 when If-None-Match names the current one.
 * When the direct read (direct-read.ts) already read this id and handed on a miss or a failure,
 * that outcome is rendered instead of reading again.
 */
async function readDocument(ctx: Context, store: DocumentStore, id: string): Promise<void> {
  const earlier = takeEarlierRead(ctx.req, id);
  if (earlier && 'failure' in earlier) throw earlier.failure;
  const doc = earlier ? earlier.found : await store.get(id);
  if (!doc) throw notFound(id);
  if (clientHasCurrent(ctx.get('If-None-Match'), doc)) {
    ctx.status = 304;
    ctx.set(documentHeaders(doc));
    return;
  }
  respondWithDocument(ctx, doc);
}

const DOCUMENT_PATH = /^\/json\/([^/]+)$/;

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment; // not valid percent-encoding: assertValidId refuses it
  }
}

function encodeCursor(lastId: string): string {
  return Buffer.from(`after:${lastId}`).toString('base64url');
}

function decodeCursor(cursor: string): string {
  const decoded = Buffer.from(cursor, 'base64url').toString();
  const id = decoded.startsWith('after:') ? decoded.slice('after:'.length) : '';
  if (!isValidId(id)) {
    throw new Problem(400, 'invalid-cursor', 'The cursor is not one this API issued.');
  }
  return id;
}

function parseLimit(raw: unknown): number {
  if (raw === undefined) return LIST_DEFAULT_LIMIT;
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || +raw < 1 || +raw > LIST_MAX_LIMIT) {
    throw new Problem(
      400,
      'invalid-limit',
      `limit must be an integer from 1 to ${LIST_MAX_LIMIT}.`,
    );
  }
  return Number(raw);
}

type DocumentHandler = (ctx: Context, id: string) => Promise<void>;

/**
 * Registers /json and /json/:id on the router, and returns a middleware that dispatches
 * /json/:id requests directly (see the end of this function).
 */
export function registerDocumentRoutes(
  router: Router,
  { store, bodyLimitBytes, authenticate }: DocumentRoutesOptions,
): (ctx: Context, next: Next) => Promise<void> {
  const documentBody: BodyRules = {
    mediaTypes: ['application/json'],
    allowLegacyForm: true,
    limitBytes: bodyLimitBytes,
  };
  const patchBody: BodyRules = {
    mediaTypes: [MERGE_PATCH, 'application/json'],
    allowLegacyForm: false,
    limitBytes: bodyLimitBytes,
  };

  router.get('/json', async (ctx) => {
    const limit = parseLimit(ctx.query.limit);
    const cursor = ctx.query.cursor;
    if (cursor !== undefined && typeof cursor !== 'string') {
      throw new Problem(400, 'invalid-cursor', 'Give at most one cursor.');
    }
    const page = await store.list(limit, cursor === undefined ? undefined : decodeCursor(cursor));
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = {
      items: page.items,
      nextCursor: page.lastId === undefined ? null : encodeCursor(page.lastId),
    };
  });

  router.post('/json', authenticate, async (ctx) => {
    const body = await readJsonBody(ctx, documentBody);
    const parsed = parseCreateBody(body);
    // The limits apply to the document's data, as for PUT, not to the {"id", "data"} envelope.
    assertSaneJson(parsed.data);
    const id = parsed.id ?? randomUUID();
    assertDocumentData(parsed.data, id, '"data"');
    const result = await store.create(id, JSON.stringify(parsed.data));
    if (!result.ok) {
      // If-None-Match: * asks "create only if absent" as a precondition, which answers 412.
      if (
        result.reason === 'exists' &&
        parsePrecondition(ctx.get('If-None-Match'))?.kind === 'any'
      ) {
        throw new Problem(
          412,
          'precondition-failed',
          `A document with the id "${id}" already exists.`,
        );
      }
      throw refusal(id, result);
    }
    ctx.set('Location', `/json/${encodeURIComponent(id)}`);
    respondWithDocument(ctx, result.document, 201);
  });

  const replace = async (ctx: Context, id: string): Promise<void> => {
    const data = await readJsonBody(ctx, documentBody);
    assertSaneJson(data);
    assertDocumentData(data, id, 'The body (the new data)');
    const expected = await expectedRevision(store, id, parsePrecondition(ctx.get('If-Match')));
    const result = await store.replace(id, JSON.stringify(data), expected);
    if (!result.ok) throw refusal(id, result);
    respondWithDocument(ctx, result.document);
  };

  const patch = async (ctx: Context, id: string): Promise<void> => {
    const patch = await readJsonBody(ctx, patchBody);
    assertSaneJson(patch);
    const ifMatch = parsePrecondition(ctx.get('If-Match'));
    // The merge runs against the stored document while the store holds off other writes to it,
    // so concurrent patches all apply, one after the other.
    const result = await store.modify(id, (current) => {
      if (ifMatch && !ifMatchHolds(ifMatch, current.revision)) throw preconditionFailed(id);
      const merged = applyMergePatch(JSON.parse(current.dataJson), patch);
      assertSaneJson(merged);
      assertDocumentData(merged, id, 'The patched data');
      return JSON.stringify(merged);
    });
    if (!result.ok) throw refusal(id, result);
    respondWithDocument(ctx, result.document);
  };

  const remove = async (ctx: Context, id: string): Promise<void> => {
    const expected = await expectedRevision(store, id, parsePrecondition(ctx.get('If-Match')));
    const result = await store.remove(id, expected);
    if (!result.ok) throw refusal(id, { ok: false, reason: result.reason });
    ctx.status = 204;
  };

  const onDocument: Record<string, { write: boolean; handle: DocumentHandler } | undefined> = {
    GET: { write: false, handle: (ctx, id) => readDocument(ctx, store, id) },
    PUT: { write: true, handle: replace },
    PATCH: { write: true, handle: patch },
    DELETE: { write: true, handle: remove },
  };
  // Registered for the route table the router keeps (Allow headers, 405, OPTIONS); the
  // middleware returned below answers these methods before the router sees them.
  router.get('/json/:id', (ctx) => readDocument(ctx, store, idParam(ctx)));
  router.put('/json/:id', authenticate, (ctx) => replace(ctx, idParam(ctx)));
  router.patch('/json/:id', authenticate, (ctx) => patch(ctx, idParam(ctx)));
  router.delete('/json/:id', authenticate, (ctx) => remove(ctx, idParam(ctx)));

  /**
   * The same /json/:id handlers, dispatched ahead of the router. Single-document requests are the
   * hot path, and @koa/router's per-request matching and chain building measured about 20 µs of
   * CPU per request here (bench/service.ts), a sixth of a whole PUT. Any other method on the path,
   * and every other path, falls through to the router, which also answers 404, 405 and OPTIONS.
   */
  return (ctx: Context, next: Next): Promise<void> => {
    const entry = onDocument[ctx.method === 'HEAD' ? 'GET' : ctx.method];
    const match = entry && DOCUMENT_PATH.exec(ctx.path);
    if (!entry || !match) return next();
    (ctx as Context & Pick<RouterContext, 'routerPath'>).routerPath = '/json/:id'; // the metrics label
    const id = decodeSegment(match[1]!);
    const handle = () => {
      assertValidId(id);
      return entry.handle(ctx, id);
    };
    return entry.write ? authenticate(ctx, handle) : handle();
  };
}
