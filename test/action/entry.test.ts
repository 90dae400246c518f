// The entry split of GitHub's action template: action/index.ts runs the action, action/main.ts only
// exports run(). Tools such as @github/local-action import main.ts and call run() themselves; a
// main.ts that also ran at import made them deploy twice. The runner's workflow commands reach
// stdout, so what a run does is what this test reads there (no module is mocked).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';

let written: string[] = [];
// @actions/core keeps the first summary path it sees: one file for every test here.
const summary = join(mkdtempSync(join(tmpdir(), 'entry-test-')), 'summary.md');
writeFileSync(summary, '');
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

  it('writes an input error to the job summary too, not only to the log', async () => {
    process.env.GITHUB_STEP_SUMMARY = summary;
    process.env['INPUT_ECR-REPOSITORY'] = 'challenge-app';
    process.env['INPUT_AWS-REGION'] = 'eu-west-1';
    process.env.INPUT_IMAGE = 'app:build';
    process.env['INPUT_INSTANCE-IDS'] = 'i-0123456789abcdef0';
    process.env['INPUT_MAX-PARALLEL'] = '0';
    const { run } = await import('../../action/main.js');
    await run();
    const message = 'Input max-parallel must be at least 1 instance, got "0".';
    expect(written.join('')).toContain(`::error::${message}`);
    expect(readFileSync(summary, 'utf8')).toContain(message);
  });

  it('reads the rollout journal in the post step and reports what a cancel left', async () => {
    process.env.GITHUB_STEP_SUMMARY = summary;
    process.env.STATE_isPost = 'true';
    process.env.STATE_region = 'eu-west-1';
    process.env.STATE_rolloutJournal = JSON.stringify({
      version: 'v8',
      deployId: 'run-1',
      region: 'eu-west-1',
      registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
      appDir: '/opt/challenge-app',
      healthUrl: 'http://localhost/health',
      healthTimeoutSeconds: 120,
      commandTimeoutSeconds: 600,
      // No AWS call in this test: with rollback false the post step only reports.
      rollback: false,
      instances: { 'i-0123456789abcdef0': {} },
      finished: false,
    });
    const { run } = await import('../../action/main.js');
    await run();
    const message = 'rollback is false: i-0123456789abcdef0 may run v8';
    expect(written.join('')).toContain(message);
    expect(readFileSync(summary, 'utf8')).toContain(message);
  });

  it('says nothing in the post step after a rollout that finished', async () => {
    process.env.STATE_isPost = 'true';
    process.env.STATE_region = 'eu-west-1';
    process.env.STATE_rolloutJournal = JSON.stringify({
      version: 'v8',
      deployId: 'run-1',
      rollback: true,
      instances: { 'i-0123456789abcdef0': {} },
      finished: true,
    });
    const { run } = await import('../../action/main.js');
    await run();
    expect(written.join('')).toBe('');
    expect(process.exitCode ?? 0).toBe(0);
  });
});
