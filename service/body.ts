// Why bodies are read here and not by koa-bodyparser: docs/decisions.md.
import type { IncomingMessage } from 'node:http';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Transform } from 'node:stream';
import type { Context } from 'koa';
import { Problem } from './errors.js';
import { parseMediaType } from './media-type.js';

/**
 * How a route wants its body: the media types it accepts as JSON, and whether the legacy
 * `application/x-www-form-urlencoded` is tolerated. `curl -d` sends that type unless told
 * otherwise, and the original project's documented curl commands relied on it, so a form-typed
 * body that parses as JSON is accepted; one that does not parse is a real form and gets 415.
 */
export interface BodyRules {
  mediaTypes: readonly string[];
  allowLegacyForm: boolean;
  limitBytes: number;
}

const FORM = 'application/x-www-form-urlencoded';
export const MERGE_PATCH = 'application/merge-patch+json';
const utf8 = new TextDecoder('utf-8', { fatal: true });

function decoderFor(encoding: string): Transform | undefined | 'unsupported' {
  switch (encoding) {
    case '':
    case 'identity':
      return undefined;
    case 'gzip':
    case 'x-gzip':
      return createGunzip();
    case 'deflate':
      return createInflate();
    case 'br':
      return createBrotliDecompress();
    default:
      return 'unsupported';
  }
}

function tooLarge(limit: number): Problem {
  return new Problem(
    413,
    'body-too-large',
    `The request body is larger than the limit of ${limit} bytes (after decompression).`,
  );
}

/** Reads the whole body, inflating it if needed, and stops as soon as it passes the limit. */
function readBytes(req: IncomingMessage, decoder: Transform | undefined, limit: number) {
  return new Promise<Buffer>((resolve, reject) => {
    const source = decoder ? req.pipe(decoder) : req;
    const chunks: Buffer[] = [];
    let size = 0;
    const fail = (error: Error) => {
      source.removeAllListeners('data');
      if (decoder) {
        req.unpipe(decoder);
        decoder.destroy();
      }
      reject(error);
    };
    source.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) fail(tooLarge(limit));
      else chunks.push(chunk);
    });
    source.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    source.once('error', () =>
      fail(
        source === req
          ? new Problem(400, 'incomplete-body', 'The request body was not received completely.')
          : new Problem(400, 'malformed-body', 'The request body could not be decompressed.'),
      ),
    );
    if (decoder) {
      req.once('error', () =>
        fail(new Problem(400, 'incomplete-body', 'The request body was not received completely.')),
      );
    }
  });
}

/** Parses the request body as JSON under the route's rules, or throws a Problem (400/413/415). */
export async function readJsonBody(ctx: Context, rules: BodyRules): Promise<unknown> {
  const { essence: mediaType, charset } = parseMediaType(ctx.get('Content-Type'));
  const legacyForm = mediaType === FORM && rules.allowLegacyForm;
  if (mediaType !== '' && !legacyForm && !rules.mediaTypes.includes(mediaType)) {
    throw new Problem(
      415,
      'unsupported-media-type',
      `Content-Type ${mediaType} is not accepted here; send ${rules.mediaTypes.join(' or ')}.`,
      rules.mediaTypes.includes(MERGE_PATCH) ? { 'Accept-Patch': MERGE_PATCH } : {},
    );
  }
  if (charset && charset !== 'utf-8' && charset !== 'utf8') {
    throw new Problem(
      415,
      'unsupported-media-type',
      `Only UTF-8 bodies are accepted, not ${charset}.`,
    );
  }

  const encoding = (ctx.get('Content-Encoding') || '').trim().toLowerCase();
  const decoder = decoderFor(encoding);
  if (decoder === 'unsupported') {
    throw new Problem(
      415,
      'unsupported-media-type',
      `Content-Encoding ${encoding} is not supported.`,
    );
  }
  const declared = Number(ctx.get('Content-Length') || 0);
  if (declared > rules.limitBytes) throw tooLarge(rules.limitBytes);

  // The client waits for this before it sends the body (server.ts handles checkContinue).
  if (/^100-continue$/i.test(ctx.get('Expect')) && !ctx.res.headersSent) ctx.res.writeContinue();
  const bytes = await readBytes(ctx.req, decoder, rules.limitBytes);
  if (bytes.length === 0) {
    throw new Problem(400, 'malformed-body', 'The request needs a JSON body.');
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new Problem(400, 'malformed-body', 'The request body is not valid UTF-8.');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    if (mediaType === FORM) {
      throw new Problem(
        415,
        'unsupported-media-type',
        'Form-encoded bodies are not accepted; send JSON with Content-Type: application/json.',
      );
    }
    throw new Problem(
      400,
      'malformed-json',
      `The request body is not valid JSON: ${(error as Error).message}`,
    );
  }
}
