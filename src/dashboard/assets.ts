import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { problem, ProblemType } from '../api/problem.js';
import { instanceOf } from '../api/requests.js';

/**
 * The dashboard page: three static files (HTML, one module script, CSS) in
 * `src/dashboard/static/`, served as they are: no framework, no build step.
 * They hold no data; the script reads the data endpoints with the function
 * key. Deployed with the app (`.funcignore` keeps `src/`); found from the
 * source tree (tests, tsx) or from `dist/src/dashboard/` (the built app).
 */

const files = {
  'index.html': 'text/html; charset=utf-8',
  'dashboard.js': 'text/javascript; charset=utf-8',
  'dashboard.css': 'text/css; charset=utf-8',
} as const;
type AssetName = keyof typeof files;

function isAssetName(name: string): name is AssetName {
  return Object.hasOwn(files, name);
}

function staticDirectory(): string {
  const candidates = [new URL('./static/', import.meta.url), new URL('../../../src/dashboard/static/', import.meta.url)];
  for (const candidate of candidates) {
    const path = fileURLToPath(candidate);
    if (existsSync(`${path}index.html`)) return path;
  }
  throw new Error('The dashboard files (src/dashboard/static/) are missing from this deployment');
}

const cache = new Map<AssetName, string>();

function read(name: AssetName): string {
  let text = cache.get(name);
  if (text === undefined) {
    text = readFileSync(`${staticDirectory()}${name}`, 'utf8');
    cache.set(name, text);
  }
  return text;
}

/** The page allows its own script, style and API only: nothing inline, nothing from elsewhere, no framing. */
export const contentSecurityPolicy =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function escapeAttribute(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * `GET /api/dashboard[/{file}]`. Anonymous: the files carry no data. The
 * HTML is told the API's base path (the route prefix, `/api` by default) so
 * it works under any prefix and host.
 */
export function handleDashboardPage(request: HttpRequest): HttpResponseInit {
  const requested = (request.params.path ?? '').replace(/^\/+|\/+$/g, '');
  const name = requested === '' ? 'index.html' : requested;
  if (!isAssetName(name)) {
    return problem(ProblemType.NotFound, 404, `The dashboard has no file ${requested.slice(0, 100)}`, { instance: instanceOf(request) });
  }
  // `/api/dashboard` or `/api/dashboard/<file>`: the page's own path, and the API's prefix before it.
  const base = /^(.*\/dashboard)(\/.*)?$/i.exec(instanceOf(request))?.[1] ?? '/api/dashboard';
  const apiBase = base.slice(0, -'/dashboard'.length);
  let body = read(name);
  if (name === 'index.html') body = body.replaceAll('{{ASSETS}}', escapeAttribute(base)).replaceAll('{{API}}', escapeAttribute(apiBase));
  return {
    status: 200,
    headers: {
      'content-type': files[name],
      'content-security-policy': contentSecurityPolicy,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-cache',
    },
    body,
  };
}
