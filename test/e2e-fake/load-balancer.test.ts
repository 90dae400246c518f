// The end-to-end suite's load balancer (haproxy, e2e/infra/haproxy.ts) must not fail a client
// request by itself. A client's idle connection has to outlive neither the balancer's idle
// timeout nor its own: haproxy once passed on the service's `Keep-Alive: timeout=65`, so undici
// kept connections idle past haproxy's 10 s, and a request sent as haproxy closed one (the
// client's event loop busy, as the suite's is under load) failed with UND_ERR_SOCKET.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, startLoadBalancer, type LoadBalancer } from '../../e2e/infra/haproxy.js';
import { Processes } from '../../e2e/infra/processes.js';
import { KEEP_ALIVE_TIMEOUT_MS } from '../../service/server.js';

function haproxyInstalled(): boolean {
  try {
    execFileSync('haproxy', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Keeps the event loop busy, as a loaded test process is when a connection's FIN arrives. */
function busy(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // spin
  }
}

describe('the e2e load balancer and keep-alive', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lb-test-'));
  const processes = new Processes();
  let backend: ChildProcess;
  let lb: LoadBalancer;

  beforeAll(async () => {
    // haproxy comes with e2e/install-deps.sh, which .ci/run runs before npm test.
    if (!haproxyInstalled())
      throw new Error('haproxy is not installed: run sudo bash e2e/install-deps.sh');
    // Its own process: the busy loop below must not stall the answers to haproxy's checks.
    const port = await freePort();
    backend = spawn(
      process.execPath,
      [
        '-e',
        `const s = require('node:http').createServer((q, r) => { q.resume(); q.on('end', () => r.end('ok')); });
         s.keepAliveTimeout = ${KEEP_ALIVE_TIMEOUT_MS};
         s.listen(${port}, '127.0.0.1', () => console.log('listening'));`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise((resolve, reject) => {
      backend.stdout?.once('data', resolve);
      backend.once('exit', reject);
    });
    lb = await startLoadBalancer(
      dir,
      [{ name: 'app', address: '127.0.0.1', port }],
      { listen: `127.0.0.1:${await freePort()}`, target: '127.0.0.1:9' },
      processes,
    );
  }, 30_000);

  afterAll(async () => {
    await processes.stopAll();
    backend?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it("does not pass the service's connection-specific Keep-Alive hint on to clients", async () => {
    const res = await fetch(`${lb.url}/`);
    await res.text();
    expect(res.status).toBe(200);
    expect(res.headers.get('keep-alive')).toBeNull();
  });

  it('answers requests sent on connections idle for 10 s, the event loop busy at that moment', async () => {
    const round = (method: string) =>
      Promise.all(
        Array.from({ length: 8 }, async () => {
          const res = await fetch(`${lb.url}/`, { method, body: method === 'POST' ? 'x' : null });
          return res.text();
        }),
      );
    // Eight at once: eight connections in the client's pool.
    await round('GET');
    await new Promise((resolve) => setTimeout(resolve, 9_800));
    busy(600);
    expect(await round('POST')).toEqual(Array(8).fill('ok'));
  }, 20_000);
});
