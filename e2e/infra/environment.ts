// Starts the whole end-to-end topology (see e2e/README.md) and tears it down again, stopping every
// process by pid and removing every namespace, link and mount it made, also after a failure.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { cloudWatchAlarms, type CloudWatchAlarms } from '../fake-aws/cloudwatch.js';
import { defaultEcrState, ecrOperations, type EcrState } from '../fake-aws/ecr.js';
import { startFakeAws, type FakeAws } from '../fake-aws/server.js';
import { fakeAwsServices } from '../fake-aws/services.js';
import { simulateSsm, type SsmSimulation } from '../fake-aws/ssm.js';
import { parameterStore, type ParameterStore } from '../fake-aws/parameter-store.js';
import { targetGroupOperations, type TargetGroup } from '../fake-aws/elbv2.js';
import { APP_DIR, SimulatedInstance } from './fleet.js';
import { startMetadataService, type MetadataService } from './imds.js';
import { startLoadBalancer, type LoadBalancer } from './haproxy.js';
import {
  buildAppImage,
  buildAppImageFromServiceDockerfile,
  buildImage,
  importBaseImage,
  prepareContext,
  type ImageVariant,
} from './images.js';
import {
  HOST_ADDRESS,
  createBridge,
  createNamespace,
  removeBridge,
  removeLeftovers,
  removeNamespace,
} from './network.js';
import {
  removeEngineState,
  startEngine,
  unmountBelow,
  writeSharedConfig,
  type PodmanEngine,
} from './podman.js';
import { Processes, run, tryRun } from './processes.js';
import { startRegistry, type Registry } from './registry.js';

export const REGION = 'eu-west-1';
export const ACCOUNT_ID = '123456789012';
export const REPOSITORY = 'challenge-app';
export const TARGET_GROUP_ARN = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT_ID}:targetgroup/challenge-app/0123456789abcdef`;
const BASE_TAR = process.env.E2E_BASE_TAR ?? '/var/cache/challenge-deploy-e2e/base-bookworm.tar';

const DATABASE = 'challenge_deploy_e2e';

export interface E2eEnvironment {
  dir: string;
  registry: Registry;
  lb: LoadBalancer;
  aws: FakeAws;
  /** The repository's settings a scenario may change (tag mutability, archived images). */
  ecr: EcrState;
  ssm: SsmSimulation;
  /** SSM Parameter Store (same endpoint and credentials scope as Run Command). */
  parameters: ParameterStore;
  targetGroup: TargetGroup;
  /** CloudWatch metric alarms a scenario defines and flips (alarm-names). */
  cloudwatch: CloudWatchAlarms;
  /** The suite's own database, as the host reaches it (what the instances' apps share). */
  databaseUrl: string;
  runner: PodmanEngine;
  instances: SimulatedInstance[];
  apiToken: string;
  /** Environment of the workflow job that runs the action (credentials, region, endpoint, docker). */
  actionEnv: NodeJS.ProcessEnv;
  processes: Processes;
  /**
   * Starts a new instance outside the fleet's list (an Auto Scaling launch): its own namespace,
   * podman and an empty app directory, with the instance metadata service (IMDSv2) reachable;
   * its user data is up to the caller. Removed at teardown.
   */
  launchInstance(tags: Record<string, string>): Promise<SimulatedInstance>;
  teardown(): Promise<void>;
}

export interface EnvironmentOptions {
  instanceCount: number;
  images: ImageVariant[];
  /** docker-compose.yml each instance's app directory holds. */
  composeFile: string;
  log?: (line: string) => void;
}

/** Refuses to start where the topology cannot work, with the reason. */
export async function checkPrerequisites(): Promise<void> {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root (network namespaces, mounts, podman)');
  for (const command of [
    'podman',
    'runc',
    'docker',
    'docker-compose',
    'docker-registry',
    'haproxy',
    'nsenter',
    'unshare',
    'ip',
    'htpasswd',
    'openssl',
    'psql',
    'curl',
  ]) {
    if (!(await tryRun('bash', ['-c', `command -v ${command}`]))) missing.push(command);
  }
  if (!existsSync('/usr/bin/aws')) missing.push('/usr/bin/aws (Debian awscli)');
  if (!existsSync(BASE_TAR)) missing.push(`${BASE_TAR} (the cached base rootfs)`);
  if (missing.length > 0) {
    throw new Error(
      `the e2e infrastructure cannot start; missing: ${missing.join(', ')}. Run e2e/install-deps.sh as root.`,
    );
  }
}

export async function startEnvironment(options: EnvironmentOptions): Promise<E2eEnvironment> {
  const log = options.log ?? (() => undefined);
  await checkPrerequisites();
  const processes = new Processes();
  const dir = mkdtempSync('/tmp/ce2e-');
  const cleanups: Array<() => Promise<void> | void> = [];
  const teardown = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        process.stderr.write(`e2e teardown: ${String(error)}\n`);
      }
    }
    cleanups.length = 0;
  };
  cleanups.push(async () => {
    await unmountBelow(dir);
    if (process.env.E2E_KEEP_STATE !== '1') rmSync(dir, { recursive: true, force: true });
  });
  cleanups.push(() => processes.stopAll());

  try {
    await removeLeftovers();
    // netavark keeps its IPAM state and DNS files in /run/containers/networks whatever the
    // configuration says (podman 4.3); the engines share it. Removed at the end if it was ours.
    const netavarkRunDir = '/run/containers/networks';
    if (!existsSync(netavarkRunDir))
      cleanups.push(() => rmSync(netavarkRunDir, { recursive: true, force: true }));
    await createBridge();
    cleanups.push(() => removeBridge());
    mkdirSync(APP_DIR, { recursive: true });

    // PostgreSQL: a database of our own on the machine's cluster, reached from the namespaces
    // through haproxy's TCP relay on the bridge address.
    const adminUrl = process.env.DATABASE_URL ?? 'postgres://ci:ci@127.0.0.1:5432/ci';
    const admin = new URL(adminUrl);
    await run('psql', [adminUrl, '-qc', `DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`]);
    await run('psql', [adminUrl, '-qc', `CREATE DATABASE ${DATABASE}`]);
    cleanups.push(() =>
      tryRun('psql', [adminUrl, '-qc', `DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`]).then(
        () => undefined,
      ),
    );
    const instanceDbUrl = new URL(adminUrl);
    instanceDbUrl.hostname = HOST_ADDRESS;
    instanceDbUrl.port = '5432';
    instanceDbUrl.pathname = `/${DATABASE}`;
    log(`network ready; database ${DATABASE}`);

    const registry = await startRegistry(path.join(dir, 'registry'), HOST_ADDRESS, processes);
    cleanups.push(() => registry.untrust());
    cleanups.push(() => registry.client.close());
    log(`registry at https://${registry.host}`);

    const shared = writeSharedConfig(path.join(dir, 'podman'));
    const runner = await startEngine('runner', path.join(dir, 'runner'), shared, processes);
    cleanups.push(() => removeEngineState(runner));
    const building = (async () => {
      await importBaseImage(runner, BASE_TAR);
      if (process.env.E2E_SERVICE_DOCKERFILE === '1') {
        await buildAppImageFromServiceDockerfile(runner, path.join(dir, 'build'));
      } else {
        await buildAppImage(runner, await prepareContext(path.join(dir, 'build')));
      }
      for (const variant of options.images)
        await buildImage(runner, path.join(dir, 'build'), variant);
    })();
    building.catch(() => undefined);

    const apiToken = `e2e-${randomBytes(12).toString('hex')}`;
    const instances: SimulatedInstance[] = [];
    const awsEnvironment = { awsEndpoint: '', region: REGION };
    /** Instance number n: its network namespace, its container engine, the instance over them. */
    const startInstance = async (
      n: number,
      tags: Record<string, string>,
      beforeEngine?: (instanceId: string, ns: { name: string; address: string }) => Promise<void>,
    ): Promise<SimulatedInstance> => {
      const instanceId = `i-0e2e000000000000${n.toString(16)}`;
      const ns = await createNamespace(`i${n}`, 10 + n);
      cleanups.push(() => removeNamespace(ns.name));
      await beforeEngine?.(instanceId, ns);
      const root = path.join(dir, 'instances', instanceId);
      const engine = await startEngine(
        instanceId,
        path.join(root, 'engine'),
        shared,
        processes,
        ns.name,
      );
      cleanups.push(() => removeEngineState(engine));
      return new SimulatedInstance(
        instanceId,
        ns.name,
        ns.address,
        root,
        engine,
        tags,
        awsEnvironment,
      );
    };
    for (let n = 1; n <= options.instanceCount; n++) {
      const instance = await startInstance(n, { Role: 'web', Name: `web-${n}` });
      instance.writeAppFile('docker-compose.yml', options.composeFile);
      // What the instance was provisioned with (secrets); the deploy script adds IMAGE and APP_VERSION.
      instance.writeAppFile(
        '.env',
        `DATABASE_URL=${instanceDbUrl.toString()}\nAPI_TOKEN=${apiToken}\nINSTANCE_ID=${instance.instanceId}\nSHUTDOWN_DELAY=1\n`,
      );
      instances.push(instance);
    }
    log(
      `${instances.length} instances: ${instances.map((i) => `${i.instanceId}@${i.ipAddress}`).join(', ')}`,
    );

    const lb = await startLoadBalancer(
      path.join(dir),
      instances.map((i) => ({ name: i.instanceId, address: i.ipAddress })),
      { listen: `${HOST_ADDRESS}:5432`, target: `${admin.hostname}:${admin.port || '5432'}` },
      processes,
    );
    log(`load balancer at ${lb.url}`);

    const ssm = simulateSsm(instances, { region: REGION, accountId: ACCOUNT_ID });
    const parameters = parameterStore({ region: REGION, accountId: ACCOUNT_ID });
    cleanups.push(() => ssm.stop());
    const targetGroup = targetGroupOperations(
      lb,
      TARGET_GROUP_ARN,
      instances.map((i) => i.instanceId),
    );
    const ecr = defaultEcrState();
    const cloudwatch = cloudWatchAlarms({ region: REGION, accountId: ACCOUNT_ID });
    const aws = await startFakeAws(
      fakeAwsServices({
        ecr: ecrOperations({
          registry: registry.client,
          region: REGION,
          accountId: ACCOUNT_ID,
          repositories: [REPOSITORY],
          auth: { username: registry.username, password: registry.password },
          state: ecr,
        }),
        ssm: { ...ssm.operations, ...parameters.operations },
        elbv2: targetGroup.operations,
        cloudwatch: cloudwatch.operations,
      }),
      { host: HOST_ADDRESS, region: REGION },
    );
    cleanups.push(() => aws.close());
    awsEnvironment.awsEndpoint = aws.url;
    log(`fake AWS endpoint at ${aws.url}`);

    await building;
    log(`images built: ${options.images.map((i) => i.name).join(', ')}`);

    let metadata: MetadataService | undefined;
    let launched = options.instanceCount;
    const launchInstance = async (tags: Record<string, string>): Promise<SimulatedInstance> => {
      if (!metadata) {
        metadata = await startMetadataService(HOST_ADDRESS);
        const service = metadata;
        cleanups.push(() => service.close());
      }
      launched += 1;
      const service = metadata;
      return startInstance(launched, tags, async (instanceId, ns) => {
        await service.attach(ns.name, HOST_ADDRESS);
        service.register(ns.address, { instanceId, region: REGION });
      });
    };

    const dockerConfig = path.join(dir, 'runner', 'docker-config');
    mkdirSync(dockerConfig, { recursive: true });
    const actionEnv: NodeJS.ProcessEnv = {
      AWS_ENDPOINT_URL: aws.url,
      AWS_REGION: REGION,
      AWS_DEFAULT_REGION: REGION,
      AWS_ACCESS_KEY_ID: 'AKIAE2ERUNNER0000000',
      AWS_SECRET_ACCESS_KEY: 'e2e-runner-secret',
      AWS_EC2_METADATA_DISABLED: 'true',
      DOCKER_HOST: runner.env.DOCKER_HOST,
      DOCKER_CONFIG: dockerConfig,
    };
    return {
      dir,
      registry,
      lb,
      aws,
      ecr,
      ssm,
      parameters,
      targetGroup,
      cloudwatch,
      databaseUrl: Object.assign(new URL(adminUrl), { pathname: `/${DATABASE}` }).toString(),
      runner,
      instances,
      apiToken,
      actionEnv,
      processes,
      launchInstance,
      teardown,
    };
  } catch (error) {
    await teardown();
    throw error;
  }
}

/** Tails of the infrastructure's logs, for a failure message. */
export function logTails(dir: string): string {
  const files = ['haproxy.log', 'registry/registry.log', 'runner/podman.log'];
  return files
    .filter((file) => existsSync(path.join(dir, file)))
    .map((file) => `--- ${file}\n${readFileSync(path.join(dir, file), 'utf8').slice(-1500)}`)
    .join('\n');
}
