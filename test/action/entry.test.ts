// The entry split of GitHub's action template: action/index.ts runs the action, action/main.ts only
// exports run(). Tools such as @github/local-action import main.ts and call run() themselves; a
// main.ts that also ran at import made them deploy twice. The runner's workflow commands reach
// stdout, so what a run does is what this test reads there (no module is mocked).
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';

let written: string[] = [];
const realWrite = process.stdout.write.bind(process.stdout);
const savedEnv = { ...process.env };

beforeEach(() => {
  written = [];
  process.stdout.write = (chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  };
  // No runner files, no inputs: a run fails at once on the missing ecr-repository input.
  for (const name of Object.keys(process.env)) {
    if (/^(INPUT_|STATE_|GITHUB_)/.test(name)) delete process.env[name];
  }
});

afterEach(() => {
  process.stdout.write = realWrite;
  process.env = { ...savedEnv };
  process.exitCode = 0;
});

describe('action/main.ts', () => {
  it('runs nothing when imported, and runs the action when run() is called', async () => {
    const { run } = await import('../../action/main.js');
    expect(written.join('')).toBe('');
    expect(process.exitCode ?? 0).toBe(0);

    await run();
    expect(written.join('')).toContain('::error::Input ecr-repository is required.');
    expect(process.exitCode).toBe(1);
  });
});
