// CloudWatch metric alarms, as far as a deploy watches them: DescribeAlarms (by name, by prefix,
// by state, paginated) and SetAlarmState, the API AWS offers to make an alarm fire for a test.
// A scenario defines its alarms and flips their state mid-run with `setState` (or SetAlarmState
// through the endpoint); the action sees the change on its next DescribeAlarms.
// Served as AWS JSON 1.0 with query-compatible errors, as @aws-sdk/client-cloudwatch speaks it
// (see services.ts).
import { AwsError, arrayParam, epochSeconds, paginate, type JsonOperation } from './protocol.js';

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

export interface MetricAlarm {
  name: string;
  state: AlarmState;
  reason: string;
  /** When the state last changed (StateUpdatedTimestamp). */
  updatedAt: Date;
  /** Alarm actions (ARNs), for ActionPrefix. */
  actions: string[];
}

export interface CloudWatchAlarms {
  operations: Record<string, JsonOperation>;
  /** Creates or redefines a metric alarm (OK unless told otherwise). */
  define(name: string, state?: AlarmState, reason?: string): MetricAlarm;
  /** What SetAlarmState does; throws for an alarm that does not exist. */
  setState(name: string, state: AlarmState, reason: string): void;
  /** Every change of state, in order (`name: OK → ALARM`), for assertions. */
  readonly history: string[];
}

/** DescribeAlarms' page size when MaxRecords is not given (the API's documented default). */
const DEFAULT_MAX_RECORDS = 50;

export function cloudWatchAlarms(options: { region: string; accountId: string }): CloudWatchAlarms {
  const alarms = new Map<string, MetricAlarm>();
  const history: string[] = [];
  const arn = (name: string): string =>
    `arn:aws:cloudwatch:${options.region}:${options.accountId}:alarm:${name}`;

  function setState(name: string, state: AlarmState, reason: string): void {
    const alarm = alarms.get(name);
    if (!alarm) throw new AwsError('ResourceNotFound', `Alarm ${name} not found`, 404);
    if (alarm.state !== state) {
      history.push(`${name}: ${alarm.state} → ${state}`);
      alarm.updatedAt = new Date();
    }
    alarm.state = state;
    alarm.reason = reason;
  }

  function describe(alarm: MetricAlarm): Record<string, unknown> {
    return {
      AlarmName: alarm.name,
      AlarmArn: arn(alarm.name),
      AlarmConfigurationUpdatedTimestamp: epochSeconds(alarm.updatedAt),
      ActionsEnabled: true,
      OKActions: [],
      AlarmActions: alarm.actions,
      InsufficientDataActions: [],
      StateValue: alarm.state,
      StateReason: alarm.reason,
      StateUpdatedTimestamp: epochSeconds(alarm.updatedAt),
      StateTransitionedTimestamp: epochSeconds(alarm.updatedAt),
      MetricName: 'HTTPCode_Target_5XX_Count',
      Namespace: 'AWS/ApplicationELB',
      Statistic: 'Sum',
      Dimensions: [{ Name: 'LoadBalancer', Value: 'app/challenge-app/0123456789abcdef' }],
      Period: 60,
      EvaluationPeriods: 1,
      Threshold: 5,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    };
  }

  const operations: Record<string, JsonOperation> = {
    DescribeAlarms: (input) => {
      const names = arrayParam<string>(input, 'AlarmNames');
      const prefix = typeof input.AlarmNamePrefix === 'string' ? input.AlarmNamePrefix : undefined;
      if (input.AlarmNames !== undefined && prefix !== undefined) {
        throw new AwsError(
          'InvalidParameterCombination',
          'AlarmNamePrefix and AlarmNames cannot be specified together.',
        );
      }
      if (input.ChildrenOfAlarmName !== undefined || input.ParentsOfAlarmName !== undefined) {
        // Composite alarms are not simulated: say so rather than answer wrongly.
        throw new AwsError(
          'InvalidParameterValue',
          'the fake CloudWatch has no composite alarms (ChildrenOfAlarmName, ParentsOfAlarmName)',
        );
      }
      const types = arrayParam<string>(input, 'AlarmTypes');
      // Without AlarmTypes only metric alarms are returned.
      const wantMetric = types.length === 0 || types.includes('MetricAlarm');
      const wantComposite = types.includes('CompositeAlarm');
      const found = [...alarms.values()]
        .filter((a) => input.AlarmNames === undefined || names.includes(a.name))
        .filter((a) => prefix === undefined || a.name.startsWith(prefix))
        .filter((a) => input.StateValue === undefined || a.state === input.StateValue)
        .filter(
          (a) =>
            typeof input.ActionPrefix !== 'string' ||
            a.actions.some((action) => action.startsWith(input.ActionPrefix as string)),
        )
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const { page, next } = paginate(
        wantMetric ? found : [],
        input.NextToken,
        input.MaxRecords,
        DEFAULT_MAX_RECORDS,
      );
      return {
        ...(wantMetric ? { MetricAlarms: page.map(describe) } : {}),
        ...(wantComposite ? { CompositeAlarms: [] } : {}),
        ...(next ? { NextToken: next } : {}),
      };
    },
    SetAlarmState: (input) => {
      setState(String(input.AlarmName), input.StateValue as AlarmState, String(input.StateReason));
      return {};
    },
  };

  return {
    operations,
    define: (name, state = 'OK', reason = 'Threshold Crossed: no datapoints were breaching') => {
      const alarm: MetricAlarm = { name, state, reason, updatedAt: new Date(), actions: [] };
      alarms.set(name, alarm);
      return alarm;
    },
    setState,
    history,
  };
}
