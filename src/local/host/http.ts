import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpResponseInit } from '@azure/functions';
import { readValidationCode, splitDelivery } from '../../events/keyvault-events.js';
import type { Logger } from '../../observability/logger.js';
import { HttpRequest, HttpResponse, type InvocationContext } from '../functions-classes.js';
import type { FunctionRegistration } from '../registrations.js';

/**
 * The local host's HTTP side, as the Functions runtime serves it: HTTP
 * triggers under `/api/<route>` behind the function or system key, and the
 * Event Grid webhook (`/runtime/webhooks/EventGrid`) with its handshakes.
 * Every answer the host gives itself is problem+json.
 */
export interface HttpFrontOptions {
  readonly functions: readonly FunctionRegistration[];
  readonly log: Logger;
  readonly functionKey: string;
  readonly systemKey: string;
  readonly contextFor: (functionName: string) => InstanceType<typeof InvocationContext>;
}

const MAX_BODY_BYTES = 4 * 1024 * 1024;

interface CompiledRoute {
  readonly registration: Extract<FunctionRegistration, { trigger: 'http' }>;
  readonly methods: ReadonlySet<string>;
  readonly match: (segments: readonly string[]) => Record<string, string> | undefined;
}

/** Route templates as the runtime reads them: `rotations/{id}`, `{id?}`, `{id:guid}`, `{*rest}`; literals case-insensitive. */
function compileRoute(template: string): CompiledRoute['match'] {
  const parts = template.split('/').filter((p) => p !== '');
  return (segments) => {
    const params: Record<string, string> = {};
    for (let i = 0; i < parts.length; i += 1) {
      const part = parts[i]!;
      const segment = segments[i];
      const param = /^\{(\*)?([^}:?]+)(?::[^}?]+)?(\?)?\}$/.exec(part);
      if (param) {
        const [, catchAll, name = '', optional] = param;
        if (catchAll !== undefined) {
          params[name] = segments.slice(i).join('/');
          return params;
        }
        if (segment === undefined) return optional === undefined ? undefined : params;
        params[name] = segment;
      } else if (segment === undefined || segment.toLowerCase() !== part.toLowerCase()) {
        return undefined;
      }
    }
    return segments.length === parts.length ? params : undefined;
  };
}

function sameKey(given: string | null, expected: string): boolean {
  if (given === null) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BodyTooLarge());
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function headersOf(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  const type = body === undefined ? {} : { 'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8' };
  res.writeHead(status, { ...type, ...headers });
  res.end(text);
}

const problemTitles: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Payload Too Large',
  500: 'Internal Server Error',
};

/**
 * Every answer the host itself gives (not a function's own response) is RFC 9457
 * problem+json, whatever was wrong with the request: a client never has to
 * guess from an empty body. `instance` is the raw request path, cut short.
 */
function sendProblem(res: ServerResponse, status: number, detail: string, instance: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ type: 'about:blank', title: problemTitles[status] ?? 'Error', status, detail, instance: instance.slice(0, 200) });
  res.writeHead(status, { 'content-type': 'application/problem+json', 'content-length': String(Buffer.byteLength(body)), ...headers });
  res.end(body);
}

/** A request target that does not parse as a URL (a `Host: a b`, say) or whose path is not valid percent-encoding. */
class BadRequestTarget extends Error {}

/** The request URL from its target and Host; the runtime answers 400 to a Host it cannot parse. */
function requestUrl(req: IncomingMessage): URL {
  try {
    return new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
  } catch (error) {
    throw new BadRequestTarget('The Host header or the request target is not a valid URL', { cause: error });
  }
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch (error) {
    throw new BadRequestTarget(`The path segment '${segment.slice(0, 100)}' is not valid percent-encoding`, { cause: error });
  }
}

/** The methods the routes matching this path answer (405 instead of 404 for another method). */
function allowedMethods(routes: readonly CompiledRoute[], segments: readonly string[]): string[] {
  const methods = new Set<string>();
  for (const route of routes) if (route.match(segments) !== undefined) for (const m of route.methods) methods.add(m);
  return [...methods].sort();
}

/** Serves one request; never throws (what fails is answered as a problem and logged). */
export function createHttpFront(options: HttpFrontOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const { log, functionKey, systemKey, contextFor } = options;
  const routes: CompiledRoute[] = options.functions.flatMap((registration) =>
    registration.trigger === 'http'
      ? [{ registration, methods: new Set(registration.options.methods ?? ['GET', 'POST']), match: compileRoute(registration.options.route ?? registration.name) }]
      : [],
  );
  const eventGridFunctions = new Map(options.functions.flatMap((r) => (r.trigger === 'eventGrid' ? [[r.name.toLowerCase(), r] as const] : [])));

  async function serveHttpTrigger(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const segments = url.pathname.split('/').filter((s) => s !== '').slice(1).map(decodeSegment);
    const method = (req.method ?? 'GET').toUpperCase();
    let found: { route: CompiledRoute; params: Record<string, string> } | undefined;
    for (const route of routes) {
      const params = route.match(segments);
      if (params !== undefined && route.methods.has(method)) {
        found = { route, params };
        break;
      }
    }
    if (found === undefined) {
      const allowed = allowedMethods(routes, segments);
      if (allowed.length > 0) {
        sendProblem(res, 405, `${url.pathname} answers ${allowed.join(', ')}, not ${method}`, url.pathname, { allow: allowed.join(', ') });
        return;
      }
      sendProblem(res, 404, `No function answers ${method} ${url.pathname}`, url.pathname);
      return;
    }
    const { registration } = found.route;
    const authLevel = registration.options.authLevel ?? 'function';
    if (authLevel !== 'anonymous') {
      const given = req.headers['x-functions-key'];
      const key = (Array.isArray(given) ? given[0] : given) ?? url.searchParams.get('code');
      const accepted = authLevel === 'admin' ? sameKey(key ?? null, systemKey) : sameKey(key ?? null, functionKey) || sameKey(key ?? null, systemKey);
      if (!accepted) {
        const detail = key === undefined || key === null || key === '' ? 'A function key is required in x-functions-key or ?code=' : 'The function key given is not a key of this function app';
        sendProblem(res, 401, detail, url.pathname);
        return;
      }
    }
    const body = await readBody(req);
    const query: Record<string, string> = {};
    url.searchParams.forEach((value, name) => {
      query[name] = value;
    });
    const request = new HttpRequest({
      method,
      url: url.toString(),
      headers: headersOf(req),
      query,
      params: found.params,
      ...(body.length > 0 ? { body: { bytes: new Uint8Array(body) } } : {}),
    });
    const context = contextFor(registration.name);
    let result: HttpResponseInit | InstanceType<typeof HttpResponse> | undefined | void;
    try {
      result = await registration.options.handler(request, context);
    } catch (error) {
      // The runtime answers an unhandled throw with a bare 500; locally it is a problem with no internals.
      log.error('HTTP function threw', { function: registration.name, error });
      sendProblem(res, 500, 'The function failed; the host log has the details', url.pathname);
      return;
    }
    const response = result instanceof HttpResponse ? result : new HttpResponse(result ?? {});
    const bytes = Buffer.from(await response.arrayBuffer());
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      headers[name] = value;
    });
    res.writeHead(response.status, headers);
    res.end(bytes);
  }

  async function serveEventGrid(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const given = req.headers['x-functions-key'];
    const key = (Array.isArray(given) ? given[0] : given) ?? url.searchParams.get('code');
    if (!sameKey(key ?? null, systemKey)) {
      sendProblem(res, 401, 'The system key is required in x-functions-key or ?code=', url.pathname);
      return;
    }
    const name = url.searchParams.get('functionName') ?? '';
    const registration = eventGridFunctions.get(name.toLowerCase());
    if (registration === undefined) {
      sendProblem(res, 404, `cannot find function: '${name.slice(0, 100)}'`, url.pathname);
      return;
    }
    const method = (req.method ?? 'POST').toUpperCase();
    if (method === 'OPTIONS') {
      // CloudEvents webhook abuse protection: allow the origin that asks.
      const origin = req.headers['webhook-request-origin'];
      send(res, 200, undefined, { 'webhook-allowed-origin': (Array.isArray(origin) ? origin[0] : origin) ?? '*', 'webhook-allowed-rate': '*', allow: 'POST, OPTIONS' });
      return;
    }
    if (method !== 'POST') {
      sendProblem(res, 405, `The Event Grid webhook takes POST and OPTIONS, not ${method}`, url.pathname, { allow: 'POST, OPTIONS' });
      return;
    }
    const raw = await readBody(req);
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8')) as unknown;
    } catch {
      log.warn('Event Grid delivery is not JSON', { function: registration.name, bytes: raw.length });
      sendProblem(res, 400, 'The request content should be parseable into a JSON object or array', url.pathname);
      return;
    }
    const eventType = String(req.headers['aeg-event-type'] ?? '').toLowerCase();
    const cloudEventsContent = /^application\/cloudevents(-batch)?\+json/i.test(req.headers['content-type'] ?? '');
    if (eventType === 'subscriptionvalidation') {
      const code = readValidationCode(body);
      if (code === undefined) {
        sendProblem(res, 400, 'The validation event has no data.validationCode', url.pathname);
        return;
      }
      log.info('Event Grid subscription validated', { function: registration.name });
      send(res, 200, { validationResponse: code });
      return;
    }
    if (eventType === 'unsubscribe') {
      send(res, 202);
      return;
    }
    if (eventType !== 'notification' && !cloudEventsContent) {
      sendProblem(res, 400, 'Missing or unknown aeg-event-type header', url.pathname);
      return;
    }
    const events = splitDelivery(body);
    if (!events.ok) {
      log.warn('Event Grid delivery rejected', { function: registration.name, problems: events.problems });
      sendProblem(res, 400, events.problems.join('; '), url.pathname);
      return;
    }
    const results = await Promise.allSettled(
      events.value.map((event) => registration.options.handler(event as Parameters<typeof registration.options.handler>[0], contextFor(registration.name))),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) {
      log.warn('Event Grid delivery failed; Event Grid will retry', { function: registration.name, error: failed.reason });
      sendProblem(res, 500, failed.reason instanceof Error ? failed.reason.message.slice(0, 200) : 'function failed', url.pathname);
      return;
    }
    send(res, 202);
  }

  return async (req, res) => {
    // Raw target for `instance`: a target or Host that does not parse has no URL to quote.
    const target = req.url ?? '/';
    try {
      const url = requestUrl(req);
      const path = url.pathname.toLowerCase();
      if (path === '/api' || path.startsWith('/api/')) await serveHttpTrigger(req, res, url);
      else if (path === '/runtime/webhooks/eventgrid') await serveEventGrid(req, res, url);
      // The host's root is the dashboard (functions/dashboard.ts); a `#key=` fragment survives the redirect.
      else if (path === '/' && routes.some((r) => r.registration.name === 'dashboard')) send(res, 302, undefined, { location: '/api/dashboard' });
      else if (path === '/' || path === '/admin/host/ping') send(res, 200, 'Rotor local Functions host');
      else sendProblem(res, 404, `Nothing answers ${url.pathname}`, url.pathname);
    } catch (error) {
      if (res.headersSent) res.end();
      else if (error instanceof BodyTooLarge) sendProblem(res, 413, `Bodies are limited to ${MAX_BODY_BYTES} bytes`, target);
      else if (error instanceof BadRequestTarget) sendProblem(res, 400, error.message, target);
      else {
        log.error('local host failed to serve a request', { path: target.slice(0, 200), error });
        sendProblem(res, 500, 'The host failed to serve the request; the host log has the details', target);
      }
    }
  };
}
