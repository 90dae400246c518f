// examples/instance/user-data.sh, run with bash against stand-ins for the package managers,
// systemctl, docker and the instance metadata service (curl): it installs what the instance
// contract needs and leaves app-dir ready for the first deploy.
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { USER_DATA, userDataDrift } from '../../scripts/generated-docs.js';

const root = join(import.meta.dirname, '..', '..');
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'user-data-'));
  await mkdir(join(dir, 'bin'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function stub(name: string, body = ''): Promise<void> {
  const file = join(dir, 'bin', name);
  await writeFile(file, `#!/bin/bash\necho "${name} $*" >> "${dir}/calls.log"\n${body}\n`);
  await chmod(file, 0o755);
}

async function instance(
  osRelease: string,
): Promise<{ code: number; output: string; calls: string[] }> {
  await writeFile(join(dir, 'os-release'), osRelease);
  for (const name of ['apt-get', 'dnf', 'systemctl']) await stub(name);
  // `snap list` finds nothing installed, so the script installs what it needs.
  await stub('snap', '[ "$1" = list ] && exit 1; exit 0');
  // Compose v2 is there once a package or the plugin download provided it.
  await stub(
    'docker',
    `if [ "$1" = login ]; then cat > "${dir}/login-password"; fi
if [ "$1 $2" = "compose version" ]; then
  grep -q docker-compose-v2 "${dir}/calls.log" || [ -x "${dir}/plugins/docker-compose" ] || exit 1
  echo "Docker Compose version v2"
fi`,
  );
  // IMDSv2 and the Compose release download.
  await stub(
    'curl',
    `out=""; url=""
while [ $# -gt 0 ]; do case "$1" in -o) out="$2"; shift ;; http*) url="$1" ;; esac; shift; done
case "$url" in
  */api/token) echo "imds-token" ;;
  */meta-data/instance-id) echo "i-0123456789abcdef0" ;;
  */meta-data/placement/region) echo "eu-west-1" ;;
  *.sha256) echo "$(printf 'plugin' | sha256sum | cut -d' ' -f1)  docker-compose-linux-x86_64" > "$out" ;;
  *) printf 'plugin' > "$out" ;;
esac`,
  );
  // Parameter Store answers from release.json / parameters.tsv when a test wrote them.
  await stub(
    'aws',
    `case "$1 $2" in
  "ssm get-parameter") [ -f "${dir}/release.json" ] || exit 254; cat "${dir}/release.json" ;;
  "ssm get-parameters-by-path") cat "${dir}/parameters.tsv" ;;
  "ecr get-login-password") echo "ecr-password" ;;
esac`,
  );
  const result = await new Promise<{ code: number; output: string }>((resolve) => {
    execFile(
      'bash',
      [join(root, USER_DATA)],
      {
        env: {
          PATH: `${dir}/bin:/usr/bin:/bin`,
          APP_DIR: join(dir, 'app'),
          OS_RELEASE: join(dir, 'os-release'),
          COMPOSE_PLUGIN_DIR: join(dir, 'plugins'),
        },
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr }),
    );
  });
  const log = await readFile(join(dir, 'calls.log'), 'utf8').catch(() => '');
  const calls = log.split('\n').filter(Boolean);
  return { ...result, calls };
}

async function expectAppDirReady(): Promise<void> {
  expect(await readFile(join(dir, 'app', 'docker-compose.yml'), 'utf8')).toBe(
    await readFile(join(root, 'service', 'docker-compose.yml'), 'utf8'),
  );
  const env = await readFile(join(dir, 'app', '.env'), 'utf8');
  expect(env).toBe(
    'INSTANCE_ID=i-0123456789abcdef0\nDATABASE_URL=postgres://USER:PASSWORD@DB_HOST:5432/DB_NAME\nAPI_TOKEN=CHANGE_ME\nSHUTDOWN_DELAY=25\n',
  );
  expect((await stat(join(dir, 'app', '.env'))).mode & 0o777).toBe(0o600);
}

describe('examples/instance/user-data.sh', () => {
  it('holds the same compose file as service/docker-compose.yml (run `npm run docs` if not)', async () => {
    expect((await userDataDrift(root)).map((d) => d.path)).toEqual([]);
  });

  it('sets up an Ubuntu instance: Docker, Compose v2, AWS CLI, SSM agent, app-dir', async () => {
    const result = await instance('ID=ubuntu\nPRETTY_NAME="Ubuntu 24.04 LTS"\n');
    expect(result.output).toContain('[user-data] ready for the first deploy');
    expect(result.code).toBe(0);
    expect(result.calls).toEqual(
      expect.arrayContaining([
        'apt-get install -y -q docker.io docker-compose-v2 curl',
        'snap install amazon-ssm-agent --classic',
        'systemctl enable --now snap.amazon-ssm-agent.amazon-ssm-agent.service',
        'snap install aws-cli --classic',
        'systemctl enable --now docker',
      ]),
    );
    await expectAppDirReady();
  });

  it('sets up Amazon Linux 2023, downloading and verifying the Compose plugin', async () => {
    const result = await instance('ID=amzn\nPRETTY_NAME="Amazon Linux 2023"\n');
    expect(result.output).toContain('installing the Compose v2 plugin v2.29.7');
    expect(result.output).toContain('docker-compose: OK');
    expect(result.code).toBe(0);
    expect(result.calls).toEqual(
      expect.arrayContaining([
        'dnf install -y docker awscli-2 amazon-ssm-agent',
        'systemctl enable --now amazon-ssm-agent',
        'systemctl enable --now docker',
      ]),
    );
    expect((await stat(join(dir, 'plugins', 'docker-compose'))).mode & 0o777).toBe(0o755);
    await expectAppDirReady();
  });

  it('starts the release named in release-parameter, with the env-from-ssm parameters', async () => {
    const image = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/challenge-app:v9';
    await writeFile(
      join(dir, 'release.json'),
      JSON.stringify({
        version: 'v9',
        image,
        digest: 'sha256:abc',
        commit: 'abc',
        run: 'https://x',
      }),
    );
    await writeFile(
      join(dir, 'parameters.tsv'),
      '/APP_PARAMETER_PATH/FEATURE_X\ton $(touch PWNED)\n/APP_PARAMETER_PATH/db/PASSWORD\ts3cret\n',
    );
    const result = await instance('ID=ubuntu\nPRETTY_NAME="Ubuntu 24.04 LTS"\n');
    expect(result.code).toBe(0);
    expect(result.output).toContain('[user-data] ready: v9 runs in');
    expect(result.output).not.toContain('s3cret');
    expect(result.calls).toEqual(
      expect.arrayContaining([
        'aws ssm get-parameter --region eu-west-1 --name /APP_RELEASE_PARAMETER --query Parameter.Value --output text',
        'aws ssm get-parameters-by-path --region eu-west-1 --path /APP_PARAMETER_PATH/ --recursive --with-decryption --query Parameters[].[Name,Value] --output text',
        'docker login --username AWS --password-stdin 123456789012.dkr.ecr.eu-west-1.amazonaws.com',
        'docker compose pull',
        'docker compose up -d',
      ]),
    );
    const env = await readFile(join(dir, 'app', '.env'), 'utf8');
    expect(env).toContain("FEATURE_X='on $(touch PWNED)'\nPASSWORD='s3cret'\n");
    expect(env.endsWith(`IMAGE=${image}\nAPP_VERSION=v9\n`)).toBe(true);
    expect((await stat(join(dir, 'app', '.env'))).mode & 0o777).toBe(0o600);
  });

  it('waits for the first deploy when release-parameter names no release yet', async () => {
    const result = await instance('ID=ubuntu\nPRETTY_NAME="Ubuntu 24.04 LTS"\n');
    expect(result.code).toBe(0);
    expect(result.output).toContain('no release in /APP_RELEASE_PARAMETER yet');
    expect(result.calls.filter((call) => call.startsWith('docker compose up'))).toEqual([]);
    await expectAppDirReady();
  });

  it('refuses a distribution it does not know', async () => {
    const result = await instance('ID=alpine\n');
    expect(result.output).toContain('unsupported distribution: alpine');
    expect(result.code).toBe(1);
  });
});
