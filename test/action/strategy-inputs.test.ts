// The rollout-strategy inputs (canary, bake-time, alarm-names, max-failures): parsed and checked
// before any AWS call, each error naming its input.
import { describe, expect, it } from '@jest/globals';
import { InputError, parseInputs } from '../../action/inputs.js';

const BASE: Record<string, string> = {
  'ecr-repository': 'challenge-app',
  image: 'challenge-app:build',
  'instance-ids': 'i-0123456789abcdef0',
};

function parse(values: Record<string, string>) {
  const all = { ...BASE, ...values };
  return parseInputs((name) => all[name] ?? '', { AWS_REGION: 'eu-west-1' });
}

describe('the strategy inputs', () => {
  it('read canary and max-failures as counts or percentages', () => {
    expect(parse({ canary: '1', 'max-failures': '2' })).toMatchObject({
      canary: { count: 1 },
      maxFailures: { count: 2 },
    });
    expect(parse({ canary: '10%', 'max-failures': '5%' })).toMatchObject({
      canary: { percent: 10 },
      maxFailures: { percent: 5 },
    });
    expect(parse({ 'max-failures': '0%' }).maxFailures).toEqual({ percent: 0 });
  });

  it.each([
    [
      'canary',
      '0',
      /Input canary must be a number of instances \(1, 2, …\) or a percentage of the fleet \(1% to 100%\), got "0"/,
    ],
    ['canary', '0%', /Input canary must be .* got "0%"/],
    ['canary', '101%', /Input canary must be .* got "101%"/],
    ['canary', 'one', /Input canary must be .* got "one"/],
    ['canary', '-1', /Input canary must be .* got "-1"/],
    [
      'max-failures',
      '-1',
      /Input max-failures must be a number of instances \(0, 1, …\) or a percentage of the fleet \(0% to 100%\), got "-1"/,
    ],
    ['max-failures', '1.5', /Input max-failures must be .* got "1.5"/],
    ['max-failures', '200%', /Input max-failures must be .* got "200%"/],
    ['bake-time', '30s', /Input bake-time must be a whole number of seconds, got "30s"/],
    ['bake-time', '21601', /Input bake-time must be between 0 and 21600, got 21601/],
  ])('refuse %s %j, naming the input', (name, value, message) => {
    expect(() => parse({ [name]: value })).toThrow(InputError);
    expect(() => parse({ [name]: value })).toThrow(message);
  });

  it('read bake-time in seconds, 0 by default', () => {
    expect(parse({}).bakeSeconds).toBe(0);
    expect(parse({ 'bake-time': '300' }).bakeSeconds).toBe(300);
  });

  it('split alarm-names on commas and newlines, trimmed and without duplicates', () => {
    expect(
      parse({ 'alarm-names': 'api-5xx, api latency p99\n\napi-5xx\nDB/CPU high (prod)\n' })
        .alarmNames,
    ).toEqual(['api-5xx', 'api latency p99', 'DB/CPU high (prod)']);
  });

  it('refuse an alarm name CloudWatch would refuse, and more than DescribeAlarms takes', () => {
    expect(() => parse({ 'alarm-names': `ok,${'x'.repeat(256)}` })).toThrow(
      /Input alarm-names must list CloudWatch alarm names .* not valid: "x{256}"/,
    );
    expect(() => parse({ 'alarm-names': 'a\tb' })).toThrow(
      /Input alarm-names .* not valid: "a\\tb"/,
    );
    const many = Array.from({ length: 101 }, (_, i) => `alarm-${i}`).join(',');
    expect(() => parse({ 'alarm-names': many })).toThrow(
      'Input alarm-names lists 101 alarms; at most 100',
    );
  });
});
