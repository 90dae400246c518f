// The service images the scenarios deploy, built on the runner's engine from e2e/fixtures/image
// (see its Dockerfile for why not service/Dockerfile) and the cached debootstrap rootfs.
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { run } from './processes.js';
import type { PodmanEngine } from './podman.js';

export const BASE_IMAGE = 'localhost/challenge-deploy-e2e-base:bookworm';
const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');
const FIXTURE = path.join(REPO_ROOT, 'e2e', 'fixtures', 'image');

export interface ImageVariant {
  /** Local image name, e.g. `localhost/challenge-app:e2e-good-1`. */
  name: string;
  buildId: string;
  /** Instance ids (or `*`) where this image reports a wrong version. */
  breakOn?: string[];
  /** Someone else's app instead of the service (see e2e-entry.mjs): `plain` or `header`. */
  app?: 'plain' | 'header';
  /** Seconds after start from which /health answers 500 (e2e-entry.mjs). */
  degradeAfterSeconds?: number;
}

function podmanEnv(engine: PodmanEngine): NodeJS.ProcessEnv {
  return { ...process.env, ...engine.env, DOCKER_HOST: undefined };
}

async function imageExists(engine: PodmanEngine, name: string): Promise<boolean> {
  return run('podman', ['image', 'exists', name], { env: podmanEnv(engine) }).then(
    () => true,
    () => false,
  );
}

/** Imports the cached rootfs (from e2e/install-deps.sh) as the base image. */
export async function importBaseImage(engine: PodmanEngine, baseTar: string): Promise<void> {
  if (await imageExists(engine, BASE_IMAGE)) return;
  if (!existsSync(baseTar)) {
    throw new Error(`the base rootfs ${baseTar} is missing: run e2e/install-deps.sh first`);
  }
  await run('podman', ['import', '--quiet', baseTar, BASE_IMAGE], { env: podmanEnv(engine) });
}

/** Assembles the build context: node, the compiled service, its production dependencies. */
export async function prepareContext(dir: string): Promise<string> {
  const context = path.join(dir, 'context');
  mkdirSync(context, { recursive: true });
  copyFileSync(process.execPath, path.join(context, 'node'));
  copyFileSync(path.join(FIXTURE, 'e2e-entry.mjs'), path.join(context, 'e2e-entry.mjs'));
  mkdirSync(path.join(context, 'data'), { recursive: true });
  writeFileSync(
    path.join(context, 'package.json'),
    JSON.stringify({ type: 'module', private: true }),
  );
  await run(
    path.join(REPO_ROOT, 'node_modules', '.bin', 'tsc'),
    ['-p', 'tsconfig.build.json', '--outDir', path.join(context, 'build')],
    {
      cwd: REPO_ROOT,
    },
  );
  const { stdout } = await run('npm', ['ls', '--omit=dev', '--all', '--parseable'], {
    cwd: REPO_ROOT,
  }).catch(
    // npm ls exits 1 on extraneous or invalid packages but still lists the tree.
    (error: Error) => ({ stdout: /\n(\/[^\n]+(\n|$))+/.exec(error.message)?.[0] ?? '' }),
  );
  const modules = stdout
    .split('\n')
    .filter((line) => line.startsWith(path.join(REPO_ROOT, 'node_modules') + path.sep))
    .map((line) => path.relative(REPO_ROOT, line));
  if (!modules.some((m) => m === path.join('node_modules', 'koa'))) {
    throw new Error(`npm ls found no production dependencies in ${REPO_ROOT}: run npm ci first`);
  }
  // better-sqlite3's sources and object files are not needed at run time (the .node addon is).
  await run('bash', [
    '-c',
    'tar -C "$1" -cf - --exclude="node_modules/better-sqlite3/deps" --exclude="node_modules/better-sqlite3/src" ' +
      '--exclude="*/build/Release/obj*" --exclude="*.a" "${@:3}" | tar -C "$2" -xf -',
    'bash',
    REPO_ROOT,
    context,
    ...modules,
  ]);
  return context;
}

/** The application image every variant starts from (all the layers). */
export const APP_IMAGE = 'localhost/challenge-app:e2e-app';

export async function buildAppImage(engine: PodmanEngine, context: string): Promise<void> {
  await run(
    'podman',
    [
      'build',
      '--quiet',
      '--format',
      'docker',
      '--file',
      path.join(FIXTURE, 'Dockerfile'),
      '--build-arg',
      `BASE_IMAGE=${BASE_IMAGE}`,
      '--tag',
      APP_IMAGE,
      context,
    ],
    { env: podmanEnv(engine), timeoutMs: 300_000 },
  );
}

/**
 * A variant: the app image plus its own configuration (a label with the build id, and where it is
 * broken), so every variant has its own digest and they all share the app image's layers.
 * --no-cache: buildah's layer cache keys ENV/LABEL on their unexpanded text and would hand out
 * the first variant's image for all of them.
 */
export async function buildImage(
  engine: PodmanEngine,
  dir: string,
  variant: ImageVariant,
): Promise<void> {
  const file = path.join(dir, `${variant.buildId}.Dockerfile`);
  copyFileSync(path.join(FIXTURE, 'e2e-entry.mjs'), path.join(dir, 'e2e-entry.mjs'));
  copyFileSync(path.join(FIXTURE, 'e2e-migrate.mjs'), path.join(dir, 'e2e-migrate.mjs'));
  writeFileSync(
    file,
    [
      `FROM ${APP_IMAGE}`,
      'COPY e2e-entry.mjs /app/e2e-entry.mjs',
      'COPY e2e-migrate.mjs /app/e2e-migrate.mjs',
      `ENV E2E_BREAK_ON=${JSON.stringify((variant.breakOn ?? []).join(','))}`,
      `ENV E2E_APP=${JSON.stringify(variant.app ?? '')}`,
      `ENV E2E_DEGRADE_AFTER=${JSON.stringify(String(variant.degradeAfterSeconds ?? 0))}`,
      `ENV E2E_BUILD_ID=${JSON.stringify(variant.buildId)}`,
      `LABEL org.opencontainers.image.revision=${JSON.stringify(variant.buildId)}`,
      'CMD ["node", "/app/e2e-entry.mjs"]',
      '',
    ].join('\n'),
  );
  await run(
    'podman',
    [
      'build',
      '--quiet',
      '--no-cache',
      '--format',
      'docker',
      '--file',
      file,
      '--tag',
      variant.name,
      dir,
    ],
    {
      env: podmanEnv(engine),
      timeoutMs: 120_000,
    },
  );
}

/**
 * E2E_SERVICE_DOCKERFILE=1: the app image from service/Dockerfile itself (about 3 more minutes).
 * Its NODE_IMAGE is the base plus this machine's node, npm and node headers (node-gyp cannot
 * download them here) and its CA bundle (the npm registry is reached through a TLS proxy whose CA
 * only this machine has); the build runs with the host's network for apt and npm.
 */
export async function buildAppImageFromServiceDockerfile(
  engine: PodmanEngine,
  dir: string,
): Promise<void> {
  const context = path.join(dir, 'node-image');
  mkdirSync(context, { recursive: true });
  copyFileSync(process.execPath, path.join(context, 'node'));
  await run('cp', ['-a', '/usr/lib/node_modules/npm', path.join(context, 'npm')]);
  await run('cp', ['-a', '/usr/include/node', path.join(context, 'include')]);
  copyFileSync('/etc/ssl/certs/ca-certificates.crt', path.join(context, 'ca.crt'));
  writeFileSync(
    path.join(context, 'Dockerfile'),
    [
      `FROM ${BASE_IMAGE}`,
      'COPY node /usr/local/bin/node',
      'COPY npm /usr/local/lib/node_modules/npm',
      'COPY include /usr/local/include/node',
      'COPY ca.crt /etc/ssl/certs/ca-certificates.crt',
      'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt npm_config_nodedir=/usr/local',
      'RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm',
      '',
    ].join('\n'),
  );
  const nodeImage = 'localhost/challenge-deploy-e2e-node:20';
  const env = podmanEnv(engine);
  await run('podman', ['build', '--quiet', '--network', 'host', '--tag', nodeImage, context], {
    env,
    timeoutMs: 300_000,
  });
  await run(
    'podman',
    [
      'build',
      '--quiet',
      '--network',
      'host',
      '--format',
      'docker',
      '--file',
      path.join(REPO_ROOT, 'service', 'Dockerfile'),
      '--build-arg',
      `NODE_IMAGE=${nodeImage}`,
      '--tag',
      APP_IMAGE,
      REPO_ROOT,
    ],
    { env, timeoutMs: 900_000 },
  );
}
