// The curl examples of service/README.md's API section, run as written against the real service.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

const root = join(import.meta.dirname, '..', '..');
const token = 'readme-example-token';
let service: ChildProcess | undefined;
let port = 0;
let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'readme-api-'));
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'service', 'main.ts')], {
    cwd: root,
    env: {
      ...process.env,
      PORT: '0',
      API_TOKEN: token,
      DATABASE_URL: join(dir, 'documents.sqlite'),
      APP_VERSION: 'v7',
      INSTANCE_ID: 'i-0abc123',
      WEB_CONCURRENCY: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  service = child;
  port = await new Promise<number>((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const found = /"port":(\d+)/.exec(output)?.[1];
      if (found) resolve(Number(found));
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`service exited with ${code}: ${output}`)));
  });
});

afterAll(async () => {
  if (service && service.exitCode === null) {
    const exited = new Promise((resolve) => service!.once('exit', resolve));
    service.kill('SIGTERM');
    await exited;
  }
  await rm(dir, { recursive: true, force: true });
});

async function apiExamples(): Promise<string> {
  const readme = await readFile(join(root, 'service', 'README.md'), 'utf8');
  const start = readme.indexOf('\n## The API\n');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const block = /```bash\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('service/README.md: no bash block in the API section');
  return block;
}

describe("service/README.md's API examples", () => {
  it('all succeed, in order, against the real service', async () => {
    const examples = (await apiExamples()).replaceAll('http://HOST', `http://127.0.0.1:${port}`);
    expect(examples.match(/^curl /gm)?.length).toBeGreaterThanOrEqual(8);
    // Every curl fails the script on an HTTP error and prints what it got.
    const script = `set -euo pipefail
curl() { command curl -sS --fail-with-body -w ' [%{http_code}]\\n' "$@"; }
${examples}`;
    const result = await new Promise<{ code: number; stdout: string; stderr: string }>(
      (resolve) => {
        execFile(
          'bash',
          ['-c', script],
          { env: { ...process.env, API_TOKEN: token } },
          (error, stdout, stderr) =>
            resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
        );
      },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const statuses = [...result.stdout.matchAll(/\[(\d{3})\]/g)].map((m) => m[1]);
    // The ETag read's status goes into $(…), not the output.
    expect(statuses).toEqual(['200', '201', '200', '200', '200', '200', '200', '204']);
    expect(result.stdout).toContain('{"status":"ok","version":"v7","instance":"i-0abc123"}');
    expect(result.stdout).toContain('"data":{"key":"newer value","other":1}');
  });

  it("accept the original project's examples, without a Content-Type header", async () => {
    const original = `set -euo pipefail
HOST=127.0.0.1:${port}
curl -sS --fail-with-body -X POST http://$HOST/json -H "Authorization: Bearer \${API_TOKEN}" -d '{"id": "original", "data": {"key": "value"}}'
curl -sS --fail-with-body -X PUT http://$HOST/json/original -H "Authorization: Bearer \${API_TOKEN}" -d '{"key": "new value"}'
curl -sS --fail-with-body http://$HOST/json/original
curl -sS --fail-with-body -X DELETE http://$HOST/json/original -H "Authorization: Bearer \${API_TOKEN}"`;
    const result = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(
        'bash',
        ['-c', original],
        { env: { ...process.env, API_TOKEN: token } },
        (error, stdout) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout }),
      );
    });
    expect(result.stdout).toContain('"data":{"key":"new value"}');
    expect(result.code).toBe(0);
  });
});
