// npm run client:types [-- --check]
// Writes examples/client/api.d.ts, the types of the service's OpenAPI document for openapi-fetch.
// With --check it changes nothing and exits 1 when the file is out of date.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLIENT_TYPES_PATH, clientTypes, committedClientTypes } from './client-types.js';

const root = join(import.meta.dirname, '..');
const expected = await clientTypes(root);
if ((await committedClientTypes(root)) === expected) {
  console.log(`client:types: ${CLIENT_TYPES_PATH} is up to date.`);
} else if (process.argv.includes('--check')) {
  console.error(`client:types: ${CLIENT_TYPES_PATH} is out of date. Run npm run client:types.`);
  process.exitCode = 1;
} else {
  await writeFile(join(root, CLIENT_TYPES_PATH), expected);
  console.log(`client:types: wrote ${CLIENT_TYPES_PATH}.`);
}
