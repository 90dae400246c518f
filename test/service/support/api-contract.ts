import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { startServer, type RunningServer } from '../../../service/server.js';
import type { DocumentStore } from '../../../service/store/index.js';
import { capturedLogger, request, type RequestOptions } from './http.js';

export const TOKEN = 'test-token-0123456789abcdef';
export const ROTATED_TOKEN = 'rotated-token-fedcba9876543210';
const BODY_LIMIT = 4096;

/**
 * The HTTP contract of the document API, over real HTTP on a real port, against any store.
 * Each store's test file calls it with a factory for a fresh, empty store.
 */
export function describeApiContract(name: string, open: () => Promise<DocumentStore>): void {
  describe(`document API over HTTP (${name})`, () => {
    let server: RunningServer;
    const log = capturedLogger('debug');
    const call = (method: string, path: string, options?: RequestOptions) =>
      request(server.url, method, path, options);
    const auth = (token = TOKEN) => ({ Authorization: `Bearer ${token}` });
    const json = (value: unknown) => JSON.stringify(value);
    const asJson = { 'Content-Type': 'application/json' };
    const create = async (id: string, data: unknown) => {
      const reply = await call('POST', '/json', {
        body: json({ id, data }),
        headers: { ...auth(), ...asJson },
      });
      expect(reply.status).toBe(201);
      return reply;
    };

    beforeAll(async () => {
      server = await startServer({
        store: await open(),
        logger: log.logger,
        port: 0,
        host: '127.0.0.1',
        apiTokens: [TOKEN, ROTATED_TOKEN],
        bodyLimitBytes: BODY_LIMIT,
        appVersion: 'v42',
        instanceId: 'i-test',
      });
    });
    afterAll(async () => {
      await server?.stop();
    });

    describe('creating', () => {
      test("accepts the original project's curl, which sends JSON as a form content type", async () => {
        const reply = await call('POST', '/json', {
          body: '{"id": "test", "data": {"key": "value"}}',
          headers: { ...auth(), 'Content-Type': 'application/x-www-form-urlencoded' },
        });
        expect(reply.status).toBe(201);
        expect(reply.headers.get('location')).toBe('/json/test');
        expect(reply.headers.get('etag')).toMatch(/^"1-[0-9a-f]{16}"$/);
        expect(reply.json).toMatchObject({ id: 'test', data: { key: 'value' }, version: 1 });
        expect(reply.json.createdAt).toBe(reply.json.updatedAt);
      });

      test('accepts a JSON body without any Content-Type', async () => {
        const reply = await call('POST', '/json', {
          body: json({ id: 'untyped', data: { a: 1 } }),
          headers: auth(),
        });
        expect(reply.status).toBe(201);
      });

      test('generates an id when the body has none and points Location at it', async () => {
        const reply = await call('POST', '/json', {
          body: json({ data: { generated: true } }),
          headers: { ...auth(), ...asJson },
        });
        expect(reply.status).toBe(201);
        expect(reply.json.id).toMatch(/^[A-Za-z0-9._~-]{1,128}$/);
        expect(reply.headers.get('location')).toBe(`/json/${reply.json.id}`);
        const read = await call('GET', reply.headers.get('location')!);
        expect(read.json.data).toEqual({ generated: true });
      });

      test('answers 409 for an id that exists and keeps the first document', async () => {
        await create('dup', { first: true });
        const again = await call('POST', '/json', {
          body: json({ id: 'dup', data: { first: false } }),
          headers: { ...auth(), ...asJson },
        });
        expect(again.status).toBe(409);
        expect(again.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        expect((await call('GET', '/json/dup')).json.data).toEqual({ first: true });
      });

      test('answers 412 instead of 409 when If-None-Match: * asked to create only if absent', async () => {
        await create('guarded', {});
        const reply = await call('POST', '/json', {
          body: json({ id: 'guarded', data: {} }),
          headers: { ...auth(), ...asJson, 'If-None-Match': '*' },
        });
        expect(reply.status).toBe(412);
      });

      test.each([
        ['malformed JSON', '{"id": "x", "data": {', 400, 'malformed-json'],
        ['an array instead of an object', '[1,2]', 400, 'invalid-body'],
        ['no data', '{"id": "no-data"}', 400, 'invalid-body'],
        ['data that is not an object', '{"id": "s", "data": "text"}', 400, 'invalid-body'],
        ['an unknown field', '{"id": "u", "data": {}, "extra": 1}', 400, 'invalid-body'],
        ['an id with a slash', '{"id": "a/b", "data": {}}', 400, 'invalid-id'],
        ['the id ".."', '{"id": "..", "data": {}}', 400, 'invalid-id'],
        ['an id of 129 characters', json({ id: 'x'.repeat(129), data: {} }), 400, 'invalid-id'],
        ['a numeric id', '{"id": 7, "data": {}}', 400, 'invalid-id'],
        ['a __proto__ key', '{"id": "p", "data": {"__proto__": {"x": 1}}}', 400, 'forbidden-key'],
      ])('refuses %s with a problem document and stores nothing', async (_, body, status, kind) => {
        const before = await call('GET', '/json?limit=1000');
        const reply = await call('POST', '/json', { body, headers: { ...auth(), ...asJson } });
        expect(reply.status).toBe(status);
        expect(reply.json.type).toBe(`urn:challenge-deploy:problem:${kind}`);
        expect(reply.json.detail).toEqual(expect.any(String));
        expect((await call('GET', '/json?limit=1000')).json.items).toEqual(before.json.items);
      });

      test('refuses other content types with 415, also a form body that is not JSON', async () => {
        for (const [type, body] of [
          ['text/plain', json({ id: 'tp', data: {} })],
          ['application/xml', '<doc/>'],
          ['application/x-www-form-urlencoded', 'id=form&data=x'],
        ]) {
          const reply = await call('POST', '/json', {
            body,
            headers: { ...auth(), 'Content-Type': type! },
          });
          expect([type, reply.status]).toEqual([type, 415]);
        }
        expect((await call('GET', '/json/tp')).status).toBe(404);
        expect((await call('GET', '/json/form')).status).toBe(404);
      });

      test('reads media types regardless of case and whitespace (RFC 9110), as HTTP libraries send them', async () => {
        const types = [
          'application/json; charset=UTF-8',
          'Application/JSON',
          'application/json ; charset=utf-8',
          'APPLICATION/JSON;CHARSET="utf-8"',
          ' application/json\t;\tcharset=UTF8',
        ];
        for (const [i, type] of types.entries()) {
          const reply = await call('POST', '/json', {
            body: json({ id: `typed-${i}`, data: { i } }),
            headers: { ...auth(), 'Content-Type': type },
          });
          expect([type, reply.status]).toEqual([type, 201]);
        }
        const patched = await call('PATCH', '/json/typed-0', {
          body: json({ patched: true }),
          headers: { ...auth(), 'Content-Type': 'Application/Merge-Patch+JSON; Charset=UTF-8' },
        });
        expect(patched.status).toBe(200);
        const latin1 = await call('POST', '/json', {
          body: json({ id: 'latin1', data: {} }),
          headers: { ...auth(), 'Content-Type': 'application/json; charset=ISO-8859-1' },
        });
        expect(latin1.status).toBe(415);
        expect(latin1.json.detail).toContain('iso-8859-1');
      });

      test('refuses numbers JSON cannot hold with 400 instead of storing them as null', async () => {
        for (const [id, number] of [
          ['huge', '1e400'],
          ['minus-huge', '-1e400'],
        ]) {
          const reply = await call('POST', '/json', {
            body: `{"id":"${id}","data":{"n":${number}}}`,
            headers: { ...auth(), ...asJson },
          });
          expect([number, reply.status]).toEqual([number, 400]);
          expect(reply.json.type).toBe('urn:challenge-deploy:problem:number-out-of-range');
          expect((await call('GET', `/json/${id}`)).status).toBe(404);
        }
        await create('finite', { n: 1 });
        const put = await call('PUT', '/json/finite', {
          body: '{"n":[1,2,1e309]}',
          headers: { ...auth(), ...asJson },
        });
        const patched = await call('PATCH', '/json/finite', {
          body: '{"m":{"deep":-1e999}}',
          headers: { ...auth(), 'Content-Type': 'application/merge-patch+json' },
        });
        expect([put.status, patched.status]).toEqual([400, 400]);
        expect((await call('GET', '/json/finite')).json).toMatchObject({
          data: { n: 1 },
          version: 1,
        });
        // the largest finite double is still a number
        const max = await call('POST', '/json', {
          body: '{"id":"max","data":{"n":1.7976931348623157e308}}',
          headers: { ...auth(), ...asJson },
        });
        expect(max.status).toBe(201);
        expect(max.json.data).toEqual({ n: Number.MAX_VALUE });
      });

      test('accepts gzip bodies and refuses ones that inflate beyond the body limit with 413', async () => {
        const small = await call('POST', '/json', {
          body: gzipSync(json({ id: 'zipped', data: { ok: true } })),
          headers: { ...auth(), ...asJson, 'Content-Encoding': 'gzip' },
        });
        expect(small.status).toBe(201);
        const bomb = gzipSync(json({ id: 'bomb', data: { pad: ' '.repeat(BODY_LIMIT * 20) } }));
        expect(bomb.length).toBeLessThan(BODY_LIMIT);
        const reply = await call('POST', '/json', {
          body: bomb,
          headers: { ...auth(), ...asJson, 'Content-Encoding': 'gzip' },
        });
        expect(reply.status).toBe(413);
        expect((await call('GET', '/json/bomb')).status).toBe(404);
      });

      test('refuses a plain body over the limit with 413', async () => {
        const reply = await call('POST', '/json', {
          body: json({ id: 'big', data: { pad: 'x'.repeat(BODY_LIMIT) } }),
          headers: { ...auth(), ...asJson },
        });
        expect(reply.status).toBe(413);
        expect(reply.json.type).toBe('urn:challenge-deploy:problem:body-too-large');
      });

      test('accepts data nested 64 levels deep and refuses 65, the envelope not counted', async () => {
        const nest = (levels: number): unknown =>
          levels === 1 ? { n: 1 } : { n: nest(levels - 1) };
        const ok = await call('POST', '/json', {
          body: json({ id: 'deep-ok', data: nest(64) }),
          headers: { ...auth(), ...asJson },
        });
        expect(ok.status).toBe(201);
        const tooDeep = await call('POST', '/json', {
          body: json({ id: 'deep-no', data: nest(65) }),
          headers: { ...auth(), ...asJson },
        });
        expect(tooDeep.status).toBe(400);
        expect(tooDeep.json.type).toBe('urn:challenge-deploy:problem:too-deep');
      });
    });

    describe('reading', () => {
      test('returns the document with an ETag, and 304 when If-None-Match names it', async () => {
        const created = await create('readable', { n: 1 });
        const etag = created.headers.get('etag')!;
        const read = await call('GET', '/json/readable');
        expect(read.status).toBe(200);
        expect(read.headers.get('etag')).toBe(etag);
        expect(read.json).toEqual(created.json);
        const cached = await call('GET', '/json/readable', { headers: { 'If-None-Match': etag } });
        expect(cached.status).toBe(304);
        expect(cached.text).toBe('');
        expect(cached.headers.get('etag')).toBe(etag);
        const stale = await call('GET', '/json/readable', {
          headers: { 'If-None-Match': '"1-0"' },
        });
        expect(stale.status).toBe(200);
      });

      test('answers 404 with a problem document for a missing id', async () => {
        const reply = await call('GET', '/json/nobody-home');
        expect(reply.status).toBe(404);
        expect(reply.json).toMatchObject({
          type: 'urn:challenge-deploy:problem:document-not-found',
          status: 404,
          instance: '/json/nobody-home',
        });
      });

      test.each([
        ['an encoded slash', '/json/a%2Fb'],
        ['an encoded "..', '/json/%2E%2E'],
        ['"."', '/json/.'],
        ['a space', '/json/a%20b'],
        ['129 characters', `/json/${'y'.repeat(129)}`],
      ])('refuses an id with %s with 400', async (_, path) => {
        const reply = await call('GET', path);
        expect(reply.status).toBe(400);
        expect(reply.json.type).toBe('urn:challenge-deploy:problem:invalid-id');
      });

      test('lists every id once in a stable order, page by page through an opaque cursor', async () => {
        for (const id of ['page-c', 'page-a', 'page-b', 'page-e', 'page-d']) await create(id, {});
        const ids: string[] = [];
        let path = '/json?limit=2';
        for (let i = 0; i < 200 && path; i++) {
          const page = await call('GET', path);
          expect(page.status).toBe(200);
          expect(page.json.items.length).toBeLessThanOrEqual(2);
          ids.push(...page.json.items.map((item: { id: string }) => item.id));
          path = page.json.nextCursor
            ? `/json?limit=2&cursor=${encodeURIComponent(page.json.nextCursor)}`
            : '';
        }
        expect(path).toBe('');
        expect(ids.filter((id) => id.startsWith('page-'))).toEqual([
          'page-a',
          'page-b',
          'page-c',
          'page-d',
          'page-e',
        ]);
        expect(new Set(ids).size).toBe(ids.length);
      });

      test('refuses a bad limit or a cursor it did not issue with 400', async () => {
        expect((await call('GET', '/json?limit=0')).status).toBe(400);
        expect((await call('GET', '/json?limit=abc')).status).toBe(400);
        expect((await call('GET', '/json?limit=1001')).status).toBe(400);
        expect((await call('GET', '/json?cursor=bm9wZQ')).status).toBe(400);
      });
    });

    describe('replacing', () => {
      test("replaces the data with the body, as the original project's curl does", async () => {
        await create('put-me', { key: 'value' });
        const reply = await call('PUT', '/json/put-me', {
          body: '{"key": "new value"}',
          headers: { ...auth(), 'Content-Type': 'application/x-www-form-urlencoded' },
        });
        expect(reply.status).toBe(200);
        expect(reply.json).toMatchObject({ id: 'put-me', data: { key: 'new value' }, version: 2 });
        expect(reply.headers.get('etag')).toMatch(/^"2-/);
        expect((await call('GET', '/json/put-me')).json.data).toEqual({ key: 'new value' });
      });

      test('answers 404 for a document that does not exist and does not create it', async () => {
        const reply = await call('PUT', '/json/not-there', {
          body: '{"a": 1}',
          headers: { ...auth(), ...asJson },
        });
        expect(reply.status).toBe(404);
        expect((await call('GET', '/json/not-there')).status).toBe(404);
      });

      test('answers 412 when If-Match names an older version, and succeeds on the current one', async () => {
        const created = await create('cas', { v: 1 });
        const first = await call('PUT', '/json/cas', {
          body: '{"v": 2}',
          headers: { ...auth(), ...asJson, 'If-Match': created.headers.get('etag')! },
        });
        expect(first.status).toBe(200);
        const stale = await call('PUT', '/json/cas', {
          body: '{"v": 3}',
          headers: { ...auth(), ...asJson, 'If-Match': created.headers.get('etag')! },
        });
        expect(stale.status).toBe(412);
        expect((await call('GET', '/json/cas')).json).toMatchObject({ data: { v: 2 }, version: 2 });
      });

      test('lets exactly one of several concurrent writers holding the same ETag win', async () => {
        const created = await create('race', { writer: 'none' });
        const etag = created.headers.get('etag')!;
        const replies = await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            call('PUT', '/json/race', {
              body: json({ writer: i }),
              headers: { ...auth(), ...asJson, 'If-Match': etag },
            }),
          ),
        );
        const statuses = replies.map((r) => r.status).sort();
        expect(statuses).toEqual([200, ...Array<number>(11).fill(412)]);
        const winner = replies.find((r) => r.status === 200)!;
        expect((await call('GET', '/json/race')).json).toEqual(winner.json);
      });

      test('refuses a body whose id differs from the URL, and a body that is not an object', async () => {
        await create('ident', { id: 'ident' });
        const mismatch = await call('PUT', '/json/ident', {
          body: '{"id": "other", "x": 1}',
          headers: { ...auth(), ...asJson },
        });
        expect(mismatch.status).toBe(400);
        expect(mismatch.json.type).toBe('urn:challenge-deploy:problem:id-mismatch');
        const array = await call('PUT', '/json/ident', {
          body: '[1]',
          headers: { ...auth(), ...asJson },
        });
        expect(array.status).toBe(400);
        expect((await call('GET', '/json/ident')).json.version).toBe(1);
      });

      test('never lets an ETag from before a delete match the document created again', async () => {
        const first = await create('phoenix', { same: true });
        await call('DELETE', '/json/phoenix', { headers: auth() });
        const second = await create('phoenix', { same: true });
        expect(second.headers.get('etag')).not.toBe(first.headers.get('etag'));
        const reply = await call('PUT', '/json/phoenix', {
          body: '{"same": false}',
          headers: { ...auth(), ...asJson, 'If-Match': first.headers.get('etag')! },
        });
        expect(reply.status).toBe(412);
      });
    });

    describe('patching', () => {
      const patch = (id: string, body: unknown, headers: Record<string, string> = {}) =>
        call('PATCH', `/json/${id}`, {
          body: typeof body === 'string' ? body : json(body),
          headers: { ...auth(), 'Content-Type': 'application/merge-patch+json', ...headers },
        });

      test('merges a JSON Merge Patch: sets, replaces nested values and removes keys given null', async () => {
        await create('merge', { keep: 1, drop: 2, nested: { a: 1, b: 2 }, list: [1, 2] });
        const reply = await patch('merge', {
          drop: null,
          nested: { b: 3, c: 4 },
          list: [9],
          add: 'x',
        });
        expect(reply.status).toBe(200);
        expect(reply.json.data).toEqual({
          keep: 1,
          nested: { a: 1, b: 3, c: 4 },
          list: [9],
          add: 'x',
        });
        expect(reply.json.version).toBe(2);
      });

      test('keeps "constructor" and "prototype" as plain data and never pollutes a prototype', async () => {
        await create('proto', {});
        const reply = await patch('proto', { constructor: { prototype: { polluted: true } } });
        expect(reply.status).toBe(200);
        expect(reply.json.data).toEqual({ constructor: { prototype: { polluted: true } } });
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      });

      test('refuses a __proto__ key in a patch with 400 and leaves the document alone', async () => {
        await create('proto2', { safe: true });
        const reply = await patch('proto2', '{"__proto__": {"polluted": true}, "safe": false}');
        expect(reply.status).toBe(400);
        expect((await call('GET', '/json/proto2')).json).toMatchObject({
          data: { safe: true },
          version: 1,
        });
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      });

      test('answers 412 on a stale If-Match, 404 for a missing id and 415 for JSON Patch', async () => {
        const created = await create('patchy', { v: 1 });
        await patch('patchy', { v: 2 });
        const stale = await patch('patchy', { v: 3 }, { 'If-Match': created.headers.get('etag')! });
        expect(stale.status).toBe(412);
        expect((await patch('absent', { v: 1 })).status).toBe(404);
        const jsonPatch = await patch('patchy', '[{"op":"remove","path":"/v"}]', {
          'Content-Type': 'application/json-patch+json',
        });
        expect(jsonPatch.status).toBe(415);
        expect(jsonPatch.headers.get('accept-patch')).toBe('application/merge-patch+json');
        expect((await call('GET', '/json/patchy')).json.data).toEqual({ v: 2 });
      });

      test.each([10, 50])(
        'applies every one of %i concurrent unconditional patches of one document',
        async (writers) => {
          const id = `contended-patch-${writers}`;
          await create(id, {});
          const replies = await Promise.all(
            Array.from({ length: writers }, (_, i) => patch(id, { [`k${i}`]: i })),
          );
          expect(replies.map((reply) => reply.status)).toEqual(replies.map(() => 200));
          const stored = await call('GET', `/json/${id}`);
          expect(Object.keys(stored.json.data).sort()).toEqual(
            Array.from({ length: writers }, (_, i) => `k${i}`).sort(),
          );
          expect(stored.json.version).toBe(writers + 1);
        },
      );

      test('refuses a patch that would turn the data into something other than an object', async () => {
        await create('shape', { a: 1 });
        expect((await patch('shape', '"text"')).status).toBe(400);
        expect((await call('GET', '/json/shape')).json.data).toEqual({ a: 1 });
      });
    });

    describe('deleting', () => {
      test('deletes with 204, after which the document is gone', async () => {
        await create('doomed', {});
        const reply = await call('DELETE', '/json/doomed', { headers: auth() });
        expect(reply.status).toBe(204);
        expect(reply.text).toBe('');
        expect((await call('GET', '/json/doomed')).status).toBe(404);
        expect((await call('DELETE', '/json/doomed', { headers: auth() })).status).toBe(404);
      });

      test('answers 412 when If-Match is stale and keeps the document', async () => {
        const created = await create('kept', {});
        await call('PUT', '/json/kept', { body: '{"v": 2}', headers: { ...auth(), ...asJson } });
        const reply = await call('DELETE', '/json/kept', {
          headers: { ...auth(), 'If-Match': created.headers.get('etag')! },
        });
        expect(reply.status).toBe(412);
        expect((await call('GET', '/json/kept')).status).toBe(200);
      });
    });

    describe('authentication', () => {
      test.each([
        ['no Authorization header', {}, 'Bearer realm="documents"'],
        ['a wrong token', { Authorization: 'Bearer wrong' }, 'error="invalid_token"'],
        ['another scheme', { Authorization: `Basic ${TOKEN}` }, 'Bearer'],
      ])(
        'refuses a write with %s: 401, WWW-Authenticate, nothing stored',
        async (_, headers, challenge) => {
          const reply = await call('POST', '/json', {
            body: json({ id: 'intruder', data: {} }),
            headers: { ...asJson, ...headers },
          });
          expect(reply.status).toBe(401);
          expect(reply.headers.get('www-authenticate')).toContain(challenge);
          expect((await call('GET', '/json/intruder')).status).toBe(404);
        },
      );

      test('accepts any configured token, in any case of the scheme name', async () => {
        for (const [i, header] of [`bearer ${TOKEN}`, `BEARER ${ROTATED_TOKEN}`].entries()) {
          const reply = await call('POST', '/json', {
            body: json({ id: `rotated-${i}`, data: {} }),
            headers: { ...asJson, Authorization: header },
          });
          expect(reply.status).toBe(201);
        }
      });

      test('lets anyone read without a token', async () => {
        await create('public', { open: true });
        expect((await call('GET', '/json/public')).status).toBe(200);
      });
    });

    describe('service endpoints and errors', () => {
      test('reports health with the version and instance id', async () => {
        const reply = await call('GET', '/health');
        expect(reply.status).toBe(200);
        expect(reply.json).toEqual({ status: 'ok', version: 'v42', instance: 'i-test' });
      });

      test('is ready while the store answers', async () => {
        const reply = await call('GET', '/ready');
        expect(reply.status).toBe(200);
        expect(reply.json.status).toBe('ready');
      });

      test('answers an unknown route with a 404 problem and a wrong method with 405 and Allow', async () => {
        const unknown = await call('GET', '/nope');
        expect(unknown.status).toBe(404);
        expect(unknown.json.type).toBe('urn:challenge-deploy:problem:not-found');
        const wrong = await call('DELETE', '/json', { headers: auth() });
        expect(wrong.status).toBe(405);
        expect(wrong.headers.get('allow')?.split(/, */).sort()).toEqual(['GET', 'HEAD', 'POST']);
        expect(wrong.json.type).toBe('urn:challenge-deploy:problem:method-not-allowed');
      });

      test('answers a method a document does not support with 405 and the methods it does', async () => {
        await create('allow-me', {});
        const reply = await call('POST', '/json/allow-me', { body: '{}', headers: auth() });
        expect(reply.status).toBe(405);
        expect(reply.headers.get('allow')?.split(/, */).sort()).toEqual([
          'DELETE',
          'GET',
          'HEAD',
          'PATCH',
          'PUT',
        ]);
      });

      test('answers HEAD on a document with its ETag and no body', async () => {
        const created = await create('headed', { n: 1 });
        const reply = await call('HEAD', '/json/headed');
        expect(reply.status).toBe(200);
        expect(reply.text).toBe('');
        expect(reply.headers.get('etag')).toBe(created.headers.get('etag'));
      });

      test('returns the incoming X-Request-Id and puts it in every problem document', async () => {
        const reply = await call('GET', '/json/missing-one', {
          headers: { 'X-Request-Id': 'trace-abc.123' },
        });
        expect(reply.headers.get('x-request-id')).toBe('trace-abc.123');
        expect(reply.json.requestId).toBe('trace-abc.123');
        const generated = await call('GET', '/nope', { headers: { 'X-Request-Id': 'bad id!' } });
        expect(generated.json.requestId).toBe(generated.headers.get('x-request-id'));
        expect(generated.json.requestId).not.toBe('bad id!');
      });

      test('counts requests by route and status in Prometheus text', async () => {
        await call('GET', '/json/metric-missing');
        await call('GET', '/json/metric-missing');
        const reply = await call('GET', '/metrics');
        expect(reply.headers.get('content-type')).toMatch(/^text\/plain/);
        const count =
          /http_requests_total\{method="GET",route="\/json\/:id",status="404"\} (\d+)/.exec(
            reply.text,
          );
        expect(Number(count?.[1])).toBeGreaterThanOrEqual(2);
        expect(reply.text).toMatch(
          /http_request_duration_seconds_bucket\{method="GET",route="\/json\/:id",status="404",le="\+Inf"\} \d+/,
        );
      });

      test('logs requests with their request id and never writes a bearer token, even at debug level', async () => {
        await call('POST', '/json', {
          body: '{}',
          headers: { ...auth(), ...asJson, 'X-Request-Id': 'logged-request' },
        });
        await call('POST', '/json', {
          body: '{}',
          headers: { Authorization: 'Bearer guessed-secret' },
        });
        await call('GET', '/json/x', { headers: auth(ROTATED_TOKEN) });
        expect(log.lines.length).toBeGreaterThan(0);
        const logged = log.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
        expect(logged).toContainEqual(
          expect.objectContaining({ reqId: 'logged-request', status: 400, method: 'POST' }),
        );
        await call('GET', '/json?limit=2&cursor=c2VjcmV0LWluLXF1ZXJ5');
        await call('GET', '/json/x?token=secret-in-query');
        expect(logged.length).toBeGreaterThan(0);
        const paths = log.lines
          .map((line) => JSON.parse(line) as Record<string, unknown>)
          .filter((line) => line.msg === 'request')
          .map((line) => line.path);
        expect(paths).toEqual(expect.arrayContaining(['/json', '/json/x']));
        expect(paths.every((path) => typeof path === 'string' && !path.includes('?'))).toBe(true);
        const all = log.lines.join('\n');
        expect(all).not.toContain(TOKEN);
        expect(all).not.toContain(ROTATED_TOKEN);
        expect(all).not.toContain('guessed-secret');
        expect(all).not.toContain('secret-in-query');
        expect(all).not.toContain('c2VjcmV0LWluLXF1ZXJ5');
      });
    });
  });
}
