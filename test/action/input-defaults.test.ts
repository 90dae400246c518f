// One source for each input's default: action.yml, which the runner applies. action/inputs.ts
// keeps a copy for runs without a runner (tests, scripts); this fails when the two differ, in
// either direction, so a default changed in one place only cannot ship.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { INPUT_DEFAULTS, parseInputs } from '../../action/inputs.js';

const root = join(import.meta.dirname, '..', '..');
const action = parse(await readFile(join(root, 'action.yml'), 'utf8')) as {
  inputs: Record<string, { default?: unknown; required?: boolean }>;
};
const declared = Object.fromEntries(
  Object.entries(action.inputs)
    .filter(([, input]) => input.default !== undefined)
    .map(([name, input]) => [name, String(input.default)]),
);

describe('input defaults', () => {
  it('are the same in action.yml and action/inputs.ts', () => {
    expect(INPUT_DEFAULTS).toEqual(declared);
  });

  it('are what parseInputs applies when the runner gives nothing', () => {
    const required: Record<string, string> = {
      'ecr-repository': 'challenge-app',
      'aws-region': 'eu-west-1',
      'source-tag': 'latest',
      'instance-ids': 'i-0123456789abcdef0',
    };
    const withDefaults = parseInputs((name) => required[name] ?? '');
    const asRunner = parseInputs((name) => required[name] ?? declared[name] ?? '');
    expect(withDefaults).toEqual(asRunner);
  });
});
