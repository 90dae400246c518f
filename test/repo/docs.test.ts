// README.md and the files it shows stay true: its inputs/outputs tables are generated from
// action.yml and its included files are copies (npm run docs); this fails when they drift.
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { readmeDrift, renderActionTables, renderIncludes } from '../../scripts/generated-docs.js';

const root = join(import.meta.dirname, '..', '..');
const readme = await readFile(join(root, 'README.md'), 'utf8');

describe('README.md', () => {
  it('is up to date with action.yml and the files it includes (run `npm run docs` if not)', async () => {
    const drifts = await readmeDrift(root);
    expect(drifts.map((d) => d.path)).toEqual([]);
  });

  it('documents every input and output of action.yml, with its default', async () => {
    const action = parse(await readFile(join(root, 'action.yml'), 'utf8')) as {
      inputs: Record<string, { default?: string; required?: boolean }>;
      outputs: Record<string, unknown>;
    };
    for (const [name, input] of Object.entries(action.inputs)) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${name}\``));
      expect({ name, row }).toEqual({ name, row: expect.any(String) });
      expect(row).toContain(input.required ? '| yes ' : '| no ');
      if (input.default) expect(row).toContain(`\`${input.default}\``);
    }
    for (const name of Object.keys(action.outputs)) {
      expect(readme).toMatch(new RegExp(`^\\| \`${name}\` +\\|`, 'm'));
    }
  });

  it('follows the order a new user needs', () => {
    const headings = [...readme.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
    expect(headings).toEqual([
      'Quickstart',
      'The API',
      'Using the action',
      'AWS setup',
      'How rollback works',
      'Troubleshooting',
      'Rolling back by hand to a given version',
      'Developing this repository',
      'License',
    ]);
  });

  it('links only to files that exist', () => {
    const links = [...readme.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)]
      .map((m) => m[1]!)
      .filter((target) => !/^[a-z]+:/.test(target));
    expect(links.length).toBeGreaterThan(5);
    expect(links.filter((target) => !existsSync(join(root, target)))).toEqual([]);
  });

  it("explains every outcome the action's job summary can show, with the summary's own label", async () => {
    const summary = await readFile(join(root, 'action', 'summary.ts'), 'utf8');
    const table = /OUTCOME_LABEL[^=]*=\s*\{([\s\S]*?)\};/.exec(summary)?.[1] ?? '';
    const labels = [...table.matchAll(/:\s*'([^']+)'/g)].map((m) => m[1]!);
    expect(labels.length).toBeGreaterThanOrEqual(4);
    const section = readme.slice(
      readme.indexOf('## How rollback works'),
      readme.indexOf('## Troubleshooting'),
    );
    for (const label of labels) {
      expect({ label, explained: new RegExp(`^\\| ${label} +\\|`, 'm').test(section) }).toEqual({
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
        inReadme: readme.includes(message),
        inAction: source.includes(message),
      }).toEqual({
        message,
        inReadme: true,
        inAction: true,
      });
    }
  });

  it('lists every environment variable the service reads', async () => {
    const config = await readFile(join(root, 'service', 'config.ts'), 'utf8');
    const names = [...config.matchAll(/\b(?:read|integer)\(env, '([A-Z_]+)'/g)].map((m) => m[1]!);
    expect(names.length).toBeGreaterThanOrEqual(8);
    const section = readme.slice(
      readme.indexOf('## The API'),
      readme.indexOf('## Using the action'),
    );
    expect(names.filter((name) => !section.includes(`\`${name}\``))).toEqual([]);
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
  it('renders one row per input and output', () => {
    const tables = renderActionTables(
      'inputs:\n  a:\n    description: "x | y"\n    required: true\n  b:\n    default: "1"\noutputs:\n  c:\n    description: z\n',
    );
    expect(tables).toContain('| `a` | yes |  | x \\| y |');
    expect(tables).toContain('| `b` | no | `1` |  |');
    expect(tables).toContain('| `c` | z |');
  });

  it('replaces an include block with the file, fenced by its language', async () => {
    const text = 'a\n<!-- include: x.json -->\nold\n<!-- include:end -->\nb';
    const rendered = await renderIncludes(text, () => Promise.resolve('{"k": 1}\n'));
    expect(rendered).toBe(
      'a\n<!-- include: x.json -->\n```json\n{"k": 1}\n```\n<!-- include:end -->\nb',
    );
  });
});
