import {
  DeregisterTargetsCommand,
  DescribeTargetGroupAttributesCommand,
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
/** ELBv2's default deregistration delay, when the attribute is missing. */
const DEFAULT_DEREGISTRATION_DELAY_S = 300;
/** Time allowed on top of the deregistration delay for ELBv2 to report the target gone. */
const DRAIN_MARGIN_S = 60;

interface Registration {
  target: TargetDescription;
  state: string;
  /** ELBv2's reason code (Target.NotRegistered, Target.NotInUse, …). */
  reason?: string;
  description?: string;
}

/**
 * `unused` alone does not mean "not registered": ELBv2 also says `unused` (Target.NotInUse) for a
 * registered target of a target group with no load balancer or in an Availability Zone the load
 * balancer does not enable, and (Target.InvalidState) for a stopped instance.
 */
function isRegistered(registration: Registration): boolean {
  return !(registration.state === 'unused' && registration.reason === 'Target.NotRegistered');
}

function described(registration: Registration): string {
  const why = registration.reason ?? registration.description;
  return `${registration.state}${why ? ` (${why})` : ''}`;
}

/** The instance's registrations in the target group (one per port), to register back after. */
async function registrations(
  deps: TargetGroupDeps,
  targetGroupArn: string,
  instanceId: string,
): Promise<Registration[]> {
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
      reason: d.TargetHealth?.Reason,
      description: d.TargetHealth?.Description,
    }));
}

export interface TargetGroupCheck {
  /** How long a drain may take: the group's deregistration delay plus a margin. */
  drainTimeoutMs: number;
  deregistrationDelaySeconds: number;
}

/**
 * Preflight, before anything changes: a target group that ELBv2 does not use for the fleet would
 * never call a target healthy (every instance would fail and be rolled back), and a drain takes
 * as long as the group's deregistration delay (up to 3600 s).
 */
export async function checkTargetGroup(
  deps: TargetGroupDeps,
  targetGroupArn: string,
  instanceIds: string[],
): Promise<TargetGroupCheck> {
  const health = await deps.elb.send(
    new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }),
  );
  const notInUse = (health.TargetHealthDescriptions ?? []).filter(
    (d) =>
      d.Target?.Id !== undefined &&
      instanceIds.includes(d.Target.Id) &&
      d.TargetHealth?.Reason === 'Target.NotInUse',
  );
  if (notInUse.length > 0) {
    throw new Error(
      `Target group ${targetGroupArn} is not in use for ${notInUse.map((d) => d.Target?.Id).join(', ')} (ELBv2 reports Target.NotInUse): the target group has no load balancer, or the instances' Availability Zone is not enabled on its load balancer, so it would never report them healthy. Attach the target group to a load balancer listener and enable the zone, or remove target-group-arn. Nothing was changed.`,
    );
  }
  const attributes = await deps.elb.send(
    new DescribeTargetGroupAttributesCommand({ TargetGroupArn: targetGroupArn }),
  );
  const raw = attributes.Attributes?.find(
    (a) => a.Key === 'deregistration_delay.timeout_seconds',
  )?.Value;
  const delay =
    raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : DEFAULT_DEREGISTRATION_DELAY_S;
  deps.log.info(
    `Target group ${targetGroupArn}: deregistration delay ${delay} s; ${targetGroupConsoleUrl(targetGroupArn)}`,
  );
  return {
    deregistrationDelaySeconds: delay,
    drainTimeoutMs: (delay + DRAIN_MARGIN_S) * 1000,
  };
}

/** The EC2 console page of a target group (linked from the log and the job summary). */
export function targetGroupConsoleUrl(targetGroupArn: string): string {
  const region = targetGroupArn.split(':')[3] ?? '';
  return `https://${region}.console.aws.amazon.com/ec2/home?region=${region}#TargetGroup:targetGroupArn=${targetGroupArn}`;
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
  const found = (await registrations(deps, targetGroupArn, instanceId)).filter(isRegistered);
  const notInUse = found.find((r) => r.reason === 'Target.NotInUse');
  if (notInUse) {
    throw new Error(
      `${instanceId}: the target group reports it ${described(notInUse)}: no load balancer uses the target group in the instance's Availability Zone, so it could never become healthy there.`,
    );
  }
  if (found.length === 0) {
    deps.log.warning(
      `${instanceId}: not registered in the target group; it will be registered on its default port after the deploy.`,
    );
    return [{ Id: instanceId }];
  }
  // Every registration is registered back on its own port, also one that was already draining.
  const targets = found.map((r) => r.target);
  const serving = found.filter((r) => r.state !== 'draining').map((r) => r.target);
  if (serving.length > 0) {
    await deps.elb.send(
      new DeregisterTargetsCommand({ TargetGroupArn: targetGroupArn, Targets: serving }),
    );
  }
  const deadline = deps.clock.now() + timeoutMs;
  for (;;) {
    const left = (await registrations(deps, targetGroupArn, instanceId)).filter(isRegistered);
    if (left.length === 0) break;
    if (deps.clock.now() >= deadline) {
      throw new Error(
        `${instanceId}: still ${left[0] ? described(left[0]) : 'registered'} in the target group after ${Math.round(timeoutMs / 1000)} s of draining.`,
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
    if (bad) last = described(bad);
    // It will never turn healthy: no load balancer uses the group in the instance's zone.
    if (bad?.reason === 'Target.NotInUse') return { healthy: false, reason: last };
    if (deps.clock.now() >= deadline) return { healthy: false, reason: last };
    await deps.clock.sleep(POLL_MS);
  }
}
