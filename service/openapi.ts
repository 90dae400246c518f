/**
 * The OpenAPI 3.1 description of this service. A test validates real responses against the
 * schemas below, another lints the document with Redocly's recommended rules, and the typed
 * client in examples/client is generated from it, so it cannot drift from what the service
 * answers. Limits and patterns come from the code that enforces them.
 */
import { MERGE_PATCH } from './body.js';
import { LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT } from './routes/documents.js';
import { ID_PATTERN, MAX_DEPTH, MAX_KEYS } from './validation.js';

const problemContent = {
  'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
};

const problem = (description: string, headers?: Record<string, unknown>) => ({
  description,
  ...(headers ? { headers } : {}),
  content: problemContent,
});

const documentResponse = (description: string) => ({
  description,
  headers: { ETag: { $ref: '#/components/headers/ETag' } },
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Document' } } },
});

const idParameter = { $ref: '#/components/parameters/DocumentId' };
const ifMatch = { $ref: '#/components/parameters/IfMatch' };
const ifNoneMatch = { $ref: '#/components/parameters/IfNoneMatch' };
const bearer = [{ bearerAuth: [] }];
/** Public operations say so explicitly: no security scheme applies. */
const publicAccess: never[] = [];

const storageUnavailable = { $ref: '#/components/responses/StorageUnavailable' };
const storageFull = { $ref: '#/components/responses/StorageFull' };
const anyOtherError = { $ref: '#/components/responses/AnyOtherError' };
/** What every read of the store may answer besides its own statuses. */
const readFailures = { '503': storageUnavailable, default: anyOtherError };
/** What every write may answer besides its own statuses. */
const writeFailures = {
  '400': problem(
    `Malformed JSON, a bad id, a body of the wrong shape, nesting deeper than ${MAX_DEPTH} levels or more than ${MAX_KEYS} keys.`,
  ),
  '401': problem('Missing or invalid bearer token.'),
  '413': problem('Body larger than BODY_LIMIT (also after decompression).'),
  '415': problem('Unsupported Content-Type, charset or Content-Encoding.'),
  '503': storageUnavailable,
  '507': storageFull,
  default: anyOtherError,
};
const notFound = problem('No such document.');
const stale = problem('If-Match does not name the current version.');

const description = `Stores JSON documents by id, with integer versions, ETags and conditional writes.

Reads are public; writes need \`Authorization: Bearer <token>\`.

Every error is an RFC 9457 problem document (\`application/problem+json\`) whose \`type\` is a stable
\`urn:challenge-deploy:problem:<kind>\`. Besides the answers listed for each operation:

- a path not listed here answers **404** (\`not-found\`);
- a method a listed path does not offer answers **405** (\`method-not-allowed\`) with an \`Allow\` header;
- every \`GET\` also answers \`HEAD\` (the same status and headers, no body), and \`OPTIONS\` answers with \`Allow\`;
- any request may answer **500** (\`internal\`), naming only the request id (\`X-Request-Id\`).

Every response carries \`X-Request-Id\` and \`X-Instance-Id\` (the instance that answered).`;

export function openApiDocument(version: string) {
  return {
    openapi: '3.1.0',
    info: {
      title: 'challenge-deploy document API',
      version,
      description,
      license: { name: 'MIT', identifier: 'MIT' },
    },
    // Relative to where this document is served, so it names the host (and any path prefix) the
    // reader reached it through: behind a load balancer, on localhost, or under a proxy's prefix.
    servers: [{ url: '.', description: 'where this document was served from' }],
    tags: [
      { name: 'documents', description: 'JSON documents by id.' },
      { name: 'service', description: 'Health, readiness, metrics and this description.' },
    ],
    paths: {
      '/health': {
        get: {
          operationId: 'getHealth',
          tags: ['service'],
          summary: 'Liveness and the running version',
          description:
            "Never touches storage; the deploy's health gate compares `version` with the version it rolled out.",
          security: publicAccess,
          responses: {
            '200': {
              description: 'The process is up.',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Health' } } },
            },
            default: anyOtherError,
          },
        },
      },
      '/ready': {
        get: {
          operationId: 'getReady',
          tags: ['service'],
          summary: 'Readiness for traffic',
          description:
            'Ready when a write to storage commits (probed at most once a second) and the instance is not shutting down.',
          security: publicAccess,
          responses: {
            '200': {
              description: 'Ready.',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Ready' } } },
            },
            '503': problem('Shutting down, or storage cannot write (see Retry-After).'),
            default: anyOtherError,
          },
        },
      },
      '/metrics': {
        get: {
          operationId: 'getMetrics',
          tags: ['service'],
          summary: 'Prometheus metrics of this instance',
          description:
            'Requests and latency by route and status, every WEB_CONCURRENCY worker added up.',
          security: publicAccess,
          responses: {
            '200': {
              description: 'Prometheus text format.',
              content: { 'text/plain': { schema: { type: 'string' } } },
            },
            default: anyOtherError,
          },
        },
      },
      '/openapi.json': {
        get: {
          operationId: 'getOpenApiDocument',
          tags: ['service'],
          summary: 'This description',
          security: publicAccess,
          responses: {
            '200': {
              description: 'OpenAPI 3.1.',
              content: { 'application/json': { schema: { type: 'object' } } },
            },
            default: anyOtherError,
          },
        },
      },
      '/docs': {
        get: {
          operationId: 'getDocsPage',
          tags: ['service'],
          summary: 'This description as an interactive page',
          description:
            'Rendered in the browser from `openapi.json`; every asset is served by the service itself.',
          security: publicAccess,
          responses: {
            '200': {
              description: 'An HTML page.',
              content: { 'text/html': { schema: { type: 'string' } } },
            },
            default: anyOtherError,
          },
        },
      },
      '/json': {
        get: {
          operationId: 'listDocuments',
          tags: ['documents'],
          summary: 'List document ids',
          description:
            'Ids in a stable order, a page at a time: pass `nextCursor` as `cursor` until it is null.',
          security: publicAccess,
          parameters: [
            {
              name: 'limit',
              in: 'query',
              description: 'Ids per page.',
              schema: {
                type: 'integer',
                minimum: 1,
                maximum: LIST_MAX_LIMIT,
                default: LIST_DEFAULT_LIMIT,
              },
            },
            {
              name: 'cursor',
              in: 'query',
              description: 'The nextCursor of the previous page (opaque).',
              schema: { type: 'string' },
            },
          ],
          responses: {
            '200': {
              description: 'One page.',
              content: {
                'application/json': { schema: { $ref: '#/components/schemas/DocumentList' } },
              },
            },
            '400': problem('Bad limit or cursor.'),
            ...readFailures,
          },
        },
        post: {
          operationId: 'createDocument',
          tags: ['documents'],
          summary: 'Create a document',
          description: 'Without an id, one is generated (a UUID).',
          security: bearer,
          parameters: [
            {
              name: 'If-None-Match',
              in: 'header',
              description: '`*`: create only if absent, answering 412 instead of 409 otherwise.',
              schema: { type: 'string', const: '*' },
            },
          ],
          requestBody: {
            required: true,
            description:
              'A body sent as application/x-www-form-urlencoded (curl -d) is accepted when it is valid JSON.',
            content: {
              'application/json': { schema: { $ref: '#/components/schemas/CreateRequest' } },
            },
          },
          responses: {
            '201': {
              ...documentResponse('Created.'),
              headers: {
                ETag: { $ref: '#/components/headers/ETag' },
                Location: {
                  description: 'The new document.',
                  schema: { type: 'string', format: 'uri-reference' },
                },
              },
            },
            '409': problem('A document with this id exists.'),
            '412': problem('If-None-Match: * and the document exists.'),
            ...writeFailures,
          },
        },
      },
      '/json/{id}': {
        parameters: [idParameter],
        get: {
          operationId: 'getDocument',
          tags: ['documents'],
          summary: 'Read a document',
          security: publicAccess,
          parameters: [ifNoneMatch],
          responses: {
            '200': documentResponse('The document.'),
            '304': {
              description: 'The ETag in If-None-Match is current.',
              headers: { ETag: { $ref: '#/components/headers/ETag' } },
            },
            '400': problem('Invalid id.'),
            '404': notFound,
            ...readFailures,
          },
        },
        head: {
          operationId: 'headDocument',
          tags: ['documents'],
          summary: "Read a document's headers",
          description: 'As GET, without a body: whether it exists, and its current ETag.',
          security: publicAccess,
          parameters: [ifNoneMatch],
          responses: {
            '200': {
              description: 'The document exists.',
              headers: { ETag: { $ref: '#/components/headers/ETag' } },
            },
            '304': {
              description: 'The ETag in If-None-Match is current.',
              headers: { ETag: { $ref: '#/components/headers/ETag' } },
            },
            '400': { description: 'Invalid id.' },
            '404': { description: 'No such document.' },
            '503': { description: 'Storage does not answer.' },
            default: { description: 'Any other error (no body, as for every HEAD).' },
          },
        },
        put: {
          operationId: 'replaceDocument',
          tags: ['documents'],
          summary: "Replace a document's data",
          description: 'The body is the new data. With If-Match, only if nobody changed it since.',
          security: bearer,
          parameters: [ifMatch],
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Data' } } },
          },
          responses: {
            '200': documentResponse('Replaced.'),
            '404': notFound,
            '412': stale,
            ...writeFailures,
          },
        },
        patch: {
          operationId: 'patchDocument',
          tags: ['documents'],
          summary: 'Merge a patch into the data',
          description:
            'A JSON Merge Patch (RFC 7396): keys set to null are removed, objects merge, anything else replaces. `application/json` is accepted as an alias of `application/merge-patch+json`.',
          security: bearer,
          parameters: [ifMatch],
          requestBody: {
            required: true,
            content: {
              [MERGE_PATCH]: { schema: { $ref: '#/components/schemas/MergePatch' } },
              'application/json': { schema: { $ref: '#/components/schemas/MergePatch' } },
            },
          },
          responses: {
            '200': documentResponse('Patched.'),
            '404': notFound,
            '412': stale,
            ...writeFailures,
            '415': problem('Not a JSON merge patch (or its application/json alias).', {
              'Accept-Patch': {
                description: 'The patch format this resource accepts.',
                schema: { type: 'string', const: MERGE_PATCH },
              },
            }),
          },
        },
        delete: {
          operationId: 'deleteDocument',
          tags: ['documents'],
          summary: 'Delete a document',
          security: bearer,
          parameters: [ifMatch],
          responses: {
            '204': { description: 'Deleted.' },
            '400': problem('Invalid id.'),
            '401': problem('Missing or invalid bearer token.'),
            '404': notFound,
            '412': stale,
            '503': storageUnavailable,
            '507': storageFull,
            default: anyOtherError,
          },
        },
      },
    },
    components: {
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description: 'One of the tokens in the service’s API_TOKEN.',
        },
      },
      parameters: {
        DocumentId: {
          name: 'id',
          in: 'path',
          required: true,
          description: 'The document id.',
          schema: { $ref: '#/components/schemas/DocumentId' },
        },
        IfMatch: {
          name: 'If-Match',
          in: 'header',
          description: 'ETag(s) the write expects, or `*`; 412 when the document has changed.',
          schema: { type: 'string' },
        },
        IfNoneMatch: {
          name: 'If-None-Match',
          in: 'header',
          description: 'ETag(s) the client holds; 304 when one is current.',
          schema: { type: 'string' },
        },
      },
      headers: {
        ETag: { description: 'Strong tag of the stored revision.', schema: { type: 'string' } },
      },
      responses: {
        StorageUnavailable: problem(
          'Storage does not answer (`storage-unavailable`); retry later.',
          {
            'Retry-After': {
              description: 'Seconds to wait before retrying.',
              schema: { type: 'integer', minimum: 0 },
            },
          },
        ),
        StorageFull: problem('Storage is full (`storage-full`); nothing was written.'),
        AnyOtherError: problem(
          'Any other error, as a problem document: 500 `internal` (see the request id in the log).',
        ),
      },
      schemas: {
        DocumentId: {
          type: 'string',
          // The code's pattern, and the exclusion of '.' and '..' that isValidId adds, as one
          // pattern: Swagger UI shows `not` as the type "never".
          pattern: `^(?!\\.\\.?$)${ID_PATTERN.source.slice(1)}`,
          examples: ['test'],
        },
        Data: {
          type: 'object',
          description: 'Any JSON object; an "id" key must equal the document id.',
          additionalProperties: true,
          examples: [{ key: 'value' }],
        },
        MergePatch: {
          type: 'object',
          description: 'A JSON Merge Patch (RFC 7396) of the data; null removes a key.',
          additionalProperties: true,
          examples: [{ other: 1, key: null }],
        },
        Document: {
          type: 'object',
          required: ['id', 'data', 'version', 'createdAt', 'updatedAt'],
          additionalProperties: false,
          properties: {
            id: { $ref: '#/components/schemas/DocumentId' },
            data: { $ref: '#/components/schemas/Data' },
            version: { type: 'integer', minimum: 1, description: '1, then +1 on each write.' },
            createdAt: { type: 'string', format: 'date-time' },
            updatedAt: { type: 'string', format: 'date-time' },
          },
        },
        CreateRequest: {
          type: 'object',
          required: ['data'],
          additionalProperties: false,
          properties: {
            id: { $ref: '#/components/schemas/DocumentId' },
            data: { $ref: '#/components/schemas/Data' },
          },
        },
        DocumentList: {
          type: 'object',
          required: ['items', 'nextCursor'],
          additionalProperties: false,
          properties: {
            items: {
              type: 'array',
              items: {
                type: 'object',
                required: ['id', 'version', 'updatedAt'],
                additionalProperties: false,
                properties: {
                  id: { $ref: '#/components/schemas/DocumentId' },
                  version: { type: 'integer', minimum: 1 },
                  updatedAt: { type: 'string', format: 'date-time' },
                },
              },
            },
            nextCursor: {
              type: ['string', 'null'],
              description: 'Pass as `cursor` for the next page; null on the last page.',
            },
          },
        },
        Health: {
          type: 'object',
          required: ['status', 'version', 'instance'],
          additionalProperties: false,
          properties: {
            status: { const: 'ok' },
            version: { type: 'string' },
            instance: { type: 'string' },
          },
        },
        Ready: {
          type: 'object',
          required: ['status', 'storage'],
          additionalProperties: false,
          properties: {
            status: { const: 'ready' },
            storage: { enum: ['sqlite', 'postgres'] },
          },
        },
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status', 'detail', 'instance', 'requestId'],
          additionalProperties: false,
          properties: {
            type: {
              type: 'string',
              format: 'uri',
              description: 'urn:challenge-deploy:problem:<kind>, stable for clients to switch on.',
              examples: ['urn:challenge-deploy:problem:document-not-found'],
            },
            title: { type: 'string', examples: ['Not Found'] },
            status: { type: 'integer', minimum: 400, maximum: 599, examples: [404] },
            detail: { type: 'string', examples: ['No document has the id "test".'] },
            instance: {
              type: 'string',
              description: 'The request path.',
              examples: ['/json/test'],
            },
            requestId: { type: 'string', examples: ['3d63788d-fe8f-4eda-b05e-f31f9a9b3d4b'] },
          },
        },
      },
    },
  };
}
