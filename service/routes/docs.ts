import { createHash } from 'node:crypto';
import type Router from '@koa/router';
import type { Context } from 'koa';
import { DocsAssets, START_SCRIPT_NAME, type DocsAsset } from '../docs-assets.js';
import { Problem } from '../errors.js';

export interface DocsRoutesOptions {
  /** Where the page's files come from; by default, the installed swagger-ui-dist. */
  assets?: DocsAssets;
}

/**
 * The page allows scripts, styles, images and requests from its own origin only, so even a
 * compromised asset could not call another host. Swagger UI sets inline styles and data: icons.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** A year: the URL of an asset names its content hash, so its content never changes. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * Every URL on the page is relative to /docs (`docs/<hash>/<name>`, `openapi.json`), so the page
 * works wherever the service is reached: at a host's root, or under a prefix a proxy strips.
 */
function pageHtml(assets: Map<string, DocsAsset>): string {
  const href = (name: string) => `docs/${assets.get(name)!.hash}/${name}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>challenge-deploy document API</title>
<link rel="icon" type="image/png" href="${href('favicon-32x32.png')}">
<link rel="stylesheet" href="${href('swagger-ui.css')}">
</head>
<body>
<noscript>This reference needs JavaScript. The description itself is <a href="openapi.json">openapi.json</a>.</noscript>
<div id="swagger-ui"></div>
<script src="${href('swagger-ui-bundle.js')}"></script>
<script src="${href(START_SCRIPT_NAME)}"></script>
</body>
</html>
`;
}

function sendCacheable(ctx: Context, etag: string, body: Buffer | string): void {
  ctx.set('ETag', etag);
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.status = 200;
  if (ctx.fresh) {
    ctx.status = 304;
    return;
  }
  ctx.body = body;
}

/** Registers GET /docs, the interactive reference, and the files it loads. */
export function registerDocsRoutes(router: Router, options: DocsRoutesOptions = {}): void {
  const assets = options.assets ?? new DocsAssets();
  let page: { html: string; etag: string } | undefined;

  router.get('/docs', async (ctx) => {
    // /docs/ would resolve the page's relative URLs one level too deep.
    if (ctx.path.endsWith('/')) {
      ctx.status = 301;
      ctx.set('Location', `../docs${ctx.search}`);
      return;
    }
    if (!page) {
      const html = pageHtml(await assets.all());
      page = { html, etag: `"${createHash('sha256').update(html).digest('base64url')}"` };
    }
    // Revalidated on every visit: the page names the current assets, which a deploy may change.
    ctx.set('Cache-Control', 'no-cache');
    ctx.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    ctx.type = 'text/html; charset=utf-8';
    sendCacheable(ctx, page.etag, page.html);
  });

  router.get('/docs/:hash/:name', async (ctx) => {
    const { hash, name } = ctx.params as { hash: string; name: string };
    const asset = (await assets.all()).get(name);
    if (!asset) {
      throw new Problem(404, 'not-found', `The docs page has no file ${JSON.stringify(name)}.`);
    }
    // A page from an instance that runs another version may ask for an older hash during a
    // rolling deploy: it gets the current file, which no cache may keep under that URL.
    ctx.set('Cache-Control', hash === asset.hash ? IMMUTABLE : 'no-cache');
    ctx.set('Vary', 'Accept-Encoding');
    ctx.type = asset.contentType;
    if (asset.gzipped && ctx.acceptsEncodings('gzip', 'identity') === 'gzip') {
      ctx.set('Content-Encoding', 'gzip');
      sendCacheable(ctx, `"${asset.hash}-gzip"`, asset.gzipped);
    } else {
      sendCacheable(ctx, `"${asset.hash}"`, asset.body);
    }
  });
}
