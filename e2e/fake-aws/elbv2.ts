// An ELBv2 target group over haproxy's runtime API: DeregisterTargets drains the instance's server
// (no new requests; after the deregistration delay it goes to maintenance), RegisterTargets makes
// it ready again, DescribeTargetHealth reports haproxy's own health-check state, and
// DescribeTargetGroupAttributes the deregistration delay.
import { AwsError, xmlEscape } from './protocol.js';
import type { QueryOperation } from './server.js';

export interface HaproxyRuntime {
  command(line: string): Promise<string>;
  serverStates(): Promise<Record<string, string>>;
}

export interface TargetGroup {
  operations: Record<string, QueryOperation>;
  /** Deregistration delay (the target group attribute deregistration_delay.timeout_seconds). */
  deregistrationDelayMs: number;
  /**
   * false: no load balancer forwards to the group, so ELBv2 reports every registered target
   * `unused` with reason `Target.NotInUse` (not `Target.NotRegistered`: it is registered).
   */
  hasLoadBalancer: boolean;
  /** Targets in an Availability Zone the load balancer does not enable: also `Target.NotInUse`. */
  readonly inDisabledZone: Set<string>;
  /** Every state change, in order, for assertions (`i-…: draining`). */
  readonly history: string[];
}

interface Registration {
  registered: boolean;
  /** The port it was registered on (ELBv2 keeps one per registration). */
  port: number;
  registeredAt: number;
  drainedAt?: number;
}

const BACKEND = 'fleet';
const PORT = 80;

function targets(params: URLSearchParams): Array<{ id: string; port: number }> {
  const found: Array<{ id: string; port: number }> = [];
  for (let n = 1; params.has(`Targets.member.${n}.Id`); n++) {
    found.push({
      id: params.get(`Targets.member.${n}.Id`) ?? '',
      port: Number(params.get(`Targets.member.${n}.Port`) ?? PORT),
    });
  }
  return found;
}

export function targetGroupOperations(
  haproxy: HaproxyRuntime,
  arn: string,
  instanceIds: string[],
): TargetGroup {
  const registrations = new Map<string, Registration>(
    instanceIds.map((id) => [id, { registered: true, port: PORT, registeredAt: 0 }]),
  );
  const group: TargetGroup = {
    operations: {},
    deregistrationDelayMs: 2000,
    hasLoadBalancer: true,
    inDisabledZone: new Set(),
    history: [],
  };

  function checkArn(params: URLSearchParams): void {
    if (params.get('TargetGroupArn') !== arn) {
      throw new AwsError(
        'TargetGroupNotFound',
        `Target groups '${params.get('TargetGroupArn') ?? ''}' not found`,
      );
    }
  }

  function known(id: string): Registration {
    const registration = registrations.get(id);
    if (!registration) {
      throw new AwsError('InvalidTarget', `The following targets are not valid instances: '${id}'`);
    }
    return registration;
  }

  async function describe(
    id: string,
    registration: Registration,
    states: Record<string, string>,
  ): Promise<{ state: string; reason?: string; description?: string }> {
    if (!registration.registered) {
      if (
        registration.drainedAt !== undefined &&
        Date.now() - registration.drainedAt < group.deregistrationDelayMs
      ) {
        return { state: 'draining', reason: 'Target.DeregistrationInProgress' };
      }
      if (registration.drainedAt !== undefined) {
        await haproxy.command(`set server ${BACKEND}/${id} state maint`);
        registration.drainedAt = undefined;
        group.history.push(`${id}: unused`);
      }
      return {
        state: 'unused',
        reason: 'Target.NotRegistered',
        description: 'Target is not registered to the target group',
      };
    }
    if (!group.hasLoadBalancer) {
      return {
        state: 'unused',
        reason: 'Target.NotInUse',
        description: 'Target group is not configured to receive traffic from the load balancer',
      };
    }
    if (group.inDisabledZone.has(id)) {
      return {
        state: 'unused',
        reason: 'Target.NotInUse',
        description: 'Target is in an Availability Zone that is not enabled for the load balancer',
      };
    }
    const status = states[id] ?? '';
    if (status === 'UP') return { state: 'healthy' };
    if (Date.now() - registration.registeredAt < 10_000 && !status.startsWith('DOWN ')) {
      return { state: 'initial', reason: 'Elb.RegistrationInProgress' };
    }
    return { state: 'unhealthy', reason: 'Target.FailedHealthChecks' };
  }

  group.operations = {
    DescribeTargetHealth: async (params) => {
      checkArn(params);
      const states = await haproxy.serverStates();
      const asked = targets(params).map((t) => t.id);
      const members: string[] = [];
      for (const [id, registration] of registrations) {
        if (asked.length > 0 && !asked.includes(id)) continue;
        const { state, reason, description } = await describe(id, registration, states);
        // A deregistered target is listed only when asked for by id, as the real API does.
        if (reason === 'Target.NotRegistered' && asked.length === 0) continue;
        const port = targets(params).find((t) => t.id === id)?.port ?? registration.port;
        members.push(
          `<member><HealthCheckPort>${port}</HealthCheckPort><Target><Id>${xmlEscape(id)}</Id><Port>${port}</Port></Target>` +
            `<TargetHealth><State>${state}</State>${reason ? `<Reason>${reason}</Reason>` : ''}` +
            `${description ? `<Description>${xmlEscape(description)}</Description>` : ''}</TargetHealth></member>`,
        );
      }
      return `<TargetHealthDescriptions>${members.join('')}</TargetHealthDescriptions>`;
    },
    DeregisterTargets: async (params) => {
      checkArn(params);
      for (const { id } of targets(params)) {
        const registration = known(id);
        if (!registration.registered) continue;
        registration.registered = false;
        registration.drainedAt = Date.now();
        await haproxy.command(`set server ${BACKEND}/${id} state drain`);
        group.history.push(`${id}: draining`);
      }
      return '';
    },
    RegisterTargets: async (params) => {
      checkArn(params);
      for (const { id, port } of targets(params)) {
        const registration = known(id);
        if (registration.registered) continue;
        registration.registered = true;
        registration.port = port;
        registration.registeredAt = Date.now();
        registration.drainedAt = undefined;
        await haproxy.command(`set server ${BACKEND}/${id} state ready`);
        group.history.push(`${id}: registered`);
      }
      return '';
    },
    DescribeTargetGroupAttributes: (params) => {
      checkArn(params);
      const attributes: Array<[string, string]> = [
        [
          'deregistration_delay.timeout_seconds',
          String(Math.round(group.deregistrationDelayMs / 1000)),
        ],
        ['stickiness.enabled', 'false'],
        ['stickiness.type', 'lb_cookie'],
        ['load_balancing.algorithm.type', 'round_robin'],
        ['slow_start.duration_seconds', '0'],
      ];
      const members = attributes.map(
        ([key, value]) => `<member><Key>${key}</Key><Value>${value}</Value></member>`,
      );
      return `<Attributes>${members.join('')}</Attributes>`;
    },
  };
  return group;
}
