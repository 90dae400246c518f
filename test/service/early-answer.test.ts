// Answers given before the request body has arrived (401, 413) reach real clients, and an
// unread body is read only within bounds (service/unread-body.ts).
import { execFile } from 'node:child_process';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { startServer, type RunningServer } from '../../service/server.js';
import { SqliteStore } from '../../service/store/sqlite.js';
import { capturedLogger } from './support/http.js';

const TOKEN = 'early-answer-token-0123456789';
const LIMIT = 4096;
const MB = 1024 * 1024;

let server: RunningServer;
let dir: string;
/** Bytes the server read from each connection, known once it closed. */
const bytesRead: number[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'early-answer-'));
  await writeFile(join(dir, '2mb.json'), ' '.repeat(2 * MB));
  await writeFile(join(dir, 'small.json'), JSON.stringify({ id: 'continued', data: { ok: 1 } }));
  server = await startServer({
    store: new SqliteStore(':memory:'),
    logger: capturedLogger('silent').logger,
    port: 0,
    host: '127.0.0.1',
    apiTokens: [TOKEN],
    bodyLimitBytes: LIMIT,
    appVersion: 'v1',
    instanceId: 'i',
  });
  server.server.on('connection', (socket: Socket) =>
    socket.once('close', () => bytesRead.push(socket.bytesRead)),
  );
});
afterAll(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

/**
 * Node's fetch in a process of its own (in this process it would share the server's event loop,
 * which hides the race), posting bodies streamed in 64 KB chunks (chunked, no Content-Length).
 * Prints one status or error code per attempt.
 */
const FETCH_STREAMING = `
const [url, size, token, attempts] = process.argv.slice(1);
for (let i = 0; i < Number(attempts); i++) {
  let sent = 0;
  const body = new ReadableStream({
    pull(controller) {
      if (sent >= Number(size)) return controller.close();
      const n = Math.min(65536, Number(size) - sent);
      sent += n;
      controller.enqueue(new Uint8Array(n).fill(32));
    },
  });
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = 'Bearer ' + token;
  try {
    const reply = await fetch(url, { method: 'POST', body, duplex: 'half', headers });
    await reply.text();
    console.log(reply.status);
  } catch (error) {
    console.log(error.cause?.code ?? error.message);
  }
}
`;

function run(file: string, args: string[]): Promise<string> {
  return new Promise((resolve) =>
    execFile(file, args, { timeout: 30_000 }, (error, stdout, stderr) =>
      resolve(error ? `failed: ${stderr || error.message}` : stdout.trim()),
    ),
  );
}

const PYTHON_POST = `
import sys, urllib.request, urllib.error
url, size, token = sys.argv[1], int(sys.argv[2]), sys.argv[3]
headers = {'Content-Type': 'application/json'}
if token: headers['Authorization'] = 'Bearer ' + token
try:
    urllib.request.urlopen(urllib.request.Request(url, data=b' ' * size, headers=headers, method='POST'))
    print('no error')
except urllib.error.HTTPError as e:
    print(e.code)
except Exception as e:
    print(type(e).__name__, e)
`;

describe('an answer given before the body has arrived', () => {
  const fetchStreaming = (size: number, token: string) =>
    run(process.execPath, [
      '--input-type=module',
      '-e',
      FETCH_STREAMING,
      `${server.url}/json`,
      String(size),
      token,
      '5',
    ]);

  test('reaches Node fetch streaming a body over the limit: 413, every time', async () => {
    expect((await fetchStreaming(MB, TOKEN)).split('\n')).toEqual(Array(5).fill('413'));
  });

  test('reaches Node fetch streaming a body without a token: 401, every time', async () => {
    expect((await fetchStreaming(MB, '')).split('\n')).toEqual(Array(5).fill('401'));
  });

  test('reaches curl, with a Content-Length and chunked', async () => {
    const curl = (...extra: string[]) =>
      run('curl', [
        '-sS',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        '-H',
        'Content-Type: application/json',
        ...extra,
        '--data-binary',
        `@${join(dir, '2mb.json')}`,
        `${server.url}/json`,
      ]);
    const auth = ['-H', `Authorization: Bearer ${TOKEN}`];
    expect(await curl(...auth)).toBe('413');
    expect(await curl(...auth, '-H', 'Transfer-Encoding: chunked')).toBe('413');
    expect(await curl()).toBe('401');
  });

  test('asks a client that sends Expect: 100-continue for the body only when it will be read', async () => {
    const curl = (file: string, ...headers: string[]) =>
      run('curl', [
        '-sS',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code} %{size_upload}',
        '-H',
        'Content-Type: application/json',
        '-H',
        'Expect: 100-continue',
        ...headers.flatMap((header) => ['-H', header]),
        '--data-binary',
        `@${join(dir, file)}`,
        `${server.url}/json`,
      ]);
    const auth = `Authorization: Bearer ${TOKEN}`;
    // Refused before the body is read: curl is told so and uploads nothing.
    expect(await curl('2mb.json')).toBe('401 0');
    expect(await curl('2mb.json', auth)).toBe('413 0');
    // Accepted: the 100 goes out when the body is read, and the document is created.
    expect(await curl('small.json', auth)).toMatch(/^201 [1-9]\d*$/);
  });

  test("reaches Python's urllib, which sends the whole body (and Connection: close) before reading", async () => {
    const python = (size: number, token: string) =>
      run('python3', ['-c', PYTHON_POST, `${server.url}/json`, String(size), token]);
    expect(await python(2 * MB, TOKEN)).toBe('413');
    expect(await python(6 * MB, TOKEN)).toBe('413');
    expect(await python(6 * MB, '')).toBe('401');
  });

  test('stops reading a 100 MB unauthenticated upload after a bounded part of it', async () => {
    const before = bytesRead.length;
    const socket = connect(server.port, '127.0.0.1');
    socket.on('error', () => undefined); // the cut is expected
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.write(
      'POST /json HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
        `Content-Length: ${100 * MB}\r\n\r\n`,
    );
    const chunk = Buffer.alloc(256 * 1024, 0x20);
    let written = 0;
    while (written < 100 * MB && !socket.destroyed) {
      written += chunk.length;
      if (!socket.write(chunk)) {
        await Promise.race([new Promise((resolve) => socket.once('drain', resolve)), closed]);
      }
    }
    socket.end();
    await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 401 /);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const read = bytesRead.slice(before);
    expect(read).toHaveLength(1);
    expect(read[0]).toBeLessThan(16 * MB);
  });
});
