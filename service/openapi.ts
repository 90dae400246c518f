/**
 * The OpenAPI 3.1 description of this service. A test validates real responses against the
 * schemas below, so the description cannot drift from what the service answers.
 */

const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

const documentResponse = (description: string) => ({
  description,
  headers: { ETag: { $ref: '#/components/headers/ETag' } },
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Document' } } },
});

const idParameter = { $ref: '#/components/parameters/DocumentId' };
const ifMatch = { $ref: '#/components/parameters/IfMatch' };
const bearer = [{ bearerAuth: [] }];
const writeErrors = {
  '400': problem(
    'Malformed JSON, a bad id, a body of the wrong shape, or nesting/keys beyond the limits.',
  ),
  '401': problem('Missing or invalid bearer token.'),
  '413': problem('Body larger than BODY_LIMIT (also after decompression).'),
  '415': problem('Unsupported Content-Type or Content-Encoding.'),
};

export function openApiDocument(version: string) {
  return {
    openapi: '3.1.0',
    info: {
      title: 'challenge-deploy document API',
      version,
      description:
        'Stores JSON documents by id, with integer versions, ETags and conditional writes. Errors are RFC 9457 problem documents.',
    },
    paths: {
      '/health': {
        get: {
          summary: 'Liveness and the running version; never touches storage.',
          responses: {
            '200': {
              description: 'The process is up.',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Health' } } },
            },
          },
        },
      },
      '/ready': {
        get: {
          summary: 'Readiness for traffic: storage answers and the instance is not shutting down.',
          responses: {
            '200': {
              description: 'Ready.',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Ready' } } },
            },
            '503': problem('Shutting down, or storage does not answer.'),
          },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics of this instance (every WEB_CONCURRENCY worker added up).',
          responses: {
            '200': {
              description: 'Prometheus text format.',
              content: { 'text/plain': { schema: { type: 'string' } } },
            },
          },
        },
      },
      '/openapi.json': {
        get: {
          summary: 'This document.',
          responses: {
            '200': {
              description: 'OpenAPI 3.1.',
              content: { 'application/json': { schema: { type: 'object' } } },
            },
          },
        },
      },
      '/json': {
        get: {
          summary: 'List document ids in a stable order, a page at a time.',
          parameters: [
            {
              name: 'limit',
              in: 'query',
              schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
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
          },
        },
        post: {
          summary: 'Create a document. Without an id, one is generated.',
          security: bearer,
          parameters: [
            {
              name: 'If-None-Match',
              in: 'header',
              description: '`*`: create only if absent, answering 412 instead of 409 otherwise.',
              schema: { type: 'string' },
            },
          ],
          requestBody: {
            required: true,
            description:
              'application/json. A body sent as application/x-www-form-urlencoded (curl -d) is accepted when it is valid JSON.',
            content: {
              'application/json': { schema: { $ref: '#/components/schemas/CreateRequest' } },
            },
          },
          responses: {
            '201': {
              ...documentResponse('Created.'),
              headers: {
                ETag: { $ref: '#/components/headers/ETag' },
                Location: { description: 'The new document.', schema: { type: 'string' } },
              },
            },
            ...writeErrors,
            '409': problem('A document with this id exists.'),
            '412': problem('If-None-Match: * and the document exists.'),
          },
        },
      },
      '/json/{id}': {
        get: {
          summary: 'Read a document.',
          parameters: [
            idParameter,
            { name: 'If-None-Match', in: 'header', schema: { type: 'string' } },
          ],
          responses: {
            '200': documentResponse('The document.'),
            '304': { description: 'The ETag in If-None-Match is current.' },
            '400': problem('Invalid id.'),
            '404': problem('No such document.'),
          },
        },
        put: {
          summary: 'Replace the data of an existing document; the body is the new data.',
          security: bearer,
          parameters: [idParameter, ifMatch],
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Data' } } },
          },
          responses: {
            '200': documentResponse('Replaced.'),
            ...writeErrors,
            '404': problem('No such document.'),
            '412': problem('If-Match does not name the current version.'),
          },
        },
        patch: {
          summary: 'Merge a JSON Merge Patch (RFC 7396) into the data.',
          security: bearer,
          parameters: [idParameter, ifMatch],
          requestBody: {
            required: true,
            content: { 'application/merge-patch+json': { schema: {} } },
          },
          responses: {
            '200': documentResponse('Patched.'),
            ...writeErrors,
            '404': problem('No such document.'),
            '412': problem('If-Match does not name the current version.'),
          },
        },
        delete: {
          summary: 'Delete a document.',
          security: bearer,
          parameters: [idParameter, ifMatch],
          responses: {
            '204': { description: 'Deleted.' },
            '400': problem('Invalid id.'),
            '401': problem('Missing or invalid bearer token.'),
            '404': problem('No such document.'),
            '412': problem('If-Match does not name the current version.'),
          },
        },
      },
    },
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } },
      parameters: {
        DocumentId: {
          name: 'id',
          in: 'path',
          required: true,
          schema: { $ref: '#/components/schemas/DocumentId' },
        },
        IfMatch: {
          name: 'If-Match',
          in: 'header',
          description: 'ETag(s) the write expects; 412 when the document has changed.',
          schema: { type: 'string' },
        },
      },
      headers: {
        ETag: { description: 'Strong tag of the stored revision.', schema: { type: 'string' } },
      },
      schemas: {
        DocumentId: {
          type: 'string',
          pattern: '^[A-Za-z0-9._~-]{1,128}$',
          not: { enum: ['.', '..'] },
        },
        Data: {
          type: 'object',
          description: 'Any JSON object; an "id" key must equal the document id.',
        },
        Document: {
          type: 'object',
          required: ['id', 'data', 'version', 'createdAt', 'updatedAt'],
          additionalProperties: false,
          properties: {
            id: { $ref: '#/components/schemas/DocumentId' },
            data: { $ref: '#/components/schemas/Data' },
            version: { type: 'integer', minimum: 1 },
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
            nextCursor: { type: ['string', 'null'] },
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
            type: { type: 'string', format: 'uri' },
            title: { type: 'string' },
            status: { type: 'integer', minimum: 400, maximum: 599 },
            detail: { type: 'string' },
            instance: { type: 'string' },
            requestId: { type: 'string' },
          },
        },
      },
    },
  };
}
