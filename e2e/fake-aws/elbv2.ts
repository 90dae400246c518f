// An ELBv2 target group over haproxy's runtime API: DeregisterTargets drains the instance's server
// (no new requests; after the deregistration delay it goes to maintenance), RegisterTargets makes
// it ready again, DescribeTargetHealth reports haproxy's own health-check state.
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
  /** Every state change, in order, for assertions (`i-…: draining`). */
  readonly history: string[];
}

interface Registration {
  registered: boolean;
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
    instanceIds.map((id) => [id, { registered: true, registeredAt: 0 }]),
  );
  const group: TargetGroup = { operations: {}, deregistrationDelayMs: 2000, history: [] };

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
  ): Promise<{ state: string; reason?: string }> {
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
      return { state: 'unused', reason: 'Target.NotRegistered' };
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
        const { state, reason } = await describe(id, registration, states);
        // A deregistered target is listed only when asked for by id, as the real API does.
        if (state === 'unused' && asked.length === 0) continue;
        members.push(
          `<member><HealthCheckPort>${PORT}</HealthCheckPort><Target><Id>${xmlEscape(id)}</Id><Port>${PORT}</Port></Target>` +
            `<TargetHealth><State>${state}</State>${reason ? `<Reason>${reason}</Reason>` : ''}</TargetHealth></member>`,
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
      for (const { id } of targets(params)) {
        const registration = known(id);
        if (registration.registered) continue;
        registration.registered = true;
        registration.registeredAt = Date.now();
        registration.drainedAt = undefined;
        await haproxy.command(`set server ${BACKEND}/${id} state ready`);
        group.history.push(`${id}: registered`);
      }
      return '';
    },
  };
  return group;
}
