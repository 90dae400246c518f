// examples/manual-rollback.sh, run with bash against small stand-ins for `aws`, `docker` and
// `curl` that record their calls: it sends the right SSM command, and the commands it sends,
// run with sh in an app directory, put the requested version into .env and restart it.
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { parseInputs } from '../../action/inputs.js';

const root = join(import.meta.dirname, '..', '..');
const script = join(root, 'examples', 'manual-rollback.sh');
const uri = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/challenge-app';
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'manual-rollback-'));
  await mkdir(join(dir, 'bin'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function stub(name: string, body: string): Promise<void> {
  const file = join(dir, 'bin', name);
  await writeFile(file, `#!/bin/bash\necho "${name} $*" >> "${dir}/calls.log"\n${body}\n`);
  await chmod(file, 0o755);
}

function run(
  command: string,
  args: string[],
  env: Record<string, string>,
  cwd = root,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd, env: { PATH: `${dir}/bin:/usr/bin:/bin`, ...env } },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function calls(): Promise<string[]> {
  return (await readFile(join(dir, 'calls.log'), 'utf8').catch(() => ''))
    .split('\n')
    .filter(Boolean);
}

describe('examples/manual-rollback.sh', () => {
  beforeEach(async () => {
    await stub(
      'aws',
      `case "$1 $2" in
  "ecr describe-repositories") echo "${uri}" ;;
  "ecr describe-images") echo "sha256:abc" ;;
  "ssm send-command")
    while [ $# -gt 0 ]; do [ "$1" = --parameters ] && printf '%s' "$2" > "${dir}/parameters.json"; shift; done
    echo "cmd-123" ;;
  "ssm wait") ;;
  "ssm get-command-invocation") printf 'Success\\thealthy on v6\\t\\n' ;;
  "ecr get-login-password") echo "password" ;;
esac`,
    );
  });

  it('sends one AWS-RunShellScript command to the instances and reports each one', async () => {
    const result = await run('bash', [script, 'v6', 'i-0123456789abcdef0', 'i-0fedcba9876543210'], {
      AWS_REGION: 'eu-west-1',
      ECR_REPOSITORY: 'challenge-app',
    });
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain(
      `Rolling i-0123456789abcdef0 i-0fedcba9876543210 back to ${uri}:v6`,
    );
    expect(result.stdout).toContain('== i-0fedcba9876543210\nSuccess\thealthy on v6');
    expect(result.code).toBe(0);
    const sent = (await calls()).find((c) => c.startsWith('aws ssm send-command'));
    expect(sent).toContain('--document-name AWS-RunShellScript');
    expect(sent).toContain('--instance-ids i-0123456789abcdef0 i-0fedcba9876543210');
    const parameters = JSON.parse(await readFile(join(dir, 'parameters.json'), 'utf8')) as {
      commands: string[];
      executionTimeout: string[];
    };
    expect(parameters.executionTimeout).toEqual(['420']);
    expect(parameters.commands).toContain('cd /opt/challenge-app');
  });

  it('sends commands that switch .env to the version, keep the other lines and wait for health', async () => {
    await run('bash', [script, 'v6', 'i-0123456789abcdef0'], {
      AWS_REGION: 'eu-west-1',
      ECR_REPOSITORY: 'challenge-app',
      APP_DIR: `${dir}/app`,
    });
    const { commands } = JSON.parse(await readFile(join(dir, 'parameters.json'), 'utf8')) as {
      commands: string[];
    };
    // The instance: an app dir on v8, docker with compose v2, and a health check answering v6.
    await mkdir(join(dir, 'app'));
    await writeFile(
      join(dir, 'app', '.env'),
      `IMAGE=${uri}:v8\nAPP_VERSION=v8\nAPI_TOKEN=secret\nDATABASE_URL=postgres://db/app\n`,
    );
    await stub('docker', '[ "$1" = login ] && cat > /dev/null; exit 0');
    await stub(
      'curl',
      `echo '{"status": "ok", "version": "v6", "instance": "i-0123456789abcdef0"}'`,
    );
    await writeFile(join(dir, 'commands.sh'), commands.join('\n') + '\n');
    const result = await run('sh', [join(dir, 'commands.sh')], {});
    expect(result.stdout).toContain('healthy on v6');
    expect(result.code).toBe(0);
    expect(await readFile(join(dir, 'app', '.env'), 'utf8')).toBe(
      `API_TOKEN=secret\nDATABASE_URL=postgres://db/app\nIMAGE=${uri}:v6\nAPP_VERSION=v6\n`,
    );
    expect(await calls()).toEqual(
      expect.arrayContaining([
        'aws ecr get-login-password --region eu-west-1',
        'docker login --username AWS --password-stdin 123456789012.dkr.ecr.eu-west-1.amazonaws.com',
        'docker compose pull',
        'docker compose up -d',
      ]),
    );
  });

  it('refuses a version or an instance id that does not look like one, before any AWS call', async () => {
    const env = { AWS_REGION: 'eu-west-1', ECR_REPOSITORY: 'challenge-app' };
    const badVersion = await run('bash', [script, 'v6; rm -rf /', 'i-0123456789abcdef0'], env);
    expect(badVersion.stderr).toContain(
      "version must look like v6 (TAG_PREFIX=v), got 'v6; rm -rf /'",
    );
    expect(badVersion.code).toBe(2);
    const badId = await run('bash', [script, 'v6', 'i-$(reboot)'], env);
    expect(badId.stderr).toContain("not an instance id: 'i-$(reboot)'");
    expect(await calls()).toEqual([]);
  });

  it('takes the tag prefix from TAG_PREFIX, as the action takes tag-prefix', async () => {
    const env = {
      AWS_REGION: 'eu-west-1',
      ECR_REPOSITORY: 'challenge-app',
      TAG_PREFIX: 'release-',
    };
    const wrongPrefix = await run('bash', [script, 'v6', 'i-0123456789abcdef0'], env);
    expect(wrongPrefix.stderr).toContain(
      "version must look like release-6 (TAG_PREFIX=release-), got 'v6'",
    );
    expect(wrongPrefix.code).toBe(2);
    const result = await run('bash', [script, 'release-6', 'i-0123456789abcdef0'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`back to ${uri}:release-6`);
  });

  it('accepts exactly the tag prefixes the action accepts (one rule, two languages)', async () => {
    const candidates = [
      'v',
      'V',
      'release-',
      'rel.',
      '_x',
      'app_v',
      'v1',
      '1v',
      '-v',
      'a b',
      'v$',
      'é',
      'x'.repeat(64),
      'x'.repeat(65),
    ];
    const actionAccepts = (prefix: string): boolean => {
      const inputs: Record<string, string> = {
        'ecr-repository': 'challenge-app',
        'aws-region': 'eu-west-1',
        'source-tag': 'latest',
        'instance-ids': 'i-0123456789abcdef0',
        'tag-prefix': prefix,
      };
      try {
        parseInputs((name) => inputs[name] ?? '');
        return true;
      } catch {
        return false;
      }
    };
    for (const prefix of candidates) {
      const result = await run('bash', [script, `${prefix}6`, 'i-0123456789abcdef0'], {
        AWS_REGION: 'eu-west-1',
        ECR_REPOSITORY: 'challenge-app',
        TAG_PREFIX: prefix,
      });
      const scriptAccepts = !result.stderr.includes('TAG_PREFIX must');
      expect({ prefix, accepted: scriptAccepts }).toEqual({
        prefix,
        accepted: actionAccepts(prefix),
      });
    }
  });

  it("accepts exactly the instance ids the action accepts (SSM's pattern)", async () => {
    const candidates = [
      'i-12345678',
      'i-0123456789abcdef0',
      'mi-0123456789abcdef0',
      'i-1234567',
      'i-123456789',
      'mi-12345678',
      'i-0123456789ABCDEF0',
      'x-12345678',
      'i-0123456789abcdef0;',
    ];
    const actionAccepts = (id: string): boolean => {
      const inputs: Record<string, string> = {
        'ecr-repository': 'challenge-app',
        'aws-region': 'eu-west-1',
        'source-tag': 'latest',
        'instance-ids': id,
      };
      try {
        parseInputs((name) => inputs[name] ?? '');
        return true;
      } catch {
        return false;
      }
    };
    for (const id of candidates) {
      const result = await run('bash', [script, 'v6', id], {
        AWS_REGION: 'eu-west-1',
        ECR_REPOSITORY: 'challenge-app',
      });
      const scriptAccepts = !result.stderr.includes('not an instance id');
      expect({ id, accepted: scriptAccepts }).toEqual({ id, accepted: actionAccepts(id) });
    }
  });
});
