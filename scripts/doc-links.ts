// The links of the documentation lead somewhere: every relative link names a file or folder of the
// repository, and every `#fragment` names a heading (or an explicit anchor) of its target, as
// GitHub renders them. `npx tsx scripts/doc-links.ts` lists the broken ones; npm test runs the
// same check (test/repo/doc-links.test.ts).
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, normalize, relative } from 'node:path';
import GithubSlugger from 'github-slugger';
import { documentationFiles } from './generated-docs.js';

export type Link = { line: number; target: string };
export type BrokenLink = { file: string; line: number; target: string; reason: string };

const FENCE = /^ {0,3}(`{3,}|~{3,})/;

/** The lines of a markdown file outside fenced code blocks, with their 1-based numbers. */
function proseLines(markdown: string): { line: number; text: string }[] {
  const lines: { line: number; text: string }[] = [];
  let fence: string | undefined;
  markdown.split('\n').forEach((text, index) => {
    const opening = FENCE.exec(text)?.[1];
    if (fence) {
      if (opening && opening[0] === fence[0] && opening.length >= fence.length) fence = undefined;
    } else if (opening) {
      fence = opening;
    } else {
      lines.push({ line: index + 1, text });
    }
  });
  return lines;
}

/** A heading's text as GitHub renders it: links, code spans and emphasis reduced to their text. */
function headingText(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .replace(/`([^`]*)`/g, '$1')
    .replace(/(\*{1,3})(\S(?:.*?\S)?)\1/g, '$2')
    .trim();
}

/**
 * The anchors GitHub gives a markdown file: one per ATX heading, slugged by github-slugger (the
 * package that reproduces GitHub's rule: lower case, punctuation dropped, each space a `-`,
 * repeats numbered `-1`, `-2`), plus explicit `<a name>`/`id` anchors.
 */
export function anchorsOf(markdown: string): Set<string> {
  const slugger = new GithubSlugger();
  const anchors = new Set<string>();
  for (const { text } of proseLines(markdown)) {
    const heading = /^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/.exec(text)?.[1];
    if (heading !== undefined) anchors.add(slugger.slug(headingText(heading)));
    for (const match of text.matchAll(/<a\s[^>]*\b(?:name|id)="([^"]+)"/g)) anchors.add(match[1]!);
  }
  return anchors;
}

/** The link targets of a markdown file (inline links, images and reference definitions). */
export function linksOf(markdown: string): Link[] {
  const links: Link[] = [];
  for (const { line, text } of proseLines(markdown)) {
    const prose = text.replace(/(`+)[\s\S]*?\1/g, '');
    for (const match of prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      links.push({ line, target: match[1]! });
    }
    const definition = /^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/.exec(prose)?.[1];
    if (definition) links.push({ line, target: definition });
  }
  return links;
}

const IGNORED = /^(?:node_modules|build|coverage|data|artifacts|\.e2e)(?:\/|$)/;

/** Every link of the given documentation files that leads nowhere, with the reason. */
export async function brokenLinks(root: string, files: string[]): Promise<BrokenLink[]> {
  const anchorCache = new Map<string, Set<string>>();
  const anchors = async (path: string) => {
    let found = anchorCache.get(path);
    if (!found) {
      found = anchorsOf(await readFile(join(root, path), 'utf8'));
      anchorCache.set(path, found);
    }
    return found;
  };
  const broken: BrokenLink[] = [];
  for (const file of files) {
    for (const { line, target } of linksOf(await readFile(join(root, file), 'utf8'))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: … (not this repository)
      const [pathPart = '', fragment] = target.split('#', 2) as [string, string | undefined];
      const path = pathPart
        ? normalize(
            pathPart.startsWith('/') ? pathPart.slice(1) : join(dirname(file), pathPart),
          ).replace(/\/$/, '')
        : file;
      const report = (reason: string) => broken.push({ file, line, target, reason });
      if (path.startsWith('..') || relative(root, join(root, path)).startsWith('..')) {
        report('leaves the repository');
      } else if (IGNORED.test(path) || !existsSync(join(root, decodeURI(path)))) {
        report(`${path} does not exist in the repository`);
      } else if (fragment !== undefined) {
        const isFile = statSync(join(root, decodeURI(path))).isFile();
        if (!isFile || !path.endsWith('.md')) {
          report(`#${fragment}: ${path} is not a markdown file`);
        } else if (!(await anchors(path)).has(decodeURIComponent(fragment))) {
          report(`#${fragment} is not a heading of ${path}`);
        }
      }
    }
  }
  return broken;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = join(import.meta.dirname, '..');
  const broken = await brokenLinks(root, await documentationFiles(root));
  for (const link of broken) {
    console.error(`${link.file}:${link.line}: (${link.target}) ${link.reason}`);
  }
  if (broken.length === 0) console.log('doc-links: every link leads somewhere.');
  else process.exitCode = 1;
}
