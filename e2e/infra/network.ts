// The simulated network: one Linux bridge on the host (10.231.0.1/24) and one network namespace
// per instance, joined to the bridge by a veth pair. The namespaces have no default route and the
// host does not forward, so instances reach only the bridge's address (registry, fake AWS endpoint,
// PostgreSQL relay) and each other, never anything outside this machine.
import { existsSync } from 'node:fs';
import { run, tryRun } from './processes.js';

export const BRIDGE = 'ce2e0';
export const SUBNET_PREFIX = '10.231.0';
export const HOST_ADDRESS = `${SUBNET_PREFIX}.1`;
const NAME_PREFIX = 'ce2e-';

export function namespacePath(name: string): string {
  return `/var/run/netns/${name}`;
}

/** Removes what an earlier run that died may have left (only our own names). */
export async function removeLeftovers(): Promise<void> {
  const { stdout } = await run('ip', ['netns', 'list']);
  for (const line of stdout.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    if (name.startsWith(NAME_PREFIX)) await tryRun('ip', ['netns', 'del', name]);
  }
  const links = await run('ip', ['-o', 'link', 'show']);
  for (const match of links.stdout.matchAll(/^\d+: ([^:@]+)[@:]/gm)) {
    const name = match[1] ?? '';
    if (name.startsWith(NAME_PREFIX) || name === BRIDGE) await tryRun('ip', ['link', 'del', name]);
  }
}

/** Creates the bridge, after checking that no other interface uses the subnet. */
export async function createBridge(): Promise<void> {
  const { stdout } = await run('ip', ['-4', '-o', 'addr', 'show']);
  const clash = stdout
    .split('\n')
    .find((line) => line.includes(` ${SUBNET_PREFIX}.`) && !line.includes(` ${BRIDGE} `));
  if (clash)
    throw new Error(
      `the e2e subnet ${SUBNET_PREFIX}.0/24 is already used on this machine: ${clash}`,
    );
  await run('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
  await run('ip', ['addr', 'add', `${HOST_ADDRESS}/24`, 'dev', BRIDGE]);
  await run('ip', ['link', 'set', BRIDGE, 'up']);
}

/** A namespace `ce2e-<short>` with address `10.231.0.<octet>` and its own loopback. */
export async function createNamespace(
  short: string,
  octet: number,
): Promise<{ name: string; address: string }> {
  const name = `${NAME_PREFIX}${short}`;
  const address = `${SUBNET_PREFIX}.${octet}`;
  await run('ip', ['netns', 'add', name]);
  await run('ip', ['link', 'add', name, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', name]);
  await run('ip', ['link', 'set', name, 'master', BRIDGE, 'up']);
  await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  await run('ip', ['-n', name, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
  await run('ip', ['-n', name, 'link', 'set', 'eth0', 'up']);
  return { name, address };
}

export async function removeNamespace(name: string): Promise<void> {
  await tryRun('ip', ['link', 'del', name]);
  if (existsSync(namespacePath(name))) await tryRun('ip', ['netns', 'del', name]);
}

export async function removeBridge(): Promise<void> {
  await tryRun('ip', ['link', 'del', BRIDGE]);
}
