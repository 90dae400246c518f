// CloudWatch alarms that gate the rollout (`alarm-names`). One DescribeAlarms call reads them all
// (at most 100 names, inputs.ts), metric and composite alike: without AlarmTypes CloudWatch returns
// metric alarms only, and a composite alarm would look missing. Why alarms that cannot be read
// stop the rollout: docs/decisions.md.
import { DescribeAlarmsCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { describeAwsError, isMissingCredentials, isRejected } from './aws-errors.js';
import type { Clock } from './clock.js';
import type { Logger } from './logger.js';

export interface AlarmState {
  name: string;
  /** OK, ALARM or INSUFFICIENT_DATA (StateValue). */
  state: string;
  reason?: string;
  /** When it entered this state. */
  since?: Date;
}

export interface AlarmReading {
  alarms: AlarmState[];
  /** Names CloudWatch does not know (a typo, another region or account). */
  missing: string[];
}

/** Reads the alarms' states; throws what the SDK throws after its own retries. */
export async function readAlarms(
  cloudwatch: CloudWatchClient,
  names: string[],
): Promise<AlarmReading> {
  const alarms: AlarmState[] = [];
  let nextToken: string | undefined;
  do {
    const page = await cloudwatch.send(
      new DescribeAlarmsCommand({
        AlarmNames: names,
        AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
        MaxRecords: 100,
        NextToken: nextToken,
      }),
    );
    for (const alarm of [...(page.MetricAlarms ?? []), ...(page.CompositeAlarms ?? [])]) {
      if (!alarm.AlarmName) continue;
      alarms.push({
        name: alarm.AlarmName,
        state: alarm.StateValue ?? 'INSUFFICIENT_DATA',
        reason: alarm.StateReason,
        since: alarm.StateUpdatedTimestamp,
      });
    }
    nextToken = page.NextToken;
  } while (nextToken);
  const found = new Set(alarms.map((alarm) => alarm.name));
  return { alarms, missing: names.filter((name) => !found.has(name)) };
}

/** The first alarm in ALARM, in the order the user listed them. */
export function firing(reading: AlarmReading, names: string[]): AlarmState | undefined {
  for (const name of names) {
    const alarm = reading.alarms.find((a) => a.name === name && a.state === 'ALARM');
    if (alarm) return alarm;
  }
  return undefined;
}

export function describeAlarm(alarm: AlarmState): string {
  const since = alarm.since ? ` since ${alarm.since.toISOString()}` : '';
  return `CloudWatch alarm "${alarm.name}" is in ALARM${since}${alarm.reason ? ` (${alarm.reason})` : ''}`;
}

/**
 * How long the rollout may go without a successful DescribeAlarms answer. The SDK already retries
 * each call (adaptive, 5 attempts); past this the rollout stops and rolls back rather than go on
 * blind: an alarm nobody can read is not an alarm that is OK.
 */
export const ALARM_BLIND_LIMIT_MS = 300_000;
/** Between two reads during a bake. */
export const ALARM_POLL_MS = 10_000;

export type AlarmVerdict =
  | { kind: 'ok' }
  | { kind: 'alarm'; alarm: AlarmState }
  | { kind: 'missing'; names: string[] }
  | { kind: 'blind'; error: string; sinceMs: number };

export interface AlarmWatchDeps {
  cloudwatch: CloudWatchClient;
  clock: Clock;
  log: Logger;
}

/**
 * Watches the alarms: each `check()` reads them once. A read that failed for a passing reason
 * (throttling, a 5xx, no answer) is logged and answered `ok` while the last good read is younger
 * than ALARM_BLIND_LIMIT_MS, `blind` after that; one AWS refused (AccessDenied, an expired
 * session) will not get better by asking again and is `blind` at once.
 */
export class AlarmWatch {
  private lastGood: number;
  private lastError: string | undefined;

  constructor(
    private readonly deps: AlarmWatchDeps,
    readonly names: string[],
  ) {
    this.lastGood = deps.clock.now();
  }

  async check(): Promise<AlarmVerdict> {
    const { clock, log } = this.deps;
    let reading: AlarmReading;
    try {
      reading = await readAlarms(this.deps.cloudwatch, this.names);
    } catch (error) {
      this.lastError = describeAwsError(error);
      const blindMs = clock.now() - this.lastGood;
      if (blindMs >= ALARM_BLIND_LIMIT_MS || isRejected(error) || isMissingCredentials(error)) {
        return { kind: 'blind', error: this.lastError, sinceMs: blindMs };
      }
      log.warning(
        `CloudWatch DescribeAlarms failed (${this.lastError}); asking again. The rollout does not go on until the alarms have been read; after ${Math.round(ALARM_BLIND_LIMIT_MS / 60_000)} min without an answer it stops and rolls back.`,
      );
      return { kind: 'ok' };
    }
    if (reading.missing.length > 0) return { kind: 'missing', names: reading.missing };
    this.lastGood = clock.now();
    this.lastError = undefined;
    const alarm = firing(reading, this.names);
    return alarm ? { kind: 'alarm', alarm } : { kind: 'ok' };
  }

  /** Reads until one read succeeds (or the blind limit passes): the gate between batches. */
  async checkFresh(): Promise<AlarmVerdict> {
    const { clock } = this.deps;
    const askedAt = clock.now();
    for (let pauseMs = 5_000; ; pauseMs = Math.min(pauseMs * 2, 60_000)) {
      const verdict = await this.check();
      if (verdict.kind !== 'ok' || this.lastGood >= askedAt) return verdict;
      await clock.sleep(pauseMs);
    }
  }
}
