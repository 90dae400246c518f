// `npm run check:balance` against the real service: two `service/main.ts` processes behind a
// round-robin proxy, sharing one SQLite file (a shared store) or each with its own (not shared).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { startRoundRobinProxy, type FakeFleet } from './support/fake-fleet.js';

const root = join(import.meta.dirname, '..', '..');
const token = 'check-balance-test-token';
const started: ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const child of started.splice(0)) {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  }
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** Starts the service on a free port and resolves once it logs that it listens. */
function startService(instance: string, databaseUrl: string): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'service', 'main.ts')], {
    cwd: root,
    env: {
      ...process.env,
      PORT: '0',
      INSTANCE_ID: instance,
      APP_VERSION: 'v7',
      API_TOKEN: token,
      DATABASE_URL: databaseUrl,
      LOG_LEVEL: 'info',
      WEB_CONCURRENCY: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const port = /"port":(\d+)/.exec(output)?.[1];
      if (port) resolve(Number(port));
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`service exited with ${code}: ${output}`)));
  });
}

async function fleetOf(databaseUrls: string[]): Promise<FakeFleet> {
  const ports = await Promise.all(databaseUrls.map((url, i) => startService(`i-0${i + 1}`, url)));
  const proxy = await startRoundRobinProxy(ports);
  cleanups.push(proxy.close);
  return proxy;
}

async function temporaryDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'check-balance-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function checkBalance(url: string): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [
        '--import',
        'tsx',
        join(root, 'scripts', 'check-balance.ts'),
        '--url',
        url,
        '--requests',
        '10',
        '--expect-version',
        'v7',
        '--expect-instances',
        '2',
      ],
      { cwd: root, env: { ...process.env, API_TOKEN: token } },
      (error, stdout) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout }),
    );
  });
}

describe('npm run check:balance against the real service', () => {
  it('passes on two instances that share one store', async () => {
    const dir = await temporaryDir();
    const shared = join(dir, 'shared.sqlite');
    const fleet = await fleetOf([shared, shared]);
    const result = await checkBalance(fleet.url);
    expect(result.stdout).toMatch(/i-01\s+5\s+50\.0%\s+v7/);
    expect(result.stdout).toMatch(/i-02\s+5\s+50\.0%\s+v7/);
    // The service names the answering instance (X-Instance-Id), so the read-back is exact.
    expect(result.stdout).toMatch(
      /PASS\s+read-back every instance returned the document \((i-0[12]): \d+, (?!\1)i-0[12]: \d+\)/,
    );
    expect(result.stdout).toMatch(/PASS\s+cleanup\s+DELETE/);
    expect(result.code).toBe(0);
  });

  it('fails when each instance has a store of its own', async () => {
    const dir = await temporaryDir();
    const fleet = await fleetOf([join(dir, 'one.sqlite'), join(dir, 'two.sqlite')]);
    const result = await checkBalance(fleet.url);
    expect(result.stdout).toMatch(/FAIL\s+read-back read \d+: .* with 404 .*does not see writes/);
    expect(result.code).toBe(1);
  });
});
