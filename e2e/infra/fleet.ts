// Simulated EC2 instances. Each one has
//   - its own network namespace (its own `localhost`, port 80 free for its app),
//   - its own podman engine inside that namespace (its own containers and image store),
//   - its own view of the app directory: commands run in a private mount namespace where the
//     instance's directory is bind-mounted over APP_DIR (/opt/challenge-app), so `app-dir` and
//     `health-url` are the same on every instance, as on real hosts,
//   - the environment of a host with an instance role: AWS CLI on PATH, credentials, and
//     AWS_ENDPOINT_URL pointing at the fake endpoint (instead of IMDS and the regional endpoints).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ManagedInstance } from '../fake-aws/ssm.js';
import { namespacePath } from './network.js';
import type { CommandResult } from './processes.js';
import type { PodmanEngine } from './podman.js';

export const APP_DIR = '/opt/challenge-app';
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const INSTANCE_BIN = path.join(import.meta.dirname, '..', 'fixtures', 'instance-bin');

export interface InstanceEnvironment {
  awsEndpoint: string;
  region: string;
}

export class SimulatedInstance implements ManagedInstance {
  online = true;
  readonly computerName: string;
  readonly stateDir: string;
  readonly appDir: string;
  readonly homeDir: string;

  constructor(
    readonly instanceId: string,
    readonly netns: string,
    readonly ipAddress: string,
    readonly root: string,
    readonly engine: PodmanEngine,
    readonly tags: Record<string, string>,
    private readonly environment: InstanceEnvironment,
  ) {
    this.computerName = `ip-${ipAddress.replaceAll('.', '-')}.e2e.internal`;
    this.stateDir = path.join(root, 'ssm');
    this.appDir = path.join(root, 'app');
    this.homeDir = path.join(root, 'home');
    for (const dir of [this.stateDir, this.appDir, this.homeDir])
      mkdirSync(dir, { recursive: true });
  }

  /** What a process on this host sees in its environment (the SSM agent's, as root). */
  env(): NodeJS.ProcessEnv {
    return {
      PATH: `${INSTANCE_BIN}:${SYSTEM_PATH}`,
      HOME: this.homeDir,
      LANG: 'C.UTF-8',
      DOCKER_HOST: this.engine.env.DOCKER_HOST,
      CONTAINERS_CONF: this.engine.env.CONTAINERS_CONF,
      CONTAINERS_REGISTRIES_CONF: this.engine.env.CONTAINERS_REGISTRIES_CONF,
      CONTAINERS_STORAGE_CONF: this.engine.env.CONTAINERS_STORAGE_CONF,
      AWS_ENDPOINT_URL: this.environment.awsEndpoint,
      AWS_DEFAULT_REGION: this.environment.region,
      AWS_ACCESS_KEY_ID: 'ASIAE2EINSTANCEROLE',
      AWS_SECRET_ACCESS_KEY: 'e2e-instance-role-secret',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_PAGER: '',
    };
  }

  /** Spawns `bash -c <script>` on this host: its network namespace, its mount view, its environment. */
  spawnShell(script: string, cwd: string, args: string[] = []): ChildProcess {
    const inner = `mount --bind "$E2E_APP_SOURCE" ${APP_DIR} && unset E2E_APP_SOURCE && cd "$E2E_CWD" && unset E2E_CWD && ${script}`;
    return spawn(
      'nsenter',
      [
        `--net=${namespacePath(this.netns)}`,
        'unshare',
        '--mount',
        '--propagation',
        'private',
        'bash',
        '-c',
        inner,
        'bash',
        ...args,
      ],
      {
        cwd: '/',
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...this.env(), E2E_APP_SOURCE: this.appDir, E2E_CWD: cwd },
      },
    );
  }

  startScript(scriptPath: string, cwd: string): ChildProcess {
    return this.spawnShell('exec bash "$1"', cwd, [scriptPath]);
  }

  /** Runs a shell command on the host and collects its output (for assertions and setup). */
  exec(script: string, timeoutMs = 60_000): Promise<CommandResult & { code: number }> {
    return new Promise((resolve, reject) => {
      const child = this.spawnShell(script, '/');
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ stdout, stderr, code: code ?? -1 });
      });
    });
  }

  /** `GET http://localhost<path>` on the host itself. */
  async localGet(urlPath: string): Promise<{ status: number; body: string }> {
    const { stdout } = await this.exec(
      `curl -s -m 5 -w '\\n%{http_code}' http://localhost${urlPath} || true`,
    );
    const at = stdout.lastIndexOf('\n');
    return { status: Number(stdout.slice(at + 1)) || 0, body: stdout.slice(0, at) };
  }

  /** The app's reported version (GET /health), or undefined when it does not answer. */
  async runningVersion(): Promise<string | undefined> {
    const { status, body } = await this.localGet('/health');
    if (status !== 200) return undefined;
    return (JSON.parse(body) as { version?: string }).version;
  }

  readEnvFile(): string {
    try {
      return readFileSync(path.join(this.appDir, '.env'), 'utf8');
    } catch {
      return '';
    }
  }

  writeAppFile(name: string, content: string): void {
    writeFileSync(path.join(this.appDir, name), content, { mode: 0o600 });
  }
}
