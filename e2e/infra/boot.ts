// Boots a newly launched simulated instance the way cloud-init runs user data: the user-data
// script itself (examples/instance/user-data.sh, unchanged) as root, on a simulated AMI, an
// Ubuntu whose packages are already installed (fixtures/ami-bin: apt-get, snap and systemctl
// have nothing to do; fixtures/ami-plugins: `docker compose` v2). Instance metadata (IMDSv2)
// answers at 169.254.169.254 (infra/imds.ts), the AWS CLI reaches the fake endpoint.
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { SimulatedInstance } from './fleet.js';

const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures');

export interface BootResult {
  code: number;
  /** stdout and stderr of the user data. */
  output: string;
  /** What the user data asked of the AMI's package and service managers. */
  amiCalls: string[];
}

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`;
}

/** Runs `userData` on the instance with `variables` in its environment. */
export async function bootWithUserData(
  instance: SimulatedInstance,
  userData: string,
  variables: Record<string, string>,
  timeoutMs = 180_000,
): Promise<BootResult> {
  const osRelease = path.join(instance.root, 'os-release');
  writeFileSync(
    osRelease,
    'ID=ubuntu\nVERSION_ID="24.04"\nPRETTY_NAME="Ubuntu 24.04 LTS (simulated AMI)"\n',
  );
  const plugins = path.join(instance.homeDir, '.docker', 'cli-plugins');
  mkdirSync(plugins, { recursive: true });
  copyFileSync(
    path.join(FIXTURES, 'ami-plugins', 'docker-compose'),
    path.join(plugins, 'docker-compose'),
  );
  chmodSync(path.join(plugins, 'docker-compose'), 0o755);
  const amiLog = path.join(instance.root, 'ami-calls.log');
  writeFileSync(amiLog, '');
  const environment = {
    ...variables,
    OS_RELEASE: osRelease,
    E2E_BOOT_LOG: amiLog,
  };
  const exports = Object.entries(environment)
    .map(([name, value]) => `export ${name}=${shellQuote(value)}`)
    .join(' && ');
  const script = `export PATH=${shellQuote(path.join(FIXTURES, 'ami-bin'))}:"$PATH" && ${exports} && bash ${shellQuote(userData)}`;
  const { stdout, stderr, code } = await instance.exec(script, timeoutMs);
  return {
    code,
    output: `${stdout}${stderr}`,
    amiCalls: readFileSync(amiLog, 'utf8').split('\n').filter(Boolean),
  };
}
