// Every link of the documentation leads somewhere, as GitHub renders it: relative links name a
// file of the repository, and `#fragments` name a heading of their target (GitHub's slugs, from
// github-slugger). A moved section or a renamed heading fails here instead of on a reader.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { anchorsOf, brokenLinks, linksOf } from '../../scripts/doc-links.js';
import { documentationFiles } from '../../scripts/generated-docs.js';

const root = join(import.meta.dirname, '..', '..');

describe('the documentation', () => {
  it('covers the README, the service and e2e READMEs and every page under docs/', async () => {
    const files = await documentationFiles(root);
    expect(files).toEqual(
      expect.arrayContaining([
        'README.md',
        'service/README.md',
        'e2e/README.md',
        'docs/aws-setup.md',
        'docs/rollout.md',
        'docs/troubleshooting.md',
      ]),
    );
  });

  it('cites no issue number (the repository has no issues: say what the thing is)', async () => {
    const files = await documentationFiles(root);
    const citations = [];
    for (const file of files) {
      const text = await readFile(join(root, file), 'utf8');
      for (const match of text.matchAll(/\bissues?[- ]?\d+|(?<![\w/])#\d+(?![\w-])/gi)) {
        citations.push(`${file}: ${match[0]}`);
      }
    }
    expect(citations).toEqual([]);
  });

  it('has no link to a missing file and no #anchor missing from its target', async () => {
    const files = await documentationFiles(root);
    expect(await brokenLinks(root, files)).toEqual([]);
  });
});

describe('anchorsOf', () => {
  it("gives each heading GitHub's slug", () => {
    const anchors = anchorsOf(
      [
        '# Title',
        '## 5. Zero downtime behind the load balancer',
        "## This repository's workflows",
        '## Interactive reference: `/docs`',
        '## AccessDenied on `ssm:SendCommand`',
        '## "vN failed its health check after 120 s (…)"',
        '## snake_case & kebab-case',
        '## See [the setup](aws-setup.md) **now**',
      ].join('\n'),
    );
    expect([...anchors]).toEqual([
      'title',
      '5-zero-downtime-behind-the-load-balancer',
      'this-repositorys-workflows',
      'interactive-reference-docs',
      'accessdenied-on-ssmsendcommand',
      'vn-failed-its-health-check-after-120-s-',
      'snake_case--kebab-case',
      'see-the-setup-now',
    ]);
  });

  it('numbers repeated headings and ignores lines inside fenced code', () => {
    const anchors = anchorsOf(
      ['## Usage', '```bash', '# not a heading', '```', '## Usage', '<a name="custom"></a>'].join(
        '\n',
      ),
    );
    expect([...anchors].sort()).toEqual(['custom', 'usage', 'usage-1']);
  });
});

describe('linksOf', () => {
  it('reads inline links, images and reference definitions, not code', () => {
    const links = linksOf(
      [
        'See [a](docs/a.md#x "title") and ![b](img.png).',
        '`[not](a-link.md)` and',
        '```',
        '[not](either.md)',
        '```',
        '[ref]: ./c.md',
      ].join('\n'),
    );
    expect(links.map((l) => l.target)).toEqual(['docs/a.md#x', 'img.png', './c.md']);
  });
});

describe('brokenLinks', () => {
  let dir = '';
  const write = async (path: string, text: string) => {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'doc-links-'));
    await write(
      'docs/setup.md',
      '# Setup\n\n## 1. The role\n\nBack to [the top](../README.md#top).\n',
    );
    await write('action.yml', 'name: x\n');
    await write(
      'README.md',
      [
        '# Top',
        '[ok](docs/setup.md#1-the-role) [ok](#top) [ok](docs/) [ok](https://example.com/#x)',
        '[gone](docs/missing.md) [stale](docs/setup.md#2-the-role) [here](#nowhere)',
        '[fragment on a file](action.yml#inputs) [outside](../elsewhere.md)',
      ].join('\n'),
    );
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reports missing files and anchors, and passes links that resolve', async () => {
    const broken = await brokenLinks(dir, ['README.md', 'docs/setup.md']);
    expect(broken.map(({ file, target }) => `${file} → ${target}`)).toEqual([
      'README.md → docs/missing.md',
      'README.md → docs/setup.md#2-the-role',
      'README.md → #nowhere',
      'README.md → action.yml#inputs',
      'README.md → ../elsewhere.md',
    ]);
    expect(broken[1]!.reason).toBe('#2-the-role is not a heading of docs/setup.md');
  });
});
