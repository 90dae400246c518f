import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import openapiTS, { astToString, type OpenAPI3 } from 'openapi-typescript';
import { format, resolveConfig } from 'prettier';
import { openApiDocument } from '../service/openapi.js';

/** Where the generated types live, relative to the repository root. */
export const CLIENT_TYPES_PATH = 'examples/client/api.d.ts';

const HEADER = `// Generated from the service's OpenAPI document by openapi-typescript: do not edit.
// Regenerate with \`npm run client:types\`; a test fails when this file is out of date.

`;

/** The TypeScript types of the service's OpenAPI document, formatted as the repository is. */
export async function clientTypes(root: string): Promise<string> {
  // The version only fills info.version, which the types do not carry.
  const ast = await openapiTS(openApiDocument('generated') as unknown as OpenAPI3);
  const path = join(root, CLIENT_TYPES_PATH);
  const options = await resolveConfig(path);
  return format(HEADER + astToString(ast), { ...options, filepath: path });
}

/** The committed types, or undefined when there are none. */
export async function committedClientTypes(root: string): Promise<string | undefined> {
  return readFile(join(root, CLIENT_TYPES_PATH), 'utf8').catch(() => undefined);
}
