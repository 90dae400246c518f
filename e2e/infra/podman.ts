// podman as each simulated host's Docker engine (and the runner's): one API service per host, each
// with its own image and container store, started inside the host's network namespace with
// `nsenter --net` (not `ip netns exec`, which remounts /sys and breaks runc's cgroup lookup).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Processes, run, tryRun, waitUntil } from './processes.js';
import { namespacePath } from './network.js';

export interface PodmanEngine {
  name: string;
  socket: string;
  /** Environment for the docker CLI / docker-compose / podman CLI against this engine. */
  env: NodeJS.ProcessEnv;
  root: string;
}

export interface SharedConfig {
  registriesConf: string;
}

/** Writes what every engine shares: no search registries (the registry itself is trusted by CA). */
export function writeSharedConfig(dir: string): SharedConfig {
  mkdirSync(dir, { recursive: true });
  const registriesConf = path.join(dir, 'registries.conf');
  writeFileSync(registriesConf, 'unqualified-search-registries = []\n');
  return { registriesConf };
}

/**
 * The engine's containers.conf. crun fails here (setrlimit RLIMIT_NOFILE), so runc and explicit
 * ulimits. Network definitions (compose creates `challenge-app_default`) and podman's runtime
 * files go below the engine's own root instead of /etc/containers/networks and /run/libpod, so
 * every host has its own and nothing is left on the machine.
 */
function containersConf(root: string): string {
  return [
    '[containers]',
    'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]',
    '[network]',
    `network_config_dir = "${path.join(root, 'networks')}"`,
    '[engine]',
    'runtime = "runc"',
    'cgroup_manager = "cgroupfs"',
    'events_logger = "file"',
    `tmp_dir = "${path.join(root, 'tmp')}"`,
    '',
  ].join('\n');
}

export async function startEngine(
  name: string,
  root: string,
  shared: SharedConfig,
  processes: Processes,
  netns?: string,
): Promise<PodmanEngine> {
  mkdirSync(root, { recursive: true });
  const storageConf = path.join(root, 'storage.conf');
  writeFileSync(
    storageConf,
    `[storage]\ndriver = "overlay"\ngraphroot = "${path.join(root, 'graph')}"\nrunroot = "${path.join(root, 'run')}"\n`,
  );
  const confFile = path.join(root, 'containers.conf');
  mkdirSync(path.join(root, 'networks'), { recursive: true });
  writeFileSync(confFile, containersConf(root));
  const socket = path.join(root, 'docker.sock');
  const env: NodeJS.ProcessEnv = {
    CONTAINERS_CONF: confFile,
    CONTAINERS_REGISTRIES_CONF: shared.registriesConf,
    CONTAINERS_STORAGE_CONF: storageConf,
    DOCKER_HOST: `unix://${socket}`,
  };
  const args = ['system', 'service', '--time', '0', `unix://${socket}`];
  const serviceEnv = { ...process.env, ...env, DOCKER_HOST: undefined };
  const logFile = path.join(root, 'podman.log');
  if (netns) {
    processes.start(
      `podman ${name}`,
      'nsenter',
      [`--net=${namespacePath(netns)}`, 'podman', ...args],
      logFile,
      { env: serviceEnv },
    );
  } else {
    processes.start(`podman ${name}`, 'podman', args, logFile, { env: serviceEnv });
  }
  await waitUntil(
    `podman API of ${name}`,
    async () => {
      await run('docker', ['version', '--format', '{{.Server.Version}}'], {
        env: { ...process.env, ...env },
        timeoutMs: 5000,
      });
      return true;
    },
    30_000,
    300,
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
  });
  return { name, socket, env, root };
}

/** Removes the engine's containers (they outlive the API service) and unmounts its store. */
export async function removeEngineState(engine: PodmanEngine): Promise<void> {
  const env = { ...process.env, ...engine.env, DOCKER_HOST: undefined };
  await tryRun('podman', ['rm', '--all', '--force', '--time', '2'], env);
  await unmountBelow(engine.root);
}

/** Unmounts every mount below `dir` (overlay's own bind mount of its store, leftover layers). */
export async function unmountBelow(dir: string): Promise<void> {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((point) => point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const point of mounts) await tryRun('umount', ['-l', point]);
}
