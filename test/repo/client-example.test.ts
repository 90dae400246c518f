// The typed client of examples/client: its types are the ones the OpenAPI document generates
// today, it compiles as a consumer's project would, and it runs green against the service.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { runExample } from '../../examples/client/example.js';
import { clientTypes, committedClientTypes } from '../../scripts/client-types.js';
import { startServer, type RunningServer } from '../../service/server.js';
import { SqliteStore } from '../../service/store/sqlite.js';
import { capturedLogger, request } from '../service/support/http.js';

const root = join(import.meta.dirname, '..', '..');
const TOKEN = 'client-example-token';

describe('examples/client', () => {
  test('has the types openapi-typescript generates from the OpenAPI document today', async () => {
    const committed = await committedClientTypes(root);
    // Out of date? Run `npm run client:types` and commit examples/client/api.d.ts.
    expect(committed).toBe(await clientTypes(root));
  });

  test('type-checks with tsc as a project of its own', async () => {
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await new Promise<{ code: number; output: string }>((resolve) => {
      execFile(
        process.execPath,
        [tsc, '-p', join(root, 'examples', 'client')],
        (error, stdout, stderr) =>
          resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr }),
      );
    });
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  }, 60_000);

  describe('run against the service', () => {
    const dir = mkdtempSync(join(tmpdir(), 'client-example-'));
    let server: RunningServer;

    beforeAll(async () => {
      server = await startServer({
        store: new SqliteStore(join(dir, 'client.sqlite')),
        logger: capturedLogger('silent').logger,
        port: 0,
        host: '127.0.0.1',
        apiTokens: [TOKEN],
        bodyLimitBytes: 65536,
        appVersion: 'v1',
        instanceId: 'i-client',
      });
    });
    afterAll(async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    test('creates, reads, updates with the ETag, merges a patch, lists with the cursor and deletes', async () => {
      // Others' documents, so the list takes several pages.
      for (const id of ['other-1', 'other-2', 'other-3']) {
        const reply = await request(server.url, 'POST', '/json', {
          body: JSON.stringify({ id, data: {} }),
          headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
        });
        expect(reply.status).toBe(201);
      }
      const lines: string[] = [];
      const outcome = await runExample({
        baseUrl: server.url,
        token: TOKEN,
        log: (line) => lines.push(line),
      });

      expect(outcome.versions).toEqual([1, 2, 3]);
      expect(outcome.staleWriteStatus).toBe(412);
      expect(outcome.listedIds.sort()).toEqual(
        ['other-1', 'other-2', 'other-3', outcome.id].sort(),
      );
      expect(outcome.listedPages).toBe(3); // limit 2: 2 + 2 + an empty last page
      expect(outcome.afterDelete).toBe(404);
      expect(lines.find((line) => line.startsWith('patched'))).toBe(
        `patched ${outcome.id}: {"key":"new value","other":1}`,
      );
      // It really happened: the document is gone, the others are untouched.
      expect((await request(server.url, 'GET', `/json/${outcome.id}`)).status).toBe(404);
      expect((await request(server.url, 'GET', '/json/other-1')).json.version).toBe(1);
    });

    test('reports a refused write with the service’s problem detail', async () => {
      await expect(
        runExample({ baseUrl: server.url, token: 'wrong-token', log: () => {} }),
      ).rejects.toThrow(/^create: HTTP 401: /);
    });
  });
});
