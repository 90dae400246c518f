// The rollout and the real instance script together: a fake SSM runs each SendCommand's script
// with bash in one sandbox per instance (instance-sandbox.ts), so the action reads real result
// lines and exit codes, and its rollback runs the real script with the previous image.
import {
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  SendCommandCommand,
  SSMClient,
  type GetCommandInvocationCommandInput,
  type ListCommandInvocationsCommandInput,
  type SendCommandCommandInput,
} from '@aws-sdk/client-ssm';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { planBatches, rollOut } from '../../action/rollout.js';
import { rolloutOutputs } from '../../action/summary.js';
import { fakeClock, ids, recordingLogger } from './fakes.js';
import { createSandbox, type AppShape, type Health, type Sandbox } from './instance-sandbox.js';

const ssmMock = mockClient(SSMClient);
const ssm = new SSMClient({ region: 'eu-west-1' });
const REGISTRY = '10.231.0.1:5000';
const SECRETS = 'DATABASE_URL=postgres://app:s3cret@db/app\nAPI_TOKEN=t1\n';
const ENV_V7 = `${SECRETS}IMAGE=${REGISTRY}/challenge-app:v7\nAPP_VERSION=v7\n`;

let sandboxes = new Map<string, Sandbox>();

beforeEach(() => {
  ssmMock.reset();
});
afterEach(() => {
  for (const sandbox of sandboxes.values()) sandbox.remove();
  sandboxes = new Map();
});

/** Each instance runs the script in its own sandbox; its APP_DIR is its sandbox's app dir. */
function instancesRunningScripts(
  health: Record<string, Health>,
  appShape: AppShape = 'json',
): void {
  const commands = new Map<string, Map<string, { exitCode: number; stdout: string }>>();
  let sequence = 0;
  ssmMock.on(SendCommandCommand).callsFake((input: SendCommandCommandInput) => {
    const script = input.Parameters?.commands?.[0] ?? '';
    const results = new Map<string, { exitCode: number; stdout: string }>();
    for (const id of input.InstanceIds ?? []) {
      const sandbox = sandboxes.get(id)!;
      const own = script.replace(
        /^readonly APP_DIR='.*'$/m,
        `readonly APP_DIR='${sandbox.appDir}'`,
      );
      const run = sandbox.run(own);
      results.set(id, { exitCode: run.exitCode ?? -1, stdout: run.stdout });
    }
    const commandId = `cmd-${++sequence}`;
    commands.set(commandId, results);
    return { Command: { CommandId: commandId } };
  });
  ssmMock
    .on(ListCommandInvocationsCommand)
    .callsFake((input: ListCommandInvocationsCommandInput) => ({
      CommandInvocations: [...(commands.get(input.CommandId ?? '') ?? [])].map(([id, r]) => ({
        InstanceId: id,
        Status: r.exitCode === 0 ? 'Success' : 'Failed',
      })),
    }));
  ssmMock.on(GetCommandInvocationCommand).callsFake((input: GetCommandInvocationCommandInput) => {
    const r = commands.get(input.CommandId ?? '')?.get(input.InstanceId ?? '');
    return { ResponseCode: r?.exitCode, StandardOutputContent: r?.stdout };
  });
  for (const [id, mode] of Object.entries(health)) {
    sandboxes.set(id, createSandbox({ env: ENV_V7, health: mode, badVersion: 'v8', appShape }));
  }
}

function plan(fleet: string[], size: number) {
  return {
    version: 'v8',
    image: `${REGISTRY}/challenge-app:v8`,
    registry: REGISTRY,
    region: 'eu-west-1',
    batches: planBatches(fleet, size),
    appDir: '/opt/challenge-app',
    healthUrl: 'http://localhost/health',
    healthTimeoutSeconds: 4,
    commandTimeoutSeconds: 600,
    rollback: true,
  };
}

describe('a rollout running the real instance script', () => {
  it('deploys every instance and keeps their secrets', async () => {
    const fleet = ids(3);
    instancesRunningScripts(Object.fromEntries(fleet.map((id) => [id, 'healthy'])));
    const report = await rollOut(
      { ssm, clock: fakeClock(), log: recordingLogger() },
      plan(fleet, 2),
    );
    expect(report.succeeded).toBe(true);
    for (const id of fleet) {
      expect(sandboxes.get(id)?.running()).toBe('v8');
      expect(sandboxes.get(id)?.env()).toBe(
        `${SECRETS}IMAGE=${REGISTRY}/challenge-app:v8\nAPP_VERSION=v8\n`,
      );
    }
    expect(report.results.map((r) => r.previousVersion)).toEqual(['v7', 'v7', 'v7']);
  });

  it('stops at instance 3 of 5 and returns 1 and 2 to v7 with the same script', async () => {
    const fleet = ids(5);
    instancesRunningScripts(
      Object.fromEntries(fleet.map((id, i) => [id, i === 2 ? 'new-unhealthy' : 'healthy'])),
    );
    const log = recordingLogger();
    const report = await rollOut({ ssm, clock: fakeClock(), log }, plan(fleet, 1));

    expect(report.results.map((r) => r.outcome)).toEqual([
      'rolled-back',
      'rolled-back',
      'rolled-back',
      'not-reached',
      'not-reached',
    ]);
    expect(report.failure).toMatch(
      new RegExp(
        `${fleet[2]}: v8 failed its health check after \\d+ s \\(HTTP 503\\); rolled back to v7 \\(healthy\\)\\.`,
      ),
    );
    for (const id of fleet) {
      expect(sandboxes.get(id)?.running()).toBe('v7');
      expect(sandboxes.get(id)?.env()).toBe(ENV_V7);
    }
    expect(sandboxes.get(fleet[3]!)?.calls()).toEqual(['']);
    expect(rolloutOutputs(report, '')).toMatchObject({
      'deployed-instances': '',
      'failed-instances': fleet[2],
      'rolled-back': 'true',
    });
    const rollbackLog = log.groups.find((g) =>
      g.title.startsWith(`${fleet[0]}: rolled back to v7`),
    );
    expect(rollbackLog?.body).toContain('rollback: 10.231.0.1:5000/challenge-app:v7 as v7');
  });

  it('deploys and rolls back apps that report their version in a header (health-version)', async () => {
    const fleet = ids(3);
    instancesRunningScripts(
      Object.fromEntries(fleet.map((id, i) => [id, i === 1 ? 'new-unhealthy' : 'healthy'])),
      'header',
    );
    const report = await rollOut(
      { ssm, clock: fakeClock(), log: recordingLogger() },
      { ...plan(fleet, 1), healthVersion: { kind: 'header', name: 'X-App-Version' } },
    );
    // Instance 1 passed on v8 by its header, then went back to v7, checked by its header too.
    expect(report.results.map((r) => r.outcome)).toEqual([
      'rolled-back',
      'rolled-back',
      'not-reached',
    ]);
    expect(report.failure).toMatch(
      new RegExp(
        `${fleet[1]}: v8 failed its health check .*\\(HTTP 503\\); rolled back to v7 \\(healthy\\)`,
      ),
    );
    expect(sandboxes.get(fleet[0]!)?.running()).toBe('v7');
    expect(sandboxes.get(fleet[0]!)?.calls()).toContain('docker compose up -d');
  });

  it('returns instances to their previous compose file and .env exactly when a later one fails', async () => {
    const fleet = ids(3);
    instancesRunningScripts(
      Object.fromEntries(fleet.map((id, i) => [id, i === 1 ? 'new-unhealthy' : 'healthy'])),
    );
    const report = await rollOut(
      { ssm, clock: fakeClock(), log: recordingLogger() },
      {
        ...plan(fleet, 1),
        composeContent: 'services:\n  app:\n    image: ${IMAGE}\n    env_file: .env\n',
        envEntries: [{ key: 'FEATURE_X', value: 'on' }],
      },
    );
    expect(report.results.map((r) => r.outcome)).toEqual([
      'rolled-back',
      'rolled-back',
      'not-reached',
    ]);
    for (const id of fleet) {
      const sandbox = sandboxes.get(id)!;
      expect(sandbox.env()).toBe(ENV_V7);
      expect(readFileSync(join(sandbox.appDir, 'docker-compose.yml'), 'utf8')).toBe(
        'services: {}\n',
      );
    }
  });
});
