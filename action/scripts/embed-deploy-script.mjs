// Writes action/deploy-script.generated.ts from action/scripts/deploy.sh, so that the instance
// script reaches the ncc bundle as text (and ts-jest loads it the same way). Runs as `prebundle`;
// test/action/instance-script.test.ts fails when the two are out of sync.
import { readFileSync, writeFileSync } from 'node:fs';

const source = new URL('./deploy.sh', import.meta.url);
const target = new URL('../deploy-script.generated.ts', import.meta.url);

export function generatedModule(script) {
  const literal = script.replaceAll('\\', '\\\\').replaceAll('`', '\\`').replaceAll('${', '\\${');
  return (
    '// Generated from action/scripts/deploy.sh by action/scripts/embed-deploy-script.mjs. Do not edit.\n' +
    `export const deployScriptTemplate = \`${literal}\`;\n`
  );
}

if (process.argv[1] && new URL(`file://${process.argv[1]}`).href === import.meta.url) {
  writeFileSync(target, generatedModule(readFileSync(source, 'utf8')));
}
