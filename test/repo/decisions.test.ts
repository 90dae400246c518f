// docs/decisions.md and the modules it names point at each other, so a reader of either finds the
// reason, and a decision whose module is renamed or removed fails here instead of going stale.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';

const root = join(import.meta.dirname, '..', '..');
const decisions = await readFile(join(root, 'docs', 'decisions.md'), 'utf8');
/** Every `service/…ts` or `action/…ts` path the decisions name. */
const modules = [
  ...new Set(decisions.match(/(?<![\w/])(?:service|action)\/[\w/.-]+(?<!\.test)\.ts/g) ?? []),
];

describe('docs/decisions.md', () => {
  it('names the modules whose choices it records', () => {
    expect(modules.length).toBeGreaterThanOrEqual(8);
  });

  it.each(modules)('%s exists and points back to docs/decisions.md', async (module) => {
    const source = await readFile(join(root, module), 'utf8');
    expect(source).toContain('docs/decisions.md');
  });

  it('gives every entry an alternative and a time to revisit', () => {
    const entries = decisions.split(/^### /m).slice(1);
    expect(entries.length).toBeGreaterThanOrEqual(8);
    for (const entry of entries) {
      const title = entry.split('\n')[0];
      expect({ title, alternative: /\*\*Alternative:\*\*/.test(entry) }).toEqual({
        title,
        alternative: true,
      });
      expect({ title, revisit: /\*\*Revisit when\*\*/.test(entry) }).toEqual({
        title,
        revisit: true,
      });
    }
  });
});
