// Where a secret must not be: files (logs, scripts, state) searched for a value, byte for byte.
import { lstatSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

const MAX_FILE_BYTES = 20 * 1024 * 1024;

/**
 * Every regular file below `roots` (symlinks not followed) that contains `needle`, except the
 * paths `skip` excludes (a directory excluded is not entered).
 */
export function filesContaining(
  roots: string[],
  needle: string,
  skip: (file: string) => boolean = () => false,
): string[] {
  const found: string[] = [];
  const wanted = Buffer.from(needle);
  const visit = (file: string): void => {
    if (skip(file)) return;
    let stat;
    try {
      stat = lstatSync(file);
    } catch {
      return; // removed meanwhile
    }
    if (stat.isDirectory()) {
      for (const entry of readdirSync(file)) visit(path.join(file, entry));
    } else if (stat.isFile() && stat.size <= MAX_FILE_BYTES) {
      try {
        if (readFileSync(file).includes(wanted)) found.push(file);
      } catch {
        // unreadable or removed meanwhile: nothing to find
      }
    }
  };
  for (const root of roots) visit(root);
  return found;
}
