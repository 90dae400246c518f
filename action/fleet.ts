import {
  paginateDescribeInstanceInformation,
  type InstanceInformation,
  type InstanceInformationStringFilter,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import type { FleetTarget } from './inputs.js';

export interface ManagedInstance {
  instanceId: string;
  pingStatus: string;
  platformType?: string;
  computerName?: string;
}

/** DescribeInstanceInformation takes at most 50 results per page (and ids per filter here). */
const PAGE = 50;

async function describe(
  ssm: SSMClient,
  filters: InstanceInformationStringFilter[],
): Promise<InstanceInformation[]> {
  const found: InstanceInformation[] = [];
  const pages = paginateDescribeInstanceInformation(
    { client: ssm, pageSize: PAGE },
    { Filters: filters },
  );
  for await (const page of pages) found.push(...(page.InstanceInformationList ?? []));
  return found;
}

function toManaged(info: InstanceInformation): ManagedInstance | undefined {
  if (!info.InstanceId) return undefined;
  return {
    instanceId: info.InstanceId,
    pingStatus: info.PingStatus ?? 'Unknown',
    platformType: info.PlatformType,
    computerName: info.ComputerName,
  };
}

/**
 * Resolves the target to SSM-managed instances and checks, before anything changes, that every
 * one of them is Online and runs Linux (AWS-RunShellScript). Throws naming each instance that is
 * not, with its ping status.
 */
export async function resolveFleet(
  ssm: SSMClient,
  target: FleetTarget,
): Promise<ManagedInstance[]> {
  let wanted: string[];
  let managed: ManagedInstance[];
  if (target.kind === 'tag') {
    const infos = await describe(ssm, [{ Key: `tag:${target.key}`, Values: [target.value] }]);
    managed = infos.map(toManaged).filter((m): m is ManagedInstance => m !== undefined);
    wanted = [...new Set(managed.map((m) => m.instanceId))].sort();
    if (wanted.length === 0) {
      throw new Error(
        `No SSM-managed instance carries the tag ${target.key}=${target.value} (instance-tag) in this region.`,
      );
    }
  } else {
    wanted = target.instanceIds;
    managed = [];
    for (let i = 0; i < wanted.length; i += PAGE) {
      const chunk = wanted.slice(i, i + PAGE);
      const infos = await describe(ssm, [{ Key: 'InstanceIds', Values: chunk }]);
      managed.push(...infos.map(toManaged).filter((m): m is ManagedInstance => m !== undefined));
    }
  }

  const byId = new Map(managed.map((m) => [m.instanceId, m]));
  const problems: string[] = [];
  const fleet: ManagedInstance[] = [];
  for (const id of wanted) {
    const instance = byId.get(id);
    if (!instance) {
      problems.push(
        `${id}: not managed by SSM in this region (no agent, no instance role, or wrong region)`,
      );
    } else if (instance.pingStatus !== 'Online') {
      problems.push(`${id}: SSM ping status ${instance.pingStatus}`);
    } else if (instance.platformType && instance.platformType !== 'Linux') {
      problems.push(`${id}: platform ${instance.platformType}, but the deploy script needs Linux`);
    } else {
      fleet.push(instance);
    }
  }
  if (problems.length > 0) {
    throw new Error(
      `Preflight failed, nothing was changed: ${problems.length} of ${wanted.length} instances cannot run the deploy.\n${problems.join('\n')}`,
    );
  }
  return fleet;
}
