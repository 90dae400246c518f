// npm run docs [-- --check]
// Regenerates the documentation's inputs/outputs tables (from action.yml) and included files
// (README.md, service/README.md, docs/*.md, …), and the compose file inside
// examples/instance/user-data.sh (from service/docker-compose.yml).
// With --check it changes nothing and exits 1 when a file is out of date.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { docsDrift, userDataDrift } from './generated-docs.js';

const root = join(import.meta.dirname, '..');
const checkOnly = process.argv.includes('--check');
// The user-data script may be included in a page, so it is brought up to date first.
const drifts = [];
for (const find of [userDataDrift, docsDrift]) {
  const found = await find(root);
  drifts.push(...found);
  if (!checkOnly) {
    for (const drift of found) {
      await writeFile(join(root, drift.path), drift.expected);
      console.log(`docs: updated ${drift.path}`);
    }
  }
}
if (drifts.length === 0) {
  console.log('docs: the documentation and examples/instance/user-data.sh are up to date.');
} else if (checkOnly) {
  console.error(`docs: out of date: ${drifts.map((d) => d.path).join(', ')}. Run npm run docs.`);
  process.exitCode = 1;
}
