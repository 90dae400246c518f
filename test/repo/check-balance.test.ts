// `npm run check:balance` against a real fleet on real ports: node:http instances behind a
// round-robin proxy. The command runs as a child process, the way the deploy workflow runs it.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  fleetToken,
  startFakeFleet,
  type FakeFleet,
  type FakeInstance,
} from './support/fake-fleet.js';

const root = join(import.meta.dirname, '..', '..');
let fleet: FakeFleet | undefined;

afterEach(async () => {
  await fleet?.close();
  fleet = undefined;
});

function checkBalance(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join(root, 'scripts', 'check-balance.ts'), ...args],
      { cwd: root, env: { ...process.env, API_TOKEN: '', ...env } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function instances(count: number, overrides: Partial<FakeInstance> = {}): FakeInstance[] {
  const store = new Map<string, unknown>();
  return Array.from({ length: count }, (_, i) => ({
    instance: `i-0${i + 1}`,
    version: 'v7',
    store,
    instanceHeader: 'x-instance-id',
    ...overrides,
  }));
}

describe('npm run check:balance', () => {
  it('prints how requests spread over the instances and passes when every check does', async () => {
    fleet = await startFakeFleet(instances(3));
    const result = await checkBalance(
      ['--url', fleet.url, '--requests', '12', '--expect-version', 'v7', '--expect-instances', '3'],
      { API_TOKEN: fleetToken },
    );
    expect(result.stdout).toMatch(/i-01\s+4\s+33\.3%\s+v7/);
    expect(result.stdout).toMatch(/i-02\s+4\s+33\.3%\s+v7/);
    expect(result.stdout).toMatch(/i-03\s+4\s+33\.3%\s+v7/);
    expect(result.stdout).toMatch(/PASS\s+version\s+every instance reports v7/);
    expect(result.stdout).toMatch(/PASS\s+write\s+POST \/json created check-balance-/);
    expect(result.stdout).toMatch(
      /PASS\s+read-back every instance returned the document \(i-0\d: \d/,
    );
    expect(result.stdout).toMatch(/PASS\s+cleanup\s+DELETE \/json\/check-balance-\S+ \(204\)/);
    expect(result.stdout).toContain('All checks passed.');
    expect(result.code).toBe(0);
  });

  it('leaves no document behind', async () => {
    const fakes = instances(2);
    fleet = await startFakeFleet(fakes);
    const result = await checkBalance(['--url', fleet.url, '--requests', '4'], {
      API_TOKEN: fleetToken,
    });
    expect(result.code).toBe(0);
    expect(fakes[0]!.store.size).toBe(0);
  });

  it('fails and names the instance that still runs another version', async () => {
    const fakes = instances(3);
    fakes[1]!.version = 'v6';
    fleet = await startFakeFleet(fakes);
    const result = await checkBalance([
      '--url',
      fleet.url,
      '--requests',
      '6',
      '--expect-version',
      'v7',
    ]);
    expect(result.stdout).toMatch(/FAIL\s+version\s+expected v7: i-02 reports v6/);
    expect(result.stdout).toContain('1 check(s) failed.');
    expect(result.code).toBe(1);
  });

  it('fails when an instance does not see a document written through another one', async () => {
    const fakes = instances(3);
    fakes[2]!.store = new Map(); // its own store instead of the shared one
    fleet = await startFakeFleet(fakes);
    const result = await checkBalance(['--url', fleet.url, '--requests', '6'], {
      API_TOKEN: fleetToken,
    });
    expect(result.stdout).toMatch(
      /FAIL\s+read-back read \d+: i-03 answered GET \/json\/check-balance-\S+ with 404 .*does not see writes made through another instance/,
    );
    expect(result.code).toBe(1);
  });

  it('reads back without naming instances when the service does not say which one answered', async () => {
    fleet = await startFakeFleet(instances(3, { instanceHeader: undefined }));
    const result = await checkBalance(['--url', fleet.url, '--requests', '6'], {
      API_TOKEN: fleetToken,
    });
    // 3 instances: 26 reads reach each of them even through a random balancer (> 99.99 %).
    expect(result.stdout).toMatch(/PASS\s+read-back 26\/26 reads returned the document/);
    expect(result.code).toBe(0);
  });

  it('fails when the write is refused, for example with a wrong token', async () => {
    fleet = await startFakeFleet(instances(2));
    const result = await checkBalance(['--url', fleet.url, '--requests', '4'], {
      API_TOKEN: 'wrong',
    });
    expect(result.stdout).toMatch(/FAIL\s+write\s+POST \/json answered 401/);
    expect(result.code).toBe(1);
  });

  it('skips the write check, visibly, when API_TOKEN is not set', async () => {
    fleet = await startFakeFleet(instances(2));
    const result = await checkBalance(['--url', fleet.url, '--requests', '4']);
    expect(result.stdout).toMatch(/SKIP\s+write\s+API_TOKEN is not set/);
    expect(result.code).toBe(0);
  });

  it('fails when fewer instances answer than expected or some answer unhealthy', async () => {
    const fakes = instances(2);
    fakes[1]!.healthStatus = 503;
    fleet = await startFakeFleet(fakes);
    const result = await checkBalance([
      '--url',
      fleet.url,
      '--requests',
      '4',
      '--expect-instances',
      '2',
    ]);
    expect(result.stdout).toMatch(/FAIL\s+health\s+2\/4 requests to \/health failed: HTTP 503/);
    expect(result.stdout).toMatch(/FAIL\s+instances only 1 of 2 expected instances answered/);
    expect(result.code).toBe(1);
  });

  it('fails clearly when nothing answers at the URL', async () => {
    const result = await checkBalance(['--url', 'http://127.0.0.1:9', '--requests', '2']);
    expect(result.stdout).toMatch(
      /FAIL\s+health\s+2\/2 requests to \/health failed: .*ECONNREFUSED/,
    );
    expect(result.code).toBe(1);
  });

  it('rejects a usage error with exit code 2 and the usage text', async () => {
    const result = await checkBalance(['--requests', '3']);
    expect(result.stderr).toContain('--url is required');
    expect(result.stderr).toContain('Usage: npm run check:balance');
    expect(result.code).toBe(2);
  });
});
