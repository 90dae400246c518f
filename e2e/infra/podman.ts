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

/** Writes the configuration every engine shares (runc, ulimits, no search registries). */
export function writeSharedConfig(dir: string): { containersConf: string; registriesConf: string } {
  mkdirSync(dir, { recursive: true });
  const containersConf = path.join(dir, 'containers.conf');
  const registriesConf = path.join(dir, 'registries.conf');
  // crun fails here (setrlimit RLIMIT_NOFILE), so runc and explicit ulimits.
  writeFileSync(
    containersConf,
    '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n' +
      '[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n',
  );
  writeFileSync(registriesConf, 'unqualified-search-registries = []\n');
  return { containersConf, registriesConf };
}

export async function startEngine(
  name: string,
  root: string,
  shared: { containersConf: string; registriesConf: string },
  processes: Processes,
  netns?: string,
): Promise<PodmanEngine> {
  mkdirSync(root, { recursive: true });
  const storageConf = path.join(root, 'storage.conf');
  writeFileSync(
    storageConf,
    `[storage]\ndriver = "overlay"\ngraphroot = "${path.join(root, 'graph')}"\nrunroot = "${path.join(root, 'run')}"\n`,
  );
  const socket = path.join(root, 'docker.sock');
  const env: NodeJS.ProcessEnv = {
    CONTAINERS_CONF: shared.containersConf,
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
