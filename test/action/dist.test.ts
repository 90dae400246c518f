// Runs the committed bundle the way the runner does: a child `node dist/index.js` with INPUT_*
// variables (upper-cased names, hyphens kept), GITHUB_OUTPUT / GITHUB_STEP_SUMMARY / GITHUB_STATE
// files, and AWS_ENDPOINT_URL pointing at a tiny node:http stand-in for the few AWS calls a dry
// run makes. Then rebuilds the bundle and fails when it differs from dist/.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

const ROOT = new URL('../../', import.meta.url).pathname;
const DIGEST = `sha256:${'a'.repeat(64)}`;
const FLEET = ['i-0123456789abcdef0', 'i-0123456789abcdef1', 'i-0123456789abcdef2'];

interface AwsCall {
  target: string;
  body: Record<string, unknown>;
  at: number;
}

const calls: AwsCall[] = [];
let server: Server;
let endpoint: string;
const work = mkdtempSync(join(tmpdir(), 'dist-test-'));

function answer(target: string, body: Record<string, unknown>): [number, unknown] {
  const operation = target.split('.').at(-1);
  switch (operation) {
    case 'DescribeInstanceInformation':
      return [
        200,
        {
          InstanceInformationList: FLEET.map((id) => ({
            InstanceId: id,
            PingStatus: 'Online',
            PlatformType: 'Linux',
          })),
        },
      ];
    case 'DescribeRepositories':
      return [
        200,
        {
          repositories: [
            { repositoryName: 'challenge-app', repositoryUri: '10.231.0.1:5000/challenge-app' },
          ],
        },
      ];
    case 'DescribeImages':
      return [
        200,
        {
          imageDetails: [{ imageDigest: `sha256:${'1'.repeat(64)}`, imageTags: ['v7', 'latest'] }],
        },
      ];
    case 'BatchGetImage':
      return [
        200,
        {
          images: [
            {
              imageId: { imageDigest: DIGEST, imageTag: 'main' },
              imageManifest: '{}',
              imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
            },
          ],
          failures: [],
        },
      ];
    case 'PutImage':
      return [200, { image: { imageId: { imageDigest: DIGEST, imageTag: body.imageTag } } }];
    case 'SendCommand':
      return [200, { Command: { CommandId: 'cmd-1', Status: 'Pending' } }];
    case 'ListCommandInvocations':
      return [
        200,
        {
          CommandInvocations: FLEET.slice(0, 1).map((InstanceId) => ({
            CommandId: 'cmd-1',
            InstanceId,
            Status: 'InProgress',
          })),
        },
      ];
    case 'ListCommands':
      return [200, { Commands: [{ CommandId: body.CommandId, Status: 'InProgress' }] }];
    case 'CancelCommand':
      return [200, {}];
    default:
      return [400, { __type: 'UnknownOperationException', message: `not faked: ${target}` }];
  }
}

beforeAll(async () => {
  server = createServer((request, response) => {
    let raw = '';
    request.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    request.on('end', () => {
      const target = String(request.headers['x-amz-target'] ?? '');
      const body = (raw ? JSON.parse(raw) : {}) as Record<string, unknown>;
      calls.push({ target, body, at: Date.now() });
      const [status, payload] = answer(target, body);
      response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(JSON.stringify(payload));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  server.close();
  rmSync(work, { recursive: true, force: true });
});

interface RunnerRun {
  exitCode: number | null;
  stdout: string;
  outputs: Record<string, string>;
  summary: string;
  state: string;
  startedAt: number;
}

/** Parses the runner's `name<<delimiter` file format (GITHUB_OUTPUT, GITHUB_STATE). */
function parseCommandFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  const pattern = /^([^\n<]+)<<(\S+)\n([\s\S]*?)\n\2$/gm;
  for (const match of text.matchAll(pattern)) values[match[1]!] = match[3]!;
  return values;
}

async function runAction(
  inputs: Record<string, string>,
  extraEnv: Record<string, string> = {},
  whileRunning?: (child: ReturnType<typeof spawn>) => void,
) {
  const dir = mkdtempSync(join(work, 'run-'));
  const files = {
    GITHUB_OUTPUT: join(dir, 'output'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary'),
    GITHUB_STATE: join(dir, 'state'),
  };
  for (const file of Object.values(files)) writeFileSync(file, '');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    RUNNER_TEMP: dir,
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'secret',
    AWS_REGION: 'eu-west-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    ...files,
    ...extraEnv,
  };
  for (const [name, value] of Object.entries(inputs)) {
    env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;
  }
  const startedAt = Date.now();
  const child = spawn(process.execPath, [join(ROOT, 'dist/index.js')], { env, cwd: dir });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  whileRunning?.(child);
  const exitCode = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const read = (path: string) => readFileSync(path, 'utf8');
  return {
    exitCode,
    stdout,
    outputs: parseCommandFile(read(files.GITHUB_OUTPUT)),
    summary: read(files.GITHUB_STEP_SUMMARY),
    state: read(files.GITHUB_STATE),
    startedAt,
  } satisfies RunnerRun;
}

const DEFAULTS = {
  'aws-region': '',
  'tag-prefix': 'v',
  'app-dir': '/opt/challenge-app',
  'health-url': 'http://localhost/health',
  'health-timeout': '120',
  'max-parallel': '1',
  rollback: 'true',
  'command-timeout': '600',
};

describe('dist/index.js run as the runner runs it', () => {
  it('in dry-run makes only read calls, through AWS_ENDPOINT_URL, and sets the outputs', async () => {
    calls.length = 0;
    const run = await runAction({
      ...DEFAULTS,
      'ecr-repository': 'challenge-app',
      'source-tag': 'main',
      'instance-ids': FLEET.join('\n'),
      'max-parallel': '2',
      'dry-run': 'true',
    });
    expect(run.stdout).not.toContain('::error');
    expect(run.exitCode).toBe(0);
    expect(run.outputs).toEqual({
      version: 'v8',
      'image-uri': '10.231.0.1:5000/challenge-app:v8',
      'image-digest': DIGEST,
      'deployed-instances': '',
      'failed-instances': '',
      'rolled-back': 'false',
    });
    expect(calls.map((c) => c.target.split('.').at(-1))).toEqual([
      'DescribeInstanceInformation',
      'DescribeRepositories',
      'BatchGetImage',
      'DescribeImages',
    ]);
    expect(run.stdout).toContain('Dry run: nothing was changed.');
    expect(run.stdout).toContain(`1. ${FLEET[0]}, ${FLEET[1]}`);
    expect(run.stdout).toContain('::group::The instance script each instance would run');
    expect(run.stdout).toContain("readonly IMAGE='10.231.0.1:5000/challenge-app:v8'");
    expect(run.summary).toContain('### Dry run of v8');
    expect(parseCommandFile(run.state)).toMatchObject({ isPost: 'true', region: 'eu-west-1' });
    const firstCall = (calls[0]?.at ?? Infinity) - run.startedAt;
    process.stdout.write(`dist/index.js: first AWS call ${firstCall} ms after launch\n`);
    expect(firstCall).toBeLessThan(5000);
  });

  it('fails on a wrong input, naming it, before any AWS call', async () => {
    calls.length = 0;
    const run = await runAction({
      ...DEFAULTS,
      'ecr-repository': 'challenge-app',
      image: 'app:build',
      'instance-ids': 'i-123',
    });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain(
      '::error::Input instance-ids must list EC2 or managed instance ids',
    );
    expect(calls).toEqual([]);
  });

  it('cancels its SSM command and fails when the job is cancelled (SIGINT) mid-rollout', async () => {
    calls.length = 0;
    const run = await runAction(
      {
        ...DEFAULTS,
        'ecr-repository': 'challenge-app',
        'source-tag': 'main',
        'instance-ids': FLEET[0]!,
      },
      {},
      (child) => {
        const wait = setInterval(() => {
          if (calls.some((c) => c.target.endsWith('.ListCommandInvocations'))) {
            clearInterval(wait);
            child.kill('SIGINT');
          }
        }, 50);
      },
    );
    expect(run.exitCode).toBe(1);
    expect(calls.map((c) => c.target.split('.').at(-1))).toEqual(
      expect.arrayContaining(['PutImage', 'SendCommand', 'ListCommands', 'CancelCommand']),
    );
    expect(calls.find((c) => c.target.endsWith('.CancelCommand'))?.body.CommandId).toBe('cmd-1');
    expect(parseCommandFile(run.state).inFlightCommands).toBe('["cmd-1"]');
    expect(run.outputs).toMatchObject({ version: 'v8', 'image-digest': DIGEST });
  });

  it('in its post run cancels the SSM commands the main run left in flight', async () => {
    calls.length = 0;
    const run = await runAction(DEFAULTS, {
      STATE_isPost: 'true',
      STATE_region: 'eu-west-1',
      STATE_inFlightCommands: JSON.stringify(['cmd-1']),
    });
    expect(run.exitCode).toBe(0);
    expect(calls.map((c) => [c.target.split('.').at(-1), c.body.CommandId])).toEqual([
      ['ListCommands', 'cmd-1'],
      ['CancelCommand', 'cmd-1'],
    ]);
  });
});

describe('dist/', () => {
  it('holds the instance script as text', () => {
    const bundle = readFileSync(join(ROOT, 'dist/index.js'), 'utf8');
    expect(bundle).toContain('CHALLENGE_DEPLOY_RESULT');
    expect(bundle).toContain('aws ecr get-login-password --region');
  });

  it('equals a fresh `npm run bundle` of action/', async () => {
    const out = join(work, 'fresh-dist');
    await promisify(execFile)(
      join(ROOT, 'node_modules/.bin/ncc'),
      ['build', 'action/index.ts', '-o', out, '--source-map', '--license', 'licenses.txt'],
      { cwd: ROOT },
    );
    const committed = readdirSync(join(ROOT, 'dist')).sort();
    expect(readdirSync(out).sort()).toEqual(committed);
    for (const file of committed) {
      const same = readFileSync(join(out, file)).equals(readFileSync(join(ROOT, 'dist', file)));
      if (!same)
        throw new Error(
          `dist/${file} differs from a fresh bundle: run npm run bundle and commit dist/`,
        );
    }
  }, 180_000);
});
