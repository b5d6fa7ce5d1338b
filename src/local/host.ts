import { randomBytes, randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LogLevel as FunctionsLogLevel, TriggerMetadata } from '@azure/functions';
import type { Logger } from '../observability/logger.js';
import { InvocationContext } from './functions-classes.js';
import { createHttpFront } from './host/http.js';
import { startServiceBusTriggers, type ServiceBusHostSettings, type ServiceBusTriggers } from './host/service-bus.js';
import { startTimerTriggers } from './host/timers.js';
import type { FunctionRegistration } from './registrations.js';

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
  readonly serviceBus?: ServiceBusHostSettings;

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

const logLevels: Record<FunctionsLogLevel, 'debug' | 'info' | 'warn' | 'error' | undefined> = {
  trace: 'debug',
  debug: 'debug',
  information: 'info',
  warning: 'warn',
  error: 'error',
  critical: 'error',
  none: undefined,
};

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

  // ---- HTTP and Event Grid (./host/http.ts) ---------------------------------
  const serve = createHttpFront({ functions: options.functions, log, functionKey, systemKey, contextFor });
  const server: Server = createServer((req, res) => {
    void track(serve(req, res));
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

  // ---- Service Bus (./host/service-bus.ts) ----------------------------------
  const stopping = new AbortController();
  // Every session worker's receive listens on this one signal.
  setMaxListeners(0, stopping.signal);
  let serviceBus: ServiceBusTriggers;
  try {
    serviceBus = await startServiceBusTriggers({
      functions: options.functions,
      env: options.env,
      log,
      serviceBus: options.serviceBus ?? {},
      contextFor,
      track,
      stopping: stopping.signal,
    });
  } catch (error) {
    stopping.abort();
    server.close();
    throw error;
  }

  // ---- Timers (./host/timers.ts) --------------------------------------------
  const timers = startTimerTriggers({ functions: options.functions, env: options.env, log, mode: options.timers ?? 'schedule', contextFor, track, stopping: stopping.signal });

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
    runTimer: (functionName) => timers.run(functionName),
    async stop() {
      stopping.abort();
      timers.stop();
      server.closeIdleConnections();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      // Invocations under way get a grace to finish and settle their messages; what still
      // runs after it has its message abandoned, so the next host runs it again (I4).
      const grace = options.serviceBus?.stopGraceMs ?? 2_000;
      const within = <T>(work: Promise<T>, ms: number): Promise<unknown> =>
        Promise.race([work, new Promise<void>((resolve) => setTimeout(resolve, ms).unref())]);
      await within(Promise.allSettled([...inFlight]), grace);
      const abandoned = await serviceBus.abandonRunning(within);
      if (abandoned > 0) log.warn('stopping: invocations still running were abandoned for redelivery', { count: abandoned });
      await serviceBus.close(within);
      await within(closed, 500);
      log.info('local Functions host stopped', { url });
    },
  };
}
