// Why not the content-type package: docs/decisions.md.
export interface MediaType {
  /** `type/subtype`, lower-case, without parameters; '' when the header is absent or empty. */
  essence: string;
  /** The charset parameter, lower-case and unquoted, when there is one. */
  charset: string | undefined;
}

/**
 * Reads a Content-Type header as RFC 9110 (8.3.1) defines it: type, subtype, parameter names and
 * the charset value are case-insensitive, whitespace may surround each `;`, and a parameter value
 * may be a quoted string. So `Application/JSON ; charset="UTF-8"` is application/json in UTF-8.
 */
export function parseMediaType(header: string | undefined): MediaType {
  const [essence = '', ...parameters] = (header ?? '').split(';');
  let charset: string | undefined;
  for (const parameter of parameters) {
    const equals = parameter.indexOf('=');
    if (equals < 0 || parameter.slice(0, equals).trim().toLowerCase() !== 'charset') continue;
    const value = parameter.slice(equals + 1).trim();
    const quoted = /^"((?:[^"\\]|\\.)*)"$/.exec(value);
    charset = (quoted ? quoted[1]!.replace(/\\(.)/g, '$1') : value).toLowerCase();
  }
  return { essence: essence.trim().toLowerCase(), charset };
}
