import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { Ajv2020 } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import { startServer, type RunningServer } from '../../service/server.js';
import { SqliteStore } from '../../service/store/sqlite.js';
import { capturedLogger, request, type Reply, type RequestOptions } from './support/http.js';

const TOKEN = 'openapi-test-token';
const dir = mkdtempSync(join(tmpdir(), 'openapi-'));
let server: RunningServer;
let spec: {
  openapi: string;
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>
  >;
};
const ajv = new Ajv2020({ strict: false, allErrors: true });
// ajv-formats is CommonJS: under ESM the plugin function is its `default` property.
ajvFormats.default(ajv);

beforeAll(async () => {
  server = await startServer({
    store: new SqliteStore(join(dir, 'openapi.sqlite')),
    logger: capturedLogger('silent').logger,
    port: 0,
    host: '127.0.0.1',
    apiTokens: [TOKEN],
    bodyLimitBytes: 2048,
    appVersion: 'v3',
    instanceId: 'i-spec',
  });
  spec = (await request(server.url, 'GET', '/openapi.json')).json as unknown as typeof spec;
  ajv.addSchema(spec, 'openapi');
});
afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The OpenAPI path template a concrete path falls under. */
function templateOf(path: string): string {
  const bare = path.split('?')[0]!;
  return /^\/json\/[^/]+$/.test(bare) ? '/json/{id}' : bare;
}

const exercised = new Set<string>();
const METHODS = ['get', 'head', 'put', 'post', 'patch', 'delete', 'options', 'trace'];

/** Sends the request and checks the answer against what the served OpenAPI document promises. */
async function conforming(method: string, path: string, options?: RequestOptions): Promise<Reply> {
  const reply = await request(server.url, method, path, options);
  const template = templateOf(path);
  const operation = spec.paths[template]?.[method.toLowerCase()];
  expect({ [`${method} ${template}`]: operation !== undefined }).toEqual({
    [`${method} ${template}`]: true,
  });
  const response = operation!.responses[String(reply.status)];
  expect({ [`${method} ${path} → ${reply.status}`]: response !== undefined }).toEqual({
    [`${method} ${path} → ${reply.status}`]: true,
  });
  exercised.add(`${method.toLowerCase()} ${template} ${reply.status}`);
  if (!response!.content) {
    expect(reply.text).toBe('');
    return reply;
  }
  const mediaType = (reply.headers.get('content-type') ?? '').split(';')[0]!.trim();
  expect(Object.keys(response!.content)).toContain(mediaType);
  if (mediaType.endsWith('json')) {
    const pointer = [
      'paths',
      template,
      method.toLowerCase(),
      'responses',
      String(reply.status),
      'content',
      mediaType,
      'schema',
    ]
      .map((segment) => encodeURIComponent(segment.replace(/~/g, '~0').replace(/\//g, '~1')))
      .join('/');
    const validate = ajv.compile({ $ref: `openapi#/${pointer}` });
    const valid = validate(JSON.parse(reply.text));
    expect({ [`${method} ${path} → ${reply.status}`]: validate.errors ?? [] }).toEqual({
      [`${method} ${path} → ${reply.status}`]: [],
    });
    expect(valid).toBe(true);
  }
  return reply;
}

const auth = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' };

describe('the OpenAPI document', () => {
  test('is OpenAPI 3.1 and names the running version', async () => {
    const reply = await request(server.url, 'GET', '/openapi.json');
    expect(reply.json).toMatchObject({ openapi: '3.1.0', info: { version: 'v3' } });
  });

  test('describes every answer the service gives, status by status, schema by schema', async () => {
    await conforming('GET', '/health');
    await conforming('GET', '/ready');
    await conforming('GET', '/metrics');
    await conforming('GET', '/openapi.json');
    await conforming('GET', '/docs');

    const created = await conforming('POST', '/json', {
      body: '{"id":"spec-doc","data":{"key":"value","nested":{"n":[1,2]}}}',
      headers: auth,
    });
    await conforming('POST', '/json', { body: '{"data":{}}', headers: auth });
    await conforming('POST', '/json', { body: '{"id":"spec-doc","data":{}}', headers: auth });
    await conforming('POST', '/json', {
      body: '{"id":"spec-doc","data":{}}',
      headers: { ...auth, 'If-None-Match': '*' },
    });
    await conforming('POST', '/json', { body: '{"id":', headers: auth });
    await conforming('POST', '/json', {
      body: '{}',
      headers: { 'Content-Type': 'application/json' },
    });
    await conforming('POST', '/json', {
      body: '<x/>',
      headers: { ...auth, 'Content-Type': 'text/xml' },
    });
    await conforming('POST', '/json', {
      body: JSON.stringify({ id: 'big', data: { pad: 'x'.repeat(3000) } }),
      headers: auth,
    });

    await conforming('GET', '/json?limit=1');
    await conforming('GET', '/json?limit=0');
    await conforming('GET', '/json/spec-doc');
    await conforming('GET', '/json/spec-doc', {
      headers: { 'If-None-Match': created.headers.get('etag')! },
    });
    await conforming('GET', '/json/missing');
    await conforming('GET', '/json/bad%2Fid');

    await conforming('PUT', '/json/spec-doc', { body: '{"key":"new value"}', headers: auth });
    await conforming('PUT', '/json/missing', { body: '{}', headers: auth });
    await conforming('PUT', '/json/spec-doc', {
      body: '{}',
      headers: { ...auth, 'If-Match': created.headers.get('etag')! },
    });
    await conforming('PATCH', '/json/spec-doc', {
      body: '{"added":true}',
      headers: { ...auth, 'Content-Type': 'application/merge-patch+json' },
    });
    // The documented alias: plain application/json is read as a merge patch too.
    await conforming('PATCH', '/json/spec-doc', {
      body: '{"alias":true}',
      headers: { ...auth, 'Content-Type': 'application/json' },
    });
    await conforming('PATCH', '/json/spec-doc', {
      body: '{}',
      headers: { ...auth, 'Content-Type': 'application/json-patch+json' },
    });
    await conforming('HEAD', '/json/spec-doc');
    await conforming('HEAD', '/json/missing');
    await conforming('DELETE', '/json/spec-doc', {
      headers: { ...auth, 'If-Match': created.headers.get('etag')! },
    });
    await conforming('DELETE', '/json/spec-doc', { headers: auth });
    await conforming('DELETE', '/json/spec-doc', { headers: auth });

    // Everything documented with a 2xx was seen at least once.
    for (const [path, pathItem] of Object.entries(spec.paths)) {
      for (const [method, operation] of Object.entries(pathItem)) {
        if (!METHODS.includes(method)) continue; // path-level `parameters`
        const success = Object.keys(operation.responses).filter((status) => status.startsWith('2'));
        for (const status of success) expect(exercised).toContain(`${method} ${path} ${status}`);
      }
    }
  });

  test('states the list limit and the id pattern the service enforces', async () => {
    const served = (await request(server.url, 'GET', '/openapi.json')).json as unknown as {
      paths: { '/json': { get: { parameters: { name: string; schema: { maximum: number } }[] } } };
      components: { schemas: { DocumentId: { pattern: string } } };
    };
    const limit = served.paths['/json'].get.parameters.find((p) => p.name === 'limit')!;
    const maximum = limit.schema.maximum;
    expect((await request(server.url, 'GET', `/json?limit=${maximum}`)).status).toBe(200);
    expect((await request(server.url, 'GET', `/json?limit=${maximum + 1}`)).status).toBe(400);

    const pattern = new RegExp(served.components.schemas.DocumentId.pattern);
    const ids = ['a'.repeat(128), 'a'.repeat(129), 'with space', 'x~y.z_-1', '.', '..', '...'];
    for (const id of ids) {
      const reply = await request(server.url, 'POST', '/json', {
        body: JSON.stringify({ id, data: {} }),
        headers: auth,
      });
      expect({ id, created: reply.status === 201 }).toEqual({ id, created: pattern.test(id) });
    }
  });

  test('describes the generic answers: 404 for an unknown path, 405 with Allow, HEAD', async () => {
    const description = (spec as unknown as { info: { description: string } }).info.description;
    expect(description).toMatch(/\*\*404\*\* \(`not-found`\)/);
    expect(description).toMatch(/\*\*405\*\* \(`method-not-allowed`\) with an `Allow` header/);
    expect(description).toContain('`HEAD`');
    const validProblem = ajv.compile({ $ref: 'openapi#/components/schemas/Problem' });

    const unknown = await request(server.url, 'GET', '/no/such/path');
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toBe('application/problem+json');
    expect(validProblem(unknown.json)).toBe(true);
    expect(unknown.json.type).toBe('urn:challenge-deploy:problem:not-found');

    const wrongMethod = await request(server.url, 'POST', '/health');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toContain('GET');
    expect(validProblem(wrongMethod.json)).toBe(true);
    expect(wrongMethod.json.type).toBe('urn:challenge-deploy:problem:method-not-allowed');

    // HEAD of any GET: the same status and headers, no body.
    const head = await request(server.url, 'HEAD', '/health');
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
  });
});
