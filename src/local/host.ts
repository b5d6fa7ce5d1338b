import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HttpResponseInit, LogLevel as FunctionsLogLevel, Timer, TriggerMetadata } from '@azure/functions';
import { ServiceBusClient, type ServiceBusReceivedMessage, type ServiceBusReceiver } from '@azure/service-bus';
import { readValidationCode, splitDelivery } from '../events/keyvault-events.js';
import type { Logger } from '../observability/logger.js';
import { HttpRequest, HttpResponse, InvocationContext } from './functions-classes.js';
import { parseNcrontab, type NcrontabSchedule } from './ncrontab.js';
import { resolveAppSetting, type FunctionRegistration } from './registrations.js';

/**
 * Hosts Rotor's function registrations outside the Functions runtime, with the
 * runtime's semantics, for `npm start` and the end-to-end tests:
 * - HTTP triggers under `/api/<route>`; `authLevel: function` wants a key in
 *   `x-functions-key` or `?code=` (401 otherwise).
 * - Event Grid triggers at `/runtime/webhooks/EventGrid?functionName=<name>`
 *   with the system key: the subscription-validation handshake (Event Grid
 *   schema) and the CloudEvents `OPTIONS` handshake are answered here; a
 *   delivery (object or array) invokes the handler once per event, in
 *   parallel, and is answered 202, or 500 if any invocation threw, so that
 *   Event Grid retries, as the extension does.
 * - Service Bus queue triggers: peek-lock, complete on success, abandon on a
 *   throw (Service Bus redelivers, then dead-letters). Session-enabled queues
 *   are served by a bounded number of session workers (`acceptNextSession`),
 *   one message at a time per session, in order; a worker lets its session go
 *   once no message comes within the idle timeout (host.json's values).
 * - Stop is prompt: running invocations get a short grace, then their
 *   messages are abandoned and redelivered to whoever runs next.
 * - Timer triggers on six-field NCRONTAB schedules, never overlapping.
 */

export interface LocalHostOptions {
  readonly functions: readonly FunctionRegistration[];
  /** App settings: `%NAME%` expressions and binding `connection` names are read here. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly log: Logger;
  /** 0 (default) picks a free port. */
  readonly port?: number;
  readonly hostname?: string;
  /** Function key for HTTP triggers and system key for the Event Grid webhook; random when absent. */
  readonly keys?: { readonly function?: string; readonly system?: string };
  readonly serviceBus?: {
    /** host.json `maxConcurrentSessions` (8). */
    readonly maxConcurrentSessions?: number;
    /** host.json `maxConcurrentCalls` (16), for queues without sessions. */
    readonly maxConcurrentCalls?: number;
    /** host.json `sessionIdleTimeout`: how long a session worker waits for the session's next message before taking another session. */
    readonly sessionIdleTimeoutMs?: number;
    readonly maxAutoLockRenewalDurationMs?: number;
    /**
     * How long `stop()` lets running invocations finish (2 s). Past it, their
     * messages are abandoned, so Service Bus hands them to the next host, as
     * when an instance is recycled; a late result is not settled.
     */
    readonly stopGraceMs?: number;
  };
  /** `schedule` (default) runs timers on their schedule; `manual` only through `runTimer`. */
  readonly timers?: 'schedule' | 'manual';
}

export interface LocalHost {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** `http://127.0.0.1:<port>/api` */
  readonly apiUrl: string;
  readonly functionKey: string;
  readonly systemKey: string;
  /** The webhook Event Grid delivers to for `functionName`, system key included. */
  eventGridWebhookUrl(functionName: string): string;
  /** Runs a timer function now (waiting for a run already in progress first). */
  runTimer(functionName: string): Promise<void>;
  stop(): Promise<void>;
}

/** `@azure/functions`' trigger-metadata conversion (converters/toCamelCase.ts): first letter of every key lower-cased, recursively. */
export function toCamelCaseValue(data: unknown): unknown {
  if (typeof data !== 'object' || data === null) return data;
  if (Array.isArray(data)) return data.map(toCamelCaseValue);
  if (data instanceof Date || Buffer.isBuffer(data)) return data;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) {
    if (value === undefined) continue;
    out[key.charAt(0).toLowerCase() + key.slice(1)] = toCamelCaseValue(value);
  }
  return out;
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

const logLevels: Record<FunctionsLogLevel, 'debug' | 'info' | 'warn' | 'error' | undefined> = {
  trace: 'debug',
  debug: 'debug',
  information: 'info',
  warning: 'warn',
  error: 'error',
  critical: 'error',
  none: undefined,
};

/** The methods the routes matching this path answer (405 instead of 404 for another method). */
function allowedMethods(routes: readonly CompiledRoute[], segments: readonly string[]): string[] {
  const methods = new Set<string>();
  for (const route of routes) if (route.match(segments) !== undefined) for (const m of route.methods) methods.add(m);
  return [...methods].sort();
}

export async function startLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  const log = options.log;
  const functionKey = options.keys?.function ?? randomBytes(24).toString('base64url');
  const systemKey = options.keys?.system ?? randomBytes(24).toString('base64url');
  const inFlight = new Set<Promise<unknown>>();
  const track = <T>(work: Promise<T>): Promise<T> => {
    inFlight.add(work);
    const untrack = (): void => {
      inFlight.delete(work);
    };
    work.then(untrack, untrack);
    return work;
  };

  const contextFor = (functionName: string, triggerMetadata?: TriggerMetadata): InstanceType<typeof InvocationContext> =>
    new InvocationContext({
      invocationId: randomUUID(),
      functionName,
      ...(triggerMetadata === undefined ? {} : { triggerMetadata }),
      logHandler: (level, ...args) => {
        const method = logLevels[level];
        if (method !== undefined) log[method](args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '), { function: functionName });
      },
    });

  // ---- HTTP and Event Grid ------------------------------------------------
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

  const server: Server = createServer((req, res) => {
    const work = (async () => {
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
    })();
    void track(work);
  });
  // The Functions host (Kestrel) keeps an idle connection 120 s. Node's 5-s default races a
  // client that reuses the socket just as the server closes it (ECONNRESET on a busy machine).
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 125_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.hostname ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const url = `http://${options.hostname ?? '127.0.0.1'}:${address.port}`;

  // ---- Service Bus ----------------------------------------------------------
  const stopping = new AbortController();
  // Every session worker's receive listens on this one signal.
  setMaxListeners(0, stopping.signal);
  const stopped = new Promise<undefined>((resolve) => stopping.signal.addEventListener('abort', () => resolve(undefined), { once: true }));
  const clients = new Map<string, ServiceBusClient>();
  const receivers: ServiceBusReceiver[] = [];
  const workers: Promise<void>[] = [];
  const sb = options.serviceBus ?? {};

  /**
   * Trigger metadata as the Node worker delivers it in Azure: the Service Bus
   * extension's binding data (.NET names: `DeliveryCount`, `SessionId`,
   * `ApplicationProperties`, ...; no `DeadLetterReason` of its own, Service
   * Bus keeps it in the application properties), every key camel-cased,
   * nested ones too, as `@azure/functions` does (`toCamelCaseValue`).
   */
  const metadataOf = (m: ServiceBusReceivedMessage): TriggerMetadata =>
    toCamelCaseValue({
      MessageId: m.messageId,
      SessionId: m.sessionId,
      // The AMQP header counts earlier deliveries (0 on the first), as does the JS SDK; the
      // extension reads it through the .NET SDK, which reports 1 on the first delivery.
      DeliveryCount: (m.deliveryCount ?? 0) + 1,
      SequenceNumber: m.sequenceNumber?.toNumber(),
      EnqueuedTimeUtc: m.enqueuedTimeUtc?.toISOString(),
      ExpiresAtUtc: m.expiresAtUtc?.toISOString(),
      LockToken: m.lockToken,
      ContentType: m.contentType,
      CorrelationId: m.correlationId,
      Subject: m.subject,
      Label: m.subject,
      ReplyTo: m.replyTo,
      To: m.to,
      DeadLetterSource: m.deadLetterSource,
      ApplicationProperties: m.applicationProperties ?? {},
      UserProperties: m.applicationProperties ?? {},
    }) as TriggerMetadata;

  /** Messages whose invocation is running; `stop()` abandons those still running after its grace. */
  const running = new Set<{ readonly receiver: ServiceBusReceiver; readonly message: ServiceBusReceivedMessage; released: boolean }>();

  async function invokeForMessage(
    registration: Extract<FunctionRegistration, { trigger: 'serviceBusQueue' }>,
    receiver: ServiceBusReceiver,
    message: ServiceBusReceivedMessage,
  ): Promise<void> {
    const entry = { receiver, message, released: false };
    running.add(entry);
    let failure: { error: unknown } | undefined;
    try {
      await registration.options.handler(message.body, contextFor(registration.name, metadataOf(message)));
    } catch (error) {
      failure = { error };
    } finally {
      running.delete(entry);
    }
    if (entry.released) return; // stop() already gave it back
    if (failure !== undefined) {
      log.warn('Service Bus function threw; message abandoned', {
        function: registration.name,
        messageId: String(message.messageId),
        deliveryCount: message.deliveryCount,
        error: failure.error,
      });
      await receiver.abandonMessage(message).catch((e: unknown) => log.warn('abandon failed', { function: registration.name, error: e }));
      return;
    }
    await receiver.completeMessage(message).catch((e: unknown) => log.warn('complete failed', { function: registration.name, error: e }));
  }

  function clientFor(connection: string): ServiceBusClient {
    const connectionString = options.env[connection];
    if (connectionString === undefined || connectionString === '') throw new Error(`App setting ${connection} (a Service Bus connection string) is not set`);
    let client = clients.get(connectionString);
    if (client === undefined) {
      client = new ServiceBusClient(connectionString);
      clients.set(connectionString, client);
    }
    return client;
  }

  async function sessionWorker(registration: Extract<FunctionRegistration, { trigger: 'serviceBusQueue' }>, client: ServiceBusClient, queue: string): Promise<void> {
    const signal = stopping.signal;
    while (!signal.aborted) {
      let receiver: ServiceBusReceiver | undefined;
      try {
        const accepting = client.acceptNextSession(queue, {
          receiveMode: 'peekLock',
          maxAutoLockRenewalDurationInMs: sb.maxAutoLockRenewalDurationMs ?? 300_000,
          abortSignal: signal,
        });
        // The SDK keeps waiting for a session (up to a minute) after an abort: stop waiting
        // here, and close whatever session it still hands over.
        accepting.then(
          (late) => {
            if (signal.aborted) void late.close().catch(() => undefined);
          },
          () => undefined,
        );
        receiver = await Promise.race([accepting, stopped]);
        if (receiver === undefined) return;
      } catch (error) {
        if (signal.aborted) return;
        // No session available within the broker's timeout: ask again.
        const code = (error as { code?: string }).code;
        if (code !== 'SessionCannotBeLocked' && code !== 'ServiceTimeout') log.warn('accepting a session failed', { function: registration.name, error });
        await new Promise((resolve) => setTimeout(resolve, code === 'SessionCannotBeLocked' || code === 'ServiceTimeout' ? 10 : 500));
        continue;
      }
      try {
        while (!signal.aborted) {
          const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: sb.sessionIdleTimeoutMs ?? 1_000, abortSignal: signal });
          if (message === undefined) break;
          await track(invokeForMessage(registration, receiver, message));
        }
      } catch (error) {
        if (!signal.aborted) log.warn('session receive failed', { function: registration.name, error });
      } finally {
        await receiver.close().catch(() => undefined);
      }
    }
  }

  try {
    for (const registration of options.functions) {
      if (registration.trigger !== 'serviceBusQueue') continue;
      const client = clientFor(registration.options.connection);
      const resolved = resolveAppSetting(registration.options.queueName, options.env);
      const deadLetter = /\/\$deadletterqueue$/i.test(resolved);
      const queue = deadLetter ? resolved.slice(0, -'/$DeadLetterQueue'.length) : resolved;
      if (registration.options.isSessionsEnabled === true) {
        for (let i = 0; i < (sb.maxConcurrentSessions ?? 8); i += 1) workers.push(sessionWorker(registration, client, queue));
      } else {
        const receiver = client.createReceiver(queue, { receiveMode: 'peekLock', ...(deadLetter ? { subQueueType: 'deadLetter' as const } : {}) });
        receivers.push(receiver);
        receiver.subscribe(
          {
            processMessage: (message) => track(invokeForMessage(registration, receiver, message)),
            processError: (args) => {
              if (!stopping.signal.aborted) log.warn('Service Bus receiver error', { function: registration.name, error: args.error });
              return Promise.resolve();
            },
          },
          { autoCompleteMessages: false, maxConcurrentCalls: sb.maxConcurrentCalls ?? 16 },
        );
      }
    }
  } catch (error) {
    stopping.abort();
    server.close();
    await Promise.all([...clients.values()].map((c) => c.close()));
    throw error;
  }

  // ---- Timers ---------------------------------------------------------------
  interface TimerState {
    readonly registration: Extract<FunctionRegistration, { trigger: 'timer' }>;
    readonly schedule: NcrontabSchedule;
    last?: Date;
    next: Date;
    running?: Promise<void>;
    handle?: NodeJS.Timeout;
  }
  const timers = new Map<string, TimerState>();
  /** Runs once, after any run in progress: the runtime never overlaps a timer function with itself. */
  const runTimerState = async (state: TimerState, isPastDue: boolean): Promise<void> => {
    while (state.running !== undefined) await state.running;
    const run = (async () => {
      const now = new Date();
      const timer: Timer = {
        isPastDue,
        schedule: { adjustForDST: false },
        scheduleStatus: { last: (state.last ?? now).toISOString(), next: state.schedule.next(now).toISOString(), lastUpdated: now.toISOString() },
      };
      state.last = now;
      try {
        await state.registration.options.handler(timer, contextFor(state.registration.name));
      } catch (error) {
        log.error('timer function threw', { function: state.registration.name, error });
      }
    })();
    state.running = run;
    try {
      await track(run);
    } finally {
      state.running = undefined;
    }
  };
  const arm = (state: TimerState): void => {
    if (stopping.signal.aborted) return;
    const delay = Math.min(Math.max(0, state.next.getTime() - Date.now()), 2 ** 31 - 1);
    state.handle = setTimeout(() => {
      if (Date.now() < state.next.getTime()) {
        arm(state);
        return;
      }
      state.next = state.schedule.next(new Date());
      // An occurrence due while the previous run still goes is skipped, not queued.
      if (state.running === undefined) void runTimerState(state, false);
      arm(state);
    }, delay);
    state.handle.unref();
  };
  for (const registration of options.functions) {
    if (registration.trigger !== 'timer') continue;
    const schedule = parseNcrontab(resolveAppSetting(registration.options.schedule, options.env));
    const state: TimerState = { registration, schedule, next: schedule.next(new Date()) };
    timers.set(registration.name.toLowerCase(), state);
    if ((options.timers ?? 'schedule') === 'schedule') {
      if (registration.options.runOnStartup === true) void runTimerState(state, false);
      arm(state);
    }
  }

  log.info('local Functions host started', {
    url,
    functions: options.functions.map((f) => `${f.name} (${f.trigger})`),
  });

  return {
    url,
    apiUrl: `${url}/api`,
    functionKey,
    systemKey,
    eventGridWebhookUrl: (functionName) =>
      `${url}/runtime/webhooks/EventGrid?functionName=${encodeURIComponent(functionName)}&code=${encodeURIComponent(systemKey)}`,
    async runTimer(functionName) {
      const state = timers.get(functionName.toLowerCase());
      if (state === undefined) throw new Error(`No timer function named ${functionName}`);
      await runTimerState(state, false);
    },
    async stop() {
      stopping.abort();
      for (const state of timers.values()) clearTimeout(state.handle);
      server.closeIdleConnections();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      // Invocations under way get a grace to finish and settle their messages; what still
      // runs after it has its message abandoned, so the next host runs it again (I4).
      const grace = sb.stopGraceMs ?? 2_000;
      const within = <T>(work: Promise<T>, ms: number): Promise<unknown> =>
        Promise.race([work, new Promise<void>((resolve) => setTimeout(resolve, ms).unref())]);
      await within(Promise.allSettled([...inFlight]), grace);
      const unfinished = [...running];
      for (const entry of unfinished) entry.released = true;
      await within(Promise.allSettled(unfinished.map((e) => e.receiver.abandonMessage(e.message))), 1_000);
      if (unfinished.length > 0) log.warn('stopping: invocations still running were abandoned for redelivery', { count: unfinished.length });
      await within(Promise.allSettled(receivers.map((r) => r.close())), 1_000);
      await within(Promise.allSettled([...clients.values()].map((c) => c.close())), 1_000);
      await within(Promise.allSettled(workers), 500);
      await within(closed, 500);
      log.info('local Functions host stopped', { url });
    },
  };
}
