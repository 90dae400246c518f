/**
 * The app's configuration delivered with every deploy: the compose file (input `compose-file`)
 * and `.env` entries (input `env`). Both travel inside the SSM command, so their size is bounded
 * and the env values are never logged.
 */

/** One `.env` entry, written on the instance as `KEY='value'`. */
export interface EnvEntry {
  key: string;
  value: string;
}

/**
 * The largest rendered instance script the action sends. The SSM API model gives no size for
 * SendCommand's parameters; the one size it documents for what a command runs is the 64 KB of a
 * document (MaxDocumentSizeExceeded), so the whole command stays within that.
 */
export const MAX_COMMAND_BYTES = 64 * 1024;

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
/** Set by the deploy itself. */
const RESERVED_KEYS = new Set(['IMAGE', 'APP_VERSION']);

/** A wrong `env` or `compose-file`; the message names the input (inputs.ts wraps it). */
export class AppConfigError extends Error {
  override name = 'AppConfigError';
}

/**
 * Parses the `env` input: one `KEY=value` a line; blank lines and lines starting with `#` are
 * skipped; a later entry for the same key wins. Values are written in single quotes on the
 * instance, which compose reads literally, so a value cannot hold a single quote or a control
 * character. Error messages name the line and key, never the value.
 */
export function parseEnvEntries(raw: string): EnvEntry[] {
  const byKey = new Map<string, string>();
  raw.split('\n').forEach((rawLine, index) => {
    const line = rawLine.replace(/\r$/, '');
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const at = line.indexOf('=');
    const key = at < 0 ? line.trim() : line.slice(0, at).trim();
    const where = `line ${index + 1}`;
    if (at < 0 || !ENV_KEY.test(key)) {
      throw new AppConfigError(
        `Input env, ${where}: expected KEY=value with a name of letters, digits and "_" not starting with a digit.`,
      );
    }
    if (RESERVED_KEYS.has(key)) {
      throw new AppConfigError(`Input env, ${where}: ${key} is set by the deploy itself.`);
    }
    const value = line.slice(at + 1);
    // eslint-disable-next-line no-control-regex
    if (/['\u0000-\u001f\u007f]/.test(value)) {
      throw new AppConfigError(
        `Input env, ${where}: the value of ${key} holds a single quote or a control character, which .env cannot carry safely.`,
      );
    }
    byKey.delete(key);
    byKey.set(key, value);
  });
  return [...byKey].map(([key, value]) => ({ key, value }));
}

/** The lines the instance script merges into .env. */
export function envLines(entries: EnvEntry[]): string {
  return entries.map(({ key, value }) => `${key}='${value}'`).join('\n');
}

/**
 * Checks that the compose file's text can travel in the command: UTF-8 text without NUL bytes,
 * and small enough with the rest of the script (`otherBytes`) to stay within MAX_COMMAND_BYTES.
 */
export function checkComposeContent(path: string, bytes: Uint8Array, otherBytes: number): string {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  if (text.includes('\u0000') || text.includes('\uFFFD')) {
    throw new AppConfigError(`Input compose-file: ${path} is not UTF-8 text.`);
  }
  const room = MAX_COMMAND_BYTES - otherBytes;
  if (bytes.length > room) {
    throw new AppConfigError(
      `Input compose-file: ${path} is ${bytes.length} bytes; with the deploy script and the env entries it must fit in one SSM command of ${MAX_COMMAND_BYTES} bytes (64 KiB), which leaves ${Math.max(room, 0)} bytes for it.`,
    );
  }
  return text;
}
