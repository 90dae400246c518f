// Generated from the service's OpenAPI document by openapi-typescript: do not edit.
// Regenerate with `npm run client:types`; a test fails when this file is out of date.

export interface paths {
  '/health': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Liveness and the running version
     * @description Never touches storage; the deploy's health gate compares `version` with the version it rolled out.
     */
    get: operations['getHealth'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/ready': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Readiness for traffic
     * @description Ready when a write to storage commits (probed at most once a second) and the instance is not shutting down.
     */
    get: operations['getReady'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/metrics': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * Prometheus metrics of this instance
     * @description Requests and latency by route and status, every WEB_CONCURRENCY worker added up.
     */
    get: operations['getMetrics'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/openapi.json': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** This description */
    get: operations['getOpenApiDocument'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/docs': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * This description as an interactive page
     * @description Rendered in the browser from `openapi.json`; every asset is served by the service itself.
     */
    get: operations['getDocsPage'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/json': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /**
     * List document ids
     * @description Ids in a stable order, a page at a time: pass `nextCursor` as `cursor` until it is null.
     */
    get: operations['listDocuments'];
    put?: never;
    /**
     * Create a document
     * @description Without an id, one is generated (a UUID).
     */
    post: operations['createDocument'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/json/{id}': {
    parameters: {
      query?: never;
      header?: never;
      path: {
        /** @description The document id. */
        id: components['parameters']['DocumentId'];
      };
      cookie?: never;
    };
    /** Read a document */
    get: operations['getDocument'];
    /**
     * Replace a document's data
     * @description The body is the new data. With If-Match, only if nobody changed it since.
     */
    put: operations['replaceDocument'];
    post?: never;
    /** Delete a document */
    delete: operations['deleteDocument'];
    options?: never;
    /**
     * Read a document's headers
     * @description As GET, without a body: whether it exists, and its current ETag.
     */
    head: operations['headDocument'];
    /**
     * Merge a patch into the data
     * @description A JSON Merge Patch (RFC 7396): keys set to null are removed, objects merge, anything else replaces. `application/json` is accepted as an alias of `application/merge-patch+json`.
     */
    patch: operations['patchDocument'];
    trace?: never;
  };
}
export type webhooks = Record<string, never>;
export interface components {
  schemas: {
    /** @example test */
    DocumentId: string;
    /**
     * @description Any JSON object; an "id" key must equal the document id.
     * @example {
     *       "key": "value"
     *     }
     */
    Data: {
      [key: string]: unknown;
    };
    /**
     * @description A JSON Merge Patch (RFC 7396) of the data; null removes a key.
     * @example {
     *       "other": 1,
     *       "key": null
     *     }
     */
    MergePatch: {
      [key: string]: unknown;
    };
    Document: {
      id: components['schemas']['DocumentId'];
      data: components['schemas']['Data'];
      /** @description 1, then +1 on each write. */
      version: number;
      /** Format: date-time */
      createdAt: string;
      /** Format: date-time */
      updatedAt: string;
    };
    CreateRequest: {
      id?: components['schemas']['DocumentId'];
      data: components['schemas']['Data'];
    };
    DocumentList: {
      items: {
        id: components['schemas']['DocumentId'];
        version: number;
        /** Format: date-time */
        updatedAt: string;
      }[];
      /** @description Pass as `cursor` for the next page; null on the last page. */
      nextCursor: string | null;
    };
    Health: {
      /** @constant */
      status: 'ok';
      version: string;
      instance: string;
    };
    Ready: {
      /** @constant */
      status: 'ready';
      /** @enum {unknown} */
      storage: 'sqlite' | 'postgres';
    };
    Problem: {
      /**
       * Format: uri
       * @description urn:challenge-deploy:problem:<kind>, stable for clients to switch on.
       * @example urn:challenge-deploy:problem:document-not-found
       */
      type: string;
      /** @example Not Found */
      title: string;
      /** @example 404 */
      status: number;
      /** @example No document has the id "test". */
      detail: string;
      /**
       * @description The request path.
       * @example /json/test
       */
      instance: string;
      /** @example 3d63788d-fe8f-4eda-b05e-f31f9a9b3d4b */
      requestId: string;
    };
  };
  responses: {
    /** @description Storage does not answer (`storage-unavailable`); retry later. */
    StorageUnavailable: {
      headers: {
        /** @description Seconds to wait before retrying. */
        'Retry-After'?: number;
        [name: string]: unknown;
      };
      content: {
        'application/problem+json': components['schemas']['Problem'];
      };
    };
    /** @description Storage is full (`storage-full`); nothing was written. */
    StorageFull: {
      headers: {
        [name: string]: unknown;
      };
      content: {
        'application/problem+json': components['schemas']['Problem'];
      };
    };
    /** @description Any other error, as a problem document: 500 `internal` (see the request id in the log). */
    AnyOtherError: {
      headers: {
        [name: string]: unknown;
      };
      content: {
        'application/problem+json': components['schemas']['Problem'];
      };
    };
  };
  parameters: {
    /** @description The document id. */
    DocumentId: components['schemas']['DocumentId'];
    /** @description ETag(s) the write expects, or `*`; 412 when the document has changed. */
    IfMatch: string;
    /** @description ETag(s) the client holds; 304 when one is current. */
    IfNoneMatch: string;
  };
  requestBodies: never;
  headers: {
    /** @description Strong tag of the stored revision. */
    ETag: string;
  };
  pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
  getHealth: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The process is up. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Health'];
        };
      };
      default: components['responses']['AnyOtherError'];
    };
  };
  getReady: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Ready. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Ready'];
        };
      };
      /** @description Shutting down, or storage cannot write (see Retry-After). */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      default: components['responses']['AnyOtherError'];
    };
  };
  getMetrics: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Prometheus text format. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'text/plain': string;
        };
      };
      default: components['responses']['AnyOtherError'];
    };
  };
  getOpenApiDocument: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description OpenAPI 3.1. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': Record<string, never>;
        };
      };
      default: components['responses']['AnyOtherError'];
    };
  };
  getDocsPage: {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description An HTML page. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'text/html': string;
        };
      };
      default: components['responses']['AnyOtherError'];
    };
  };
  listDocuments: {
    parameters: {
      query?: {
        /** @description Ids per page. */
        limit?: number;
        /** @description The nextCursor of the previous page (opaque). */
        cursor?: string;
      };
      header?: never;
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description One page. */
      200: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['DocumentList'];
        };
      };
      /** @description Bad limit or cursor. */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      503: components['responses']['StorageUnavailable'];
      default: components['responses']['AnyOtherError'];
    };
  };
  createDocument: {
    parameters: {
      query?: never;
      header?: {
        /** @description `*`: create only if absent, answering 412 instead of 409 otherwise. */
        'If-None-Match'?: '*';
      };
      path?: never;
      cookie?: never;
    };
    /** @description A body sent as application/x-www-form-urlencoded (curl -d) is accepted when it is valid JSON. */
    requestBody: {
      content: {
        'application/json': components['schemas']['CreateRequest'];
      };
    };
    responses: {
      /** @description Created. */
      201: {
        headers: {
          ETag: components['headers']['ETag'];
          /** @description The new document. */
          Location?: string;
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Document'];
        };
      };
      /** @description Malformed JSON, a bad id, a body of the wrong shape, nesting deeper than 64 levels or more than 10000 keys. */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description Missing or invalid bearer token. */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description A document with this id exists. */
      409: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description If-None-Match: * and the document exists. */
      412: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description Body larger than BODY_LIMIT (also after decompression). */
      413: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description Unsupported Content-Type, charset or Content-Encoding. */
      415: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      503: components['responses']['StorageUnavailable'];
      507: components['responses']['StorageFull'];
      default: components['responses']['AnyOtherError'];
    };
  };
  getDocument: {
    parameters: {
      query?: never;
      header?: {
        /** @description ETag(s) the client holds; 304 when one is current. */
        'If-None-Match'?: components['parameters']['IfNoneMatch'];
      };
      path: {
        /** @description The document id. */
        id: components['parameters']['DocumentId'];
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The document. */
      200: {
        headers: {
          ETag: components['headers']['ETag'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Document'];
        };
      };
      /** @description The ETag in If-None-Match is current. */
      304: {
        headers: {
          ETag: components['headers']['ETag'];
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description Invalid id. */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description No such document. */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      503: components['responses']['StorageUnavailable'];
      default: components['responses']['AnyOtherError'];
    };
  };
  replaceDocument: {
    parameters: {
      query?: never;
      header?: {
        /** @description ETag(s) the write expects, or `*`; 412 when the document has changed. */
        'If-Match'?: components['parameters']['IfMatch'];
      };
      path: {
        /** @description The document id. */
        id: components['parameters']['DocumentId'];
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': components['schemas']['Data'];
      };
    };
    responses: {
      /** @description Replaced. */
      200: {
        headers: {
          ETag: components['headers']['ETag'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Document'];
        };
      };
      /** @description Malformed JSON, a bad id, a body of the wrong shape, nesting deeper than 64 levels or more than 10000 keys. */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description Missing or invalid bearer token. */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description No such document. */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description If-Match does not name the current version. */
      412: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description Body larger than BODY_LIMIT (also after decompression). */
      413: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description Unsupported Content-Type, charset or Content-Encoding. */
      415: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      503: components['responses']['StorageUnavailable'];
      507: components['responses']['StorageFull'];
      default: components['responses']['AnyOtherError'];
    };
  };
  deleteDocument: {
    parameters: {
      query?: never;
      header?: {
        /** @description ETag(s) the write expects, or `*`; 412 when the document has changed. */
        'If-Match'?: components['parameters']['IfMatch'];
      };
      path: {
        /** @description The document id. */
        id: components['parameters']['DocumentId'];
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Deleted. */
      204: {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description Invalid id. */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description Missing or invalid bearer token. */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description No such document. */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description If-Match does not name the current version. */
      412: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      503: components['responses']['StorageUnavailable'];
      507: components['responses']['StorageFull'];
      default: components['responses']['AnyOtherError'];
    };
  };
  headDocument: {
    parameters: {
      query?: never;
      header?: {
        /** @description ETag(s) the client holds; 304 when one is current. */
        'If-None-Match'?: components['parameters']['IfNoneMatch'];
      };
      path: {
        /** @description The document id. */
        id: components['parameters']['DocumentId'];
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The document exists. */
      200: {
        headers: {
          ETag: components['headers']['ETag'];
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description The ETag in If-None-Match is current. */
      304: {
        headers: {
          ETag: components['headers']['ETag'];
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description Invalid id. */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description No such document. */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description Storage does not answer. */
      503: {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description Any other error (no body, as for every HEAD). */
      default: {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
    };
  };
  patchDocument: {
    parameters: {
      query?: never;
      header?: {
        /** @description ETag(s) the write expects, or `*`; 412 when the document has changed. */
        'If-Match'?: components['parameters']['IfMatch'];
      };
      path: {
        /** @description The document id. */
        id: components['parameters']['DocumentId'];
      };
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/merge-patch+json': components['schemas']['MergePatch'];
        'application/json': components['schemas']['MergePatch'];
      };
    };
    responses: {
      /** @description Patched. */
      200: {
        headers: {
          ETag: components['headers']['ETag'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Document'];
        };
      };
      /** @description Malformed JSON, a bad id, a body of the wrong shape, nesting deeper than 64 levels or more than 10000 keys. */
      400: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description Missing or invalid bearer token. */
      401: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description No such document. */
      404: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description If-Match does not name the current version. */
      412: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description Body larger than BODY_LIMIT (also after decompression). */
      413: {
        headers: {
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description Not a JSON merge patch (or its application/json alias). */
      415: {
        headers: {
          /** @description The patch format this resource accepts. */
          'Accept-Patch'?: 'application/merge-patch+json';
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      503: components['responses']['StorageUnavailable'];
      507: components['responses']['StorageFull'];
      default: components['responses']['AnyOtherError'];
    };
  };
}
