// The parts of the documentation that are copies of other files, generated so they never drift:
//   - README.md's inputs/outputs tables, from action.yml
//     (between <!-- action-docs:start --> and <!-- action-docs:end -->)
//   - README.md's included files (between <!-- include: PATH --> and <!-- include:end -->)
//   - the compose file inside examples/instance/user-data.sh, from service/docker-compose.yml
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { parse } from 'yaml';

type ActionInput = { description?: string; required?: boolean; default?: string };
type ActionYml = {
  inputs?: Record<string, ActionInput>;
  outputs?: Record<string, { description?: string }>;
};

export type Drift = { path: string; current: string; expected: string };

const ACTION_START = '<!-- action-docs:start -->';
const ACTION_END = '<!-- action-docs:end -->';

function cell(text: string): string {
  return text
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\|/g, '\\|')
    .trim();
}

/** The inputs and outputs of action.yml as two markdown tables. */
export function renderActionTables(actionYml: string): string {
  const action = parse(actionYml) as ActionYml;
  const lines = [
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
    '',
    '| Output | Description |',
    '| --- | --- |',
    ...Object.entries(action.outputs ?? {}).map(
      ([name, output]) => `| \`${name}\` | ${cell(output.description ?? '')} |`,
    ),
  ];
  return lines.join('\n');
}

function replaceBetween(
  text: string,
  start: string,
  end: string,
  body: string,
  path: string,
): string {
  const from = text.indexOf(start);
  const to = text.indexOf(end, from);
  if (from < 0 || to < 0) throw new Error(`${path}: markers ${start} … ${end} not found`);
  return `${text.slice(0, from + start.length)}\n${body}\n${text.slice(to)}`;
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

/** README.md as it should be: tables from action.yml, included files filled in. */
export async function readmeDrift(root: string): Promise<Drift[]> {
  const read = reader(root);
  const readme = await read('README.md');
  const tables = renderActionTables(await read('action.yml'));
  const rendered = await renderIncludes(
    replaceBetween(readme, ACTION_START, ACTION_END, tables, 'README.md'),
    read,
  );
  // Formatted as `npm run lint` (prettier --check) expects, so generating never breaks the lint.
  const file = join(root, 'README.md');
  const expected = await format(rendered, { ...(await resolveConfig(file)), filepath: file });
  return readme === expected ? [] : [{ path: 'README.md', current: readme, expected }];
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
