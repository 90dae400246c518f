// GitHub Marketplace readiness: what the Marketplace checks when a release is published with
// "Publish this Action to the GitHub Marketplace" (it refuses the release, not the push, so a
// mistake would only show at the worst moment), and the README sections a listing shows (with
// the publishing step in docs/contributing.md).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const validatorCli = join(root, 'node_modules', '@action-validator', 'cli', 'cli.mjs');

/** The Marketplace refuses a longer description when the release is published. */
const MAX_DESCRIPTION = 125;
/** The colours GitHub documents for `branding.color`. */
const COLORS = [
  'white',
  'black',
  'yellow',
  'blue',
  'green',
  'orange',
  'red',
  'purple',
  'gray-dark',
];

interface ActionMetadata {
  name?: unknown;
  description?: unknown;
  author?: unknown;
  branding?: { icon?: unknown; color?: unknown };
  runs?: { using?: unknown };
}

const text = await readFile(join(root, 'action.yml'), 'utf8');
const action = parse(text) as ActionMetadata;
const readme = await readFile(join(root, 'README.md'), 'utf8');
const contributing = await readFile(join(root, 'docs', 'contributing.md'), 'utf8');

/**
 * Validates a variant of action.yml with action-validator, whose schema (SchemaStore's) lists the
 * Feather icons GitHub allows. Its 0.6 schema predates node24, so the copy says node20.
 */
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'marketplace-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
async function schemaErrors(variant: string): Promise<string> {
  // action-validator tells an action from a workflow by the file name.
  const file = join(await mkdtemp(join(dir, 'variant-')), 'action.yml');
  await writeFile(file, variant.replace(/^(\s+using:\s*)'?node24'?\s*$/m, "$1'node20'"));
  try {
    await run(process.execPath, [validatorCli, file]);
    return '';
  } catch (error) {
    const e = error as { stderr: string; stdout: string };
    return e.stderr + e.stdout || 'action-validator failed';
  }
}

describe('action.yml meets the Marketplace rules', () => {
  it('has a name', () => {
    expect(typeof action.name).toBe('string');
    expect(String(action.name).trim()).not.toBe('');
  });

  it(`has a description of at most ${MAX_DESCRIPTION} characters`, () => {
    expect(typeof action.description).toBe('string');
    const description = String(action.description);
    expect(description.trim()).not.toBe('');
    expect({ length: description.length, description }).toEqual({
      length: Math.min(description.length, MAX_DESCRIPTION),
      description,
    });
  });

  it('has branding: a colour GitHub allows and an icon from its Feather set', async () => {
    expect(COLORS).toContain(action.branding?.color);
    expect(typeof action.branding?.icon).toBe('string');
    expect(await schemaErrors(text)).toBe('');
  });

  it('would be caught by the schema check with an icon GitHub does not allow', async () => {
    // Proves the check above really looks at the icon: the same file with another icon fails.
    const wrong = text.replace(/^(\s+icon:\s*).*$/m, "$1'not-a-feather-icon'");
    expect(wrong).not.toBe(text);
    expect(await schemaErrors(wrong)).toMatch(/icon/);
  });
});

describe('the README works as the Marketplace listing', () => {
  it('shows how to use the action by its published name, with its inputs and outputs', () => {
    expect(readme).toMatch(/^## Quick start$/m);
    expect(readme).toMatch(/uses: YOUR_ORG\/challenge-deploy@v\d+/);
    expect(readme).toMatch(/^## Inputs$/m);
    expect(readme).toMatch(/^## Outputs$/m);
  });

  it('states the one-time manual step that publishes the action to the Marketplace', () => {
    const section = /^## Publishing to the GitHub Marketplace$([\s\S]*?)(?:^## |$(?![\s\S]))/m.exec(
      contributing,
    )?.[1];
    expect(section).toBeDefined();
    expect(section).toMatch(/Publish\s+this\s+Action\s+to\s+the\s+GitHub\s+Marketplace/);
    expect(readme).toContain('](docs/contributing.md)');
  });
});
