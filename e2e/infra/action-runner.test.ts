// The runner stand-in cancels a step as the Actions runner does and still runs the post step.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { runAction } from './action-runner.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'action-runner-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An action whose main step saves state, reports readiness, then waits; its post step reports. */
function action(onSigint: 'exit' | 'ignore'): string {
  const entry = path.join(dir, `${onSigint}.mjs`);
  writeFileSync(
    entry,
    `import { appendFileSync } from 'node:fs';
if (process.env.STATE_phase) {
  console.log('post saw phase=' + process.env.STATE_phase);
} else {
  appendFileSync(process.env.GITHUB_STATE, 'phase=rolling\\n');
  process.on('SIGINT', () => { console.log('main got SIGINT'); ${onSigint === 'exit' ? 'process.exit(1);' : ''} });
  process.on('SIGTERM', () => { console.log('main got SIGTERM'); process.exit(1); });
  console.log('ready');
  setInterval(() => undefined, 1000);
}
`,
  );
  return entry;
}

describe('runAction cancelling a job', () => {
  it('sends SIGINT, and the post step runs with the state the main step saved', async () => {
    const run = await runAction(
      { entry: action('exit'), workDir: dir, env: {} },
      {},
      { cancel: new Promise((resolve) => setTimeout(resolve, 1500)) },
    );
    expect(run.signals).toEqual(['SIGINT']);
    expect(run.exitCode).toBe(1);
    expect(run.log).toContain('main got SIGINT');
    expect(run.postLog).toContain('post saw phase=rolling');
  });

  it('follows with SIGTERM 7.5 s later when the step goes on after SIGINT', async () => {
    const started = Date.now();
    const run = await runAction(
      { entry: action('ignore'), workDir: dir, env: {} },
      {},
      { cancel: new Promise((resolve) => setTimeout(resolve, 1500)) },
    );
    expect(run.signals).toEqual(['SIGINT', 'SIGTERM']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(7500);
    expect(run.log).toMatch(/main got SIGINT[\s\S]*main got SIGTERM/);
    expect(run.postLog).toContain('post saw phase=rolling');
  }, 20_000);
});
