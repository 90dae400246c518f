import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, test } from '@jest/globals';

const run = promisify(execFile);

/** Debian's PostgreSQL 15 binaries (the `postgresql` package .ci/run installs). */
export const POSTGRES_BIN = process.env.POSTGRES_BIN ?? '/usr/lib/postgresql/15/bin';
const CI = process.env.CI === 'true';

/**
 * A PostgreSQL cluster of a test's own: its own data directory under /tmp and a random port, so
 * stopping or freezing it disturbs nothing else on the machine (not the shared CI database).
 * PostgreSQL refuses to run as root, so as root it runs as the `postgres` user.
 */
export class PrivateCluster {
  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  static async create(): Promise<PrivateCluster> {
    const dir = await mkdtemp(join(tmpdir(), 'faults-postgres-'));
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      const { stdout } = await run('id', ['-u', 'postgres']);
      const { stdout: gid } = await run('id', ['-g', 'postgres']);
      await chown(dir, Number(stdout), Number(gid));
    }
    const cluster = new PrivateCluster(dir, await freePort());
    await cluster.pg('initdb', ['-D', cluster.data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
    await cluster.start();
    return cluster;
  }

  private get data(): string {
    return join(this.dir, 'data');
  }

  private async pg(tool: string, args: string[]): Promise<string> {
    const [file, argv] =
      process.getuid?.() === 0
        ? ['runuser', ['-u', 'postgres', '--', join(POSTGRES_BIN, tool), ...args]]
        : [join(POSTGRES_BIN, tool), args];
    const { stdout } = await run(file, argv, { cwd: this.dir, timeout: 60_000 });
    return stdout;
  }

  async start(): Promise<void> {
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
    await this.pg('pg_ctl', [
      '-D',
      this.data,
      '-o',
      options,
      '-l',
      join(this.dir, 'log'),
      '-w',
      'start',
    ]);
  }

  /** Starts the cluster if a test left it stopped. */
  async ensureStarted(): Promise<void> {
    if (!existsSync(join(this.data, 'postmaster.pid'))) await this.start();
  }

  /** A fast shutdown: connected clients are disconnected (57P01), as on a restart or failover. */
  async stop(): Promise<void> {
    await this.pg('pg_ctl', ['-D', this.data, '-m', 'fast', '-w', 'stop']);
  }

  /** The postmaster and every process it forked (backends, checkpointer, …). */
  private async processes(): Promise<number[]> {
    const postmaster = Number(
      (await readFile(join(this.data, 'postmaster.pid'), 'utf8')).split('\n')[0],
    );
    const children: number[] = [];
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
      // pid (comm) state ppid …: comm may hold spaces, so read after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === postmaster) children.push(Number(entry));
    }
    return [postmaster, ...children];
  }

  /** SIGSTOP to every process of the cluster: connections stay open and nothing answers. */
  async freeze(): Promise<void> {
    for (const pid of await this.processes()) process.kill(pid, 'SIGSTOP');
  }

  async thaw(): Promise<void> {
    for (const pid of await this.processes()) process.kill(pid, 'SIGCONT');
  }

  /** Stops the cluster whatever state it is in and removes its directory. */
  async destroy(): Promise<void> {
    if (existsSync(join(this.data, 'postmaster.pid'))) {
      await this.thaw().catch(() => undefined);
      await this.pg('pg_ctl', ['-D', this.data, '-m', 'immediate', '-w', 'stop']).catch(
        () => undefined,
      );
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Why this machine cannot run a private cluster, if it cannot. Creating one fails the suite
 * loudly (beforeAll); this only decides whether the suite can run at all.
 */
async function whyNoCluster(): Promise<string | undefined> {
  if (!existsSync(join(POSTGRES_BIN, 'initdb'))) return `${POSTGRES_BIN}/initdb does not exist`;
  if (process.getuid?.() === 0) {
    const user = await run('id', ['-u', 'postgres']).catch(() => undefined);
    if (!user) return 'running as root, and there is no postgres user to run PostgreSQL as';
  }
  return undefined;
}

const missing = await whyNoCluster();

/**
 * Describes a suite that needs private PostgreSQL clusters. Without one it fails under CI=true
 * (.ci/run runs as root with the postgresql package installed) and is skipped loudly elsewhere.
 */
export function describeWithPrivateCluster(name: string, body: () => void): void {
  if (missing === undefined) {
    describe(name, body);
  } else if (CI) {
    describe(name, () => {
      test('can create a private PostgreSQL cluster, because CI=true requires this suite', () => {
        throw new Error(`${missing}; CI=true requires it (run as root with postgresql installed)`);
      });
    });
  } else {
    console.warn(
      `\n!!! SKIPPED ${name}: ${missing}.\n!!! CI=true turns this skip into a failure.\n`,
    );
    describe.skip(`${name} (no private PostgreSQL cluster)`, () => {
      test('needs a private PostgreSQL cluster', () => undefined);
    });
  }
}
