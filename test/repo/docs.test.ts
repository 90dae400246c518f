// README.md and the pages under docs/ stay true: the inputs/outputs tables are generated from
// action.yml and included files are copies (npm run docs); this fails when they drift, and when
// what the pages say about the action and the service no longer matches the source.
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import {
  docsDrift,
  renderActionTables,
  renderIncludes,
  renderInputsTable,
  renderOutputsTable,
} from '../../scripts/generated-docs.js';

const root = join(import.meta.dirname, '..', '..');
const read = (path: string) => readFile(join(root, path), 'utf8');
const readme = await read('README.md');
const rollout = await read('docs/rollout.md');
const troubleshooting = await read('docs/troubleshooting.md');
const serviceReadme = await read('service/README.md');

/** The text of a markdown section, from its heading to the next heading of the same level. */
function section(markdown: string, heading: string): string {
  const level = /^#+/.exec(heading)![0];
  const start = markdown.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`no section ${heading}`);
  const next = markdown.slice(start + heading.length + 2).search(new RegExp(`^${level} `, 'm'));
  return next < 0
    ? markdown.slice(start)
    : markdown.slice(start, start + heading.length + 2 + next);
}

describe('README.md and the pages it links', () => {
  it('is up to date with action.yml and the files it includes (run `npm run docs` if not)', async () => {
    const drifts = await docsDrift(root);
    expect(drifts.map((d) => d.path)).toEqual([]);
  });

  it('documents every input and output of action.yml, with its default', async () => {
    const action = parse(await readFile(join(root, 'action.yml'), 'utf8')) as {
      inputs: Record<string, { default?: string; required?: boolean }>;
      outputs: Record<string, unknown>;
    };
    const inputs = section(readme, '## Inputs');
    const outputs = section(readme, '## Outputs');
    for (const [name, input] of Object.entries(action.inputs)) {
      const row = inputs.split('\n').find((line) => line.startsWith(`| \`${name}\``));
      expect({ name, row }).toEqual({ name, row: expect.any(String) });
      expect(row).toContain(input.required ? '| yes ' : '| no ');
      if (input.default) expect(row).toContain(`\`${input.default}\``);
    }
    for (const name of Object.keys(action.outputs)) {
      expect(outputs).toMatch(new RegExp(`^\\| \`${name}\` +\\|`, 'm'));
    }
  });

  it('follows the order a new user needs: the action first, its inputs and outputs, then the rest', () => {
    const headings = [...readme.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
    expect(headings).toEqual([
      'Quick start',
      'Inputs',
      'Outputs',
      'What your app needs',
      'More ways to call it',
      'What a run promises',
      'Rolling back',
      'AWS setup',
      'Auto Scaling',
      'Troubleshooting',
      'The sample API',
      'Contributing',
      'Performance',
      'License',
    ]);
  });

  it('stays short: at most 400 lines, with the first workflow before the inputs', () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(400);
    const workflow = readme.indexOf('uses: YOUR_ORG/challenge-deploy@v1');
    expect(workflow).toBeGreaterThan(0);
    expect(workflow).toBeLessThan(readme.indexOf('\n## Inputs\n'));
  });

  it('lists the inputs and outputs in its table of contents', () => {
    const contents = readme.slice(0, readme.indexOf('\n## Quick start\n'));
    expect(contents).toContain('[Inputs](#inputs)');
    expect(contents).toContain('[Outputs](#outputs)');
  });

  it('links to a docs/ page for setup, rollout, Auto Scaling, troubleshooting, contributing and performance, and to the service', () => {
    for (const page of [
      'docs/aws-setup.md',
      'docs/rollout.md',
      'docs/auto-scaling.md',
      'docs/troubleshooting.md',
      'docs/contributing.md',
      'docs/performance.md',
      'service/README.md',
    ]) {
      expect({ page, linked: readme.includes(`](${page}`) }).toEqual({ page, linked: true });
      expect(existsSync(join(root, page))).toBe(true);
    }
  });

  it('links the AWS example files instead of inlining them', async () => {
    const setup = await read('docs/aws-setup.md');
    for (const file of [
      'examples/iam/github-oidc-trust-policy.json',
      'examples/iam/deploy-role-policy.json',
      'examples/iam/instance-role-policy.json',
      'examples/iam/instance-trust-policy.json',
      'examples/instance/user-data.sh',
    ]) {
      expect(readme).toContain(`](${file})`);
      expect(setup).toContain(`](../${file})`);
      for (const page of [readme, setup]) expect(page).not.toContain(`<!-- include: ${file} -->`);
    }
  });

  it("explains every outcome the action's job summary can show, with the summary's own label", async () => {
    const summary = await readFile(join(root, 'action', 'summary.ts'), 'utf8');
    const table = /OUTCOME_LABEL[^=]*=\s*\{([\s\S]*?)\};/.exec(summary)?.[1] ?? '';
    const labels = [...table.matchAll(/:\s*'([^']+)'/g)].map((m) => m[1]!);
    expect(labels.length).toBeGreaterThanOrEqual(4);
    const explained = section(rollout, '## How rollback works');
    for (const label of labels) {
      expect({ label, explained: new RegExp(`^\\| ${label} +\\|`, 'm').test(explained) }).toEqual({
        label,
        explained: true,
      });
    }
  });

  it("quotes the action's messages as the action prints them", async () => {
    const files = (await readdir(join(root, 'action'))).filter(
      (f) => f.endsWith('.ts') && !f.endsWith('.generated.ts'),
    );
    const source = (
      await Promise.all(files.map((f) => readFile(join(root, 'action', f), 'utf8')))
    ).join('\n');
    const quoted = [
      'Preflight failed, nothing was changed',
      'not managed by SSM in this region (no agent, no instance role, or wrong region)',
      'SSM ping status',
      'failed its health check after',
      'it reported version',
      'no answer',
      'SSM throttled the status poll; next poll in',
      'was taken by a concurrent run; picking the next number.',
      'has mutable tags',
    ];
    for (const message of quoted) {
      expect({
        message,
        inTroubleshooting: troubleshooting.includes(message),
        inAction: source.includes(message),
      }).toEqual({
        message,
        inTroubleshooting: true,
        inAction: true,
      });
    }
  });

  it('lists every environment variable the service reads', async () => {
    const config = await readFile(join(root, 'service', 'config.ts'), 'utf8');
    const names = [...config.matchAll(/\b(?:read|integer)\(env, '([A-Z_]+)'/g)].map((m) => m[1]!);
    expect(names.length).toBeGreaterThanOrEqual(8);
    const api = section(serviceReadme, '## The API');
    expect(names.filter((name) => !api.includes(`\`${name}\``))).toEqual([]);
  });

  it('names the workflows, variables and secret of the original project', () => {
    for (const name of [
      'pr-validation.yml',
      'deploy-to-ecr.yml',
      'AWS_REGION',
      'ECR_REPOSITORY',
      'EC2_INSTANCE_IDS',
      'AWS_ROLE_ARN',
    ]) {
      expect(readme).toContain(name);
    }
  });
});

describe('the docs generator', () => {
  const actionYml =
    'inputs:\n  a:\n    description: "x | y"\n    required: true\n  b:\n    default: "1"\noutputs:\n  c:\n    description: z\n';

  it('renders one row per input and output', () => {
    const inputs = renderInputsTable(actionYml);
    expect(inputs).toContain('| `a` | yes |  | x \\| y |');
    expect(inputs).toContain('| `b` | no | `1` |  |');
    expect(renderOutputsTable(actionYml)).toContain('| `c` | z |');
  });

  it('fills each table between its own markers, wherever they are', () => {
    const page = [
      '## Inputs',
      '<!-- action-docs:inputs:start -->',
      'stale',
      '<!-- action-docs:inputs:end -->',
      '## Outputs',
      '<!-- action-docs:outputs:start -->',
      '<!-- action-docs:outputs:end -->',
    ].join('\n');
    const rendered = renderActionTables(page, actionYml, 'page.md');
    expect(rendered).not.toContain('stale');
    expect(rendered.indexOf('| `a` |')).toBeLessThan(rendered.indexOf('## Outputs'));
    expect(rendered.indexOf('| `c` |')).toBeGreaterThan(rendered.indexOf('## Outputs'));
    expect(renderActionTables('no markers', actionYml, 'page.md')).toBe('no markers');
  });

  it('replaces an include block with the file, fenced by its language', async () => {
    const text = 'a\n<!-- include: x.json -->\nold\n<!-- include:end -->\nb';
    const rendered = await renderIncludes(text, () => Promise.resolve('{"k": 1}\n'));
    expect(rendered).toBe(
      'a\n<!-- include: x.json -->\n```json\n{"k": 1}\n```\n<!-- include:end -->\nb',
    );
  });
});
