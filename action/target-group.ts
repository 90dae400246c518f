import {
  DeregisterTargetsCommand,
  DescribeTargetHealthCommand,
  RegisterTargetsCommand,
  type ElasticLoadBalancingV2Client,
  type TargetDescription,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Clock } from './clock.js';
import type { Logger } from './logger.js';

export interface TargetGroupDeps {
  elb: ElasticLoadBalancingV2Client;
  clock: Clock;
  log: Logger;
}

const POLL_MS = 5_000;

/** The instance's registrations in the target group (one per port), to register back after. */
async function registrations(
  deps: TargetGroupDeps,
  targetGroupArn: string,
  instanceId: string,
): Promise<Array<{ target: TargetDescription; state: string; reason?: string }>> {
  const answer = await deps.elb.send(
    new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }),
  );
  return (answer.TargetHealthDescriptions ?? [])
    .filter((d) => d.Target?.Id === instanceId)
    .map((d) => ({
      target: {
        Id: instanceId,
        Port: d.Target?.Port,
        AvailabilityZone: d.Target?.AvailabilityZone,
      },
      state: d.TargetHealth?.State ?? 'unknown',
      reason: d.TargetHealth?.Reason ?? d.TargetHealth?.Description,
    }));
}

/**
 * Deregisters the instance and waits until the target group has drained it, so that no request
 * reaches it while its container is replaced. Returns the targets to register back.
 */
export async function drain(
  deps: TargetGroupDeps,
  targetGroupArn: string,
  instanceId: string,
  timeoutMs: number,
): Promise<TargetDescription[]> {
  const found = (await registrations(deps, targetGroupArn, instanceId)).filter(
    (r) => r.state !== 'unused' && r.state !== 'draining',
  );
  if (found.length === 0) {
    deps.log.warning(
      `${instanceId}: not registered in the target group; it will be registered on its default port after the deploy.`,
    );
    return [{ Id: instanceId }];
  }
  const targets = found.map((r) => r.target);
  await deps.elb.send(
    new DeregisterTargetsCommand({ TargetGroupArn: targetGroupArn, Targets: targets }),
  );
  const deadline = deps.clock.now() + timeoutMs;
  for (;;) {
    const left = (await registrations(deps, targetGroupArn, instanceId)).filter(
      (r) => r.state !== 'unused',
    );
    if (left.length === 0) break;
    if (deps.clock.now() >= deadline) {
      throw new Error(
        `${instanceId}: still ${left[0]?.state ?? 'registered'} in the target group after ${Math.round(timeoutMs / 1000)} s of draining.`,
      );
    }
    await deps.clock.sleep(POLL_MS);
  }
  deps.log.info(`${instanceId}: drained from the target group.`);
  return targets;
}

/** Registers the targets back and waits until the target group reports them healthy. */
export async function registerHealthy(
  deps: TargetGroupDeps,
  targetGroupArn: string,
  targets: TargetDescription[],
  timeoutMs: number,
): Promise<{ healthy: true } | { healthy: false; reason: string }> {
  const instanceId = targets[0]?.Id ?? '';
  await deps.elb.send(
    new RegisterTargetsCommand({ TargetGroupArn: targetGroupArn, Targets: targets }),
  );
  const deadline = deps.clock.now() + timeoutMs;
  let last = 'not registered yet';
  for (;;) {
    const now = await registrations(deps, targetGroupArn, instanceId);
    if (now.length > 0 && now.every((r) => r.state === 'healthy')) {
      deps.log.info(`${instanceId}: healthy in the target group.`);
      return { healthy: true };
    }
    const bad = now.find((r) => r.state !== 'healthy');
    if (bad) last = `${bad.state}${bad.reason ? ` (${bad.reason})` : ''}`;
    if (deps.clock.now() >= deadline) return { healthy: false, reason: last };
    await deps.clock.sleep(POLL_MS);
  }
}
