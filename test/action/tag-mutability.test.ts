import { describe, expect, it } from '@jest/globals';
import { wildcardMatchesVersionTags } from '../../action/tag-mutability.js';

describe('an ECR exclusion filter against the version tags <prefix>N', () => {
  it.each([
    ['v*', 'v', true],
    ['*', 'v', true],
    ['v1*', 'v', true],
    ['v7', 'v', true],
    ['*7', 'v', true],
    ['v*-rc', 'v', false],
    ['v', 'v', false],
    ['latest', 'v', false],
    ['release-*', 'v', false],
    ['release-*', 'release-', true],
    ['re*1', 'release-', true],
    ['*.*', 'v', false],
    ['*.*', 'app.v', true],
  ])('%s matches some %sN: %s', (filter, prefix, matches) => {
    expect(wildcardMatchesVersionTags(filter, prefix)).toBe(matches);
  });
});
