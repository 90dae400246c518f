import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

/**
 * The static files of the /docs page: Swagger UI from the swagger-ui-dist package (no CDN), and
 * the page's own start script. Each is read once, on first use, and kept in memory with its
 * content hash (the page links `<hash>/<name>`, so a browser may cache it for good) and a gzip
 * copy (the Swagger UI bundle is 1.7 MB, 0.5 MB gzipped; nothing in front of the service
 * compresses: an ALB does not).
 */
export interface DocsAsset {
  name: string;
  contentType: string;
  hash: string;
  body: Buffer;
  /** Absent where gzip does not make it smaller (the PNG icon). */
  gzipped: Buffer | undefined;
}

const gzipAsync = promisify(gzip);

/** The files of swagger-ui-dist the page uses, and their media types. */
const SWAGGER_UI_FILES: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

/** Starts Swagger UI on the page. `openapi.json` is relative, like every URL of the page. */
export const START_SCRIPT_NAME = 'start.js';
const START_SCRIPT = `window.ui = SwaggerUIBundle({
  url: 'openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  displayRequestDuration: true,
  // Swagger UI would send the document to validator.swagger.io for a badge: no other host.
  validatorUrl: null,
});
`;

/** Where swagger-ui-dist is installed; resolved on first use, so a service without the package
 * still answers everything but /docs. */
function installedSwaggerUi(): string {
  return dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
}

async function asset(name: string, contentType: string, body: Buffer): Promise<DocsAsset> {
  const hash = createHash('sha256').update(body).digest('base64url').slice(0, 16);
  // zlib runs on the thread pool: compressing the bundle takes ~50 ms, off the event loop.
  const gzipped = await gzipAsync(body, { level: 9 });
  return {
    name,
    contentType,
    hash,
    body,
    gzipped: gzipped.length < body.length ? gzipped : undefined,
  };
}

export class DocsAssets {
  private loading: Promise<Map<string, DocsAsset>> | undefined;

  /** @param swaggerUiDirectory the swagger-ui-dist folder; by default, the installed package. */
  constructor(private readonly swaggerUiDirectory?: string) {}

  /** Every asset by file name; a failed load is retried on the next call. */
  all(): Promise<Map<string, DocsAsset>> {
    this.loading ??= this.load().catch((error: unknown) => {
      this.loading = undefined;
      throw error;
    });
    return this.loading;
  }

  private async load(): Promise<Map<string, DocsAsset>> {
    const directory = this.swaggerUiDirectory ?? installedSwaggerUi();
    const assets = await Promise.all([
      ...Object.entries(SWAGGER_UI_FILES).map(async ([name, type]) =>
        asset(name, type, await readFile(join(directory, name))),
      ),
      asset(START_SCRIPT_NAME, 'text/javascript; charset=utf-8', Buffer.from(START_SCRIPT)),
    ]);
    return new Map(assets.map((a) => [a.name, a]));
  }
}
