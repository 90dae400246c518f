import { etagOf, ifNoneMatchHits, parsePrecondition } from './etag.js';
import type { StoredDocument } from './store/index.js';

export const DOCUMENT_CONTENT_TYPE = 'application/json; charset=utf-8';
/** Caches may keep a document but must revalidate it (If-None-Match) before each use. */
export const DOCUMENT_CACHE_CONTROL = 'no-cache';

/** The response body, built around the stored JSON text so reads never re-serialise `data`. */
export function documentJson(doc: StoredDocument): string {
  return (
    `{"id":${JSON.stringify(doc.id)},"data":${doc.dataJson},"version":${doc.version},` +
    `"createdAt":"${doc.createdAt}","updatedAt":"${doc.updatedAt}"}`
  );
}

/** The headers of every representation of a document (200, 201 and 304 alike). */
export function documentHeaders(doc: StoredDocument): { ETag: string; 'Cache-Control': string } {
  return { ETag: etagOf(doc.revision), 'Cache-Control': DOCUMENT_CACHE_CONTROL };
}

/** True when If-None-Match names the document's current revision: the answer is a 304. */
export function clientHasCurrent(ifNoneMatch: string | undefined, doc: StoredDocument): boolean {
  const condition = parsePrecondition(ifNoneMatch);
  return condition !== undefined && ifNoneMatchHits(condition, doc.revision);
}
