import { Controller, Get, Header, Param, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ApiError } from '../http/api-error';
import { NoQuery, parseOr422 } from '../http/validation';
import { openApiDocument } from './openapi.document';

/** The files of swagger-ui-dist the page loads, with their media types; nothing else of the package is served. */
export const DOCS_ASSETS: Readonly<Record<string, string>> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
};

const UI_DIR = dirname(require.resolve('swagger-ui-dist/package.json'));
const assets = new Map<string, Buffer>();

/**
 * The page asks for the API token first: the document it renders sits behind auth like the rest
 * of the API, and the page itself holds nothing but the vendored UI (no CDN: the machines that
 * run it often reach none). The token stays in the page's memory, sent only to this origin.
 */
const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Workload API</title>
<link rel="stylesheet" href="/api/v2/docs/swagger-ui.css">
<style>body{margin:0;font-family:sans-serif}form{padding:1em;display:flex;gap:.5em;align-items:center}</style></head>
<body>
<form id="token"><label for="t">API token</label><input id="t" type="password" size="48" autocomplete="off"><button>Load the API</button><span id="status"></span></form>
<div id="ui"></div>
<script src="/api/v2/docs/swagger-ui-bundle.js"></script>
<script>
document.getElementById('token').addEventListener('submit', async (event) => {
  event.preventDefault();
  const token = document.getElementById('t').value.trim();
  const status = document.getElementById('status');
  const response = await fetch('/api/v2/openapi.json', { headers: { authorization: 'Bearer ' + token } });
  if (!response.ok) { status.textContent = response.status + ': ' + ((await response.json()).detail || ''); return; }
  status.textContent = '';
  SwaggerUIBundle({
    spec: await response.json(),
    dom_id: '#ui',
    requestInterceptor: (request) => { request.headers.authorization = 'Bearer ' + token; return request; },
  });
});
</script>
</body></html>
`;

/** The OpenAPI document (behind auth like every route but health) and the page that browses it (public, static). */
@Controller('api/v2')
export class OpenApiController {
  @Get('openapi.json')
  openapi(@Query() query: unknown) {
    parseOr422(NoQuery, query, 'query');
    return openApiDocument();
  }

  @Get('docs')
  @Header('content-type', 'text/html; charset=utf-8')
  docs(@Query() query: unknown) {
    parseOr422(NoQuery, query, 'query');
    return PAGE;
  }

  @Get('docs/:asset')
  asset(@Param('asset') name: string, @Query() query: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    parseOr422(NoQuery, query, 'query');
    const type = Object.hasOwn(DOCS_ASSETS, name) ? DOCS_ASSETS[name] : undefined;
    if (!type) throw new ApiError(404, `No such file of the API browser: ${name}.`);
    let body = assets.get(name);
    if (!body) assets.set(name, (body = readFileSync(join(UI_DIR, name))));
    reply.header('content-type', type).header('cache-control', 'public, max-age=86400');
    return body;
  }
}
