// The parts of the documentation that are copies of other files, generated so they never drift:
//   - the inputs and outputs tables, from action.yml (between <!-- action-docs:inputs:start -->
//     and <!-- action-docs:inputs:end -->, and the same with `outputs`)
//   - included files (between <!-- include: PATH --> and <!-- include:end -->)
//   in every markdown file of the documentation (README.md, service/README.md, docs/*.md, …);
//   - the compose file inside examples/instance/user-data.sh, from service/docker-compose.yml
import { readFile, readdir } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { parse } from 'yaml';

type ActionInput = { description?: string; required?: boolean; default?: string };
type ActionYml = {
  inputs?: Record<string, ActionInput>;
  outputs?: Record<string, { description?: string }>;
};

export type Drift = { path: string; current: string; expected: string };

const marker = (table: 'inputs' | 'outputs', end: 'start' | 'end') =>
  `<!-- action-docs:${table}:${end} -->`;

function cell(text: string): string {
  return text
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\|/g, '\\|')
    .trim();
}

/** The inputs of action.yml as a markdown table. */
export function renderInputsTable(actionYml: string): string {
  const action = parse(actionYml) as ActionYml;
  return [
    '| Input | Required | Default | Description |',
    '| --- | --- | --- | --- |',
    ...Object.entries(action.inputs ?? {}).map(
      ([name, input]) =>
        `| \`${name}\` | ${input.required ? 'yes' : 'no'} | ${
          input.default === undefined || input.default === ''
            ? ''
            : `\`${cell(String(input.default))}\``
        } | ${cell(input.description ?? '')} |`,
    ),
  ].join('\n');
}

/** The outputs of action.yml as a markdown table. */
export function renderOutputsTable(actionYml: string): string {
  const action = parse(actionYml) as ActionYml;
  return [
    '| Output | Description |',
    '| --- | --- |',
    ...Object.entries(action.outputs ?? {}).map(
      ([name, output]) => `| \`${name}\` | ${cell(output.description ?? '')} |`,
    ),
  ].join('\n');
}

/** Fills the inputs and outputs tables of a markdown file, where it has their markers. */
export function renderActionTables(markdown: string, actionYml: string, path: string): string {
  let text = markdown;
  for (const [table, render] of [
    ['inputs', renderInputsTable],
    ['outputs', renderOutputsTable],
  ] as const) {
    const start = marker(table, 'start');
    const end = marker(table, 'end');
    const from = text.indexOf(start);
    if (from < 0) continue;
    const to = text.indexOf(end, from);
    if (to < 0) throw new Error(`${path}: ${start} has no ${end}`);
    text = `${text.slice(0, from + start.length)}\n${render(actionYml)}\n${text.slice(to)}`;
  }
  return text;
}

const fence: Record<string, string> = {
  '.json': 'json',
  '.sh': 'bash',
  '.yml': 'yaml',
  '.yaml': 'yaml',
  '.ts': 'ts',
};

/** Fills every `<!-- include: PATH -->` … `<!-- include:end -->` block with the file, fenced. */
export async function renderIncludes(
  readme: string,
  read: (path: string) => Promise<string>,
): Promise<string> {
  const pattern = /(<!-- include: (\S+) -->)\n[\s\S]*?(<!-- include:end -->)/g;
  const parts: string[] = [];
  let last = 0;
  for (const match of readme.matchAll(pattern)) {
    const [whole, open, path, close] = match as unknown as [string, string, string, string];
    const content = (await read(path)).replace(/\n+$/, '');
    const language = fence[extname(path)] ?? '';
    parts.push(
      readme.slice(last, match.index),
      `${open}\n\`\`\`${language}\n${content}\n\`\`\`\n${close}`,
    );
    last = match.index + whole.length;
  }
  parts.push(readme.slice(last));
  return parts.join('');
}

const COMPOSE_START = `cat >"$APP_DIR/docker-compose.yml" <<'COMPOSE'`;
const COMPOSE_END = '\nCOMPOSE\n';

/** Puts the compose file into the user-data script's heredoc. */
export function renderUserData(userData: string, compose: string): string {
  const from = userData.indexOf(COMPOSE_START);
  const to = userData.indexOf(COMPOSE_END, from);
  if (from < 0 || to < 0)
    throw new Error('user-data.sh: the docker-compose.yml heredoc was not found');
  if (/^COMPOSE$/m.test(compose))
    throw new Error('docker-compose.yml contains the heredoc delimiter');
  return `${userData.slice(0, from + COMPOSE_START.length)}\n${compose.replace(/\n+$/, '')}${userData.slice(to)}`;
}

type Read = (path: string) => Promise<string>;

function reader(root: string): Read {
  return (path) => readFile(join(root, path), 'utf8');
}

/**
 * The markdown files of the documentation, relative to the root: README.md, service/README.md,
 * e2e/README.md, docs/*.md and the README.md of every folder under examples/.
 */
export async function documentationFiles(root: string): Promise<string[]> {
  const files = ['README.md', 'service/README.md', 'e2e/README.md'];
  const markdownIn = async (dir: string) =>
    (await readdir(join(root, dir), { recursive: true }))
      .filter((name) => name.endsWith('.md'))
      .map((name) => join(dir, name))
      .sort();
  files.push(...(await markdownIn('docs')));
  files.push(...(await markdownIn('examples')).filter((path) => path.endsWith('/README.md')));
  return files;
}

const GENERATED = /<!-- (?:action-docs:(?:inputs|outputs):start|include: \S+) -->/;

/** Each documentation file as it should be: tables from action.yml, included files filled in. */
export async function docsDrift(root: string): Promise<Drift[]> {
  const read = reader(root);
  const actionYml = await read('action.yml');
  const drifts: Drift[] = [];
  for (const path of await documentationFiles(root)) {
    const current = await read(path);
    if (!GENERATED.test(current)) continue;
    const rendered = await renderIncludes(renderActionTables(current, actionYml, path), read);
    // Formatted as `npm run lint` (prettier --check) expects, so generating never breaks the lint.
    const file = join(root, path);
    const expected = await format(rendered, { ...(await resolveConfig(file)), filepath: file });
    if (current !== expected) drifts.push({ path, current, expected });
  }
  return drifts;
}

export const USER_DATA = 'examples/instance/user-data.sh';
export const COMPOSE_FILE = 'service/docker-compose.yml';

/** The user-data script as it should be: the instance's compose file is service's. */
export async function userDataDrift(root: string): Promise<Drift[]> {
  const read = reader(root);
  const userData = await read(USER_DATA);
  const expected = renderUserData(userData, await read(COMPOSE_FILE));
  return userData === expected ? [] : [{ path: USER_DATA, current: userData, expected }];
}
