/**
 * How the health gate recognises the version an instance runs (input `health-version`):
 * a dot path into the JSON body, a response header, or nothing at all (HTTP 200 is enough).
 */
export type HealthVersion =
  { kind: 'json'; path: string } | { kind: 'header'; name: string } | { kind: 'none' };

export const DEFAULT_HEALTH_VERSION: HealthVersion = { kind: 'json', path: 'version' };

/**
 * Object keys or array indexes, joined by dots. The instance's reader (awk) compares them
 * literally, so a key that holds a dot or a character outside this set cannot be addressed.
 */
export const JSON_PATH = /^[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64}){0,15}$/;
/** An HTTP field name (RFC 9110 token), without the characters a shell or awk treats specially. */
export const HEADER_NAME = /^[A-Za-z0-9!#%&*+.^_|~-]{1,128}$/;

/** Parses `json:<path>`, `header:<Name>` or `none`; undefined when the text is none of them. */
export function parseHealthVersion(raw: string): HealthVersion | undefined {
  if (raw === 'none') return { kind: 'none' };
  if (raw.startsWith('json:')) {
    const path = raw.slice('json:'.length);
    return JSON_PATH.test(path) ? { kind: 'json', path } : undefined;
  }
  if (raw.startsWith('header:')) {
    const name = raw.slice('header:'.length);
    return HEADER_NAME.test(name) ? { kind: 'header', name } : undefined;
  }
  return undefined;
}

/** The instance script's VERSION_SOURCE and VERSION_FIELD for a health-version. */
export function scriptFields(healthVersion: HealthVersion): { source: string; field: string } {
  switch (healthVersion.kind) {
    case 'json':
      return { source: 'json', field: healthVersion.path };
    case 'header':
      return { source: 'header', field: healthVersion.name };
    case 'none':
      return { source: 'none', field: '' };
  }
}

/** Words for log lines and messages: `"version" in the JSON body`, `header X-Version`. */
export function describeHealthVersion(healthVersion: HealthVersion): string {
  switch (healthVersion.kind) {
    case 'json':
      return `"${healthVersion.path}" in the JSON body`;
    case 'header':
      return `header ${healthVersion.name}`;
    case 'none':
      return 'nothing (HTTP 200 is enough)';
  }
}
