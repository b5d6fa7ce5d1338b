import { ServiceBusClient, type ServiceBusReceivedMessage, type ServiceBusReceiver } from '@azure/service-bus';
import type { TriggerMetadata } from '@azure/functions';
import type { Logger } from '../../observability/logger.js';
import type { InvocationContext } from '../functions-classes.js';
import { resolveAppSetting, type FunctionRegistration } from '../registrations.js';

/**
 * The local host's Service Bus triggers, as the extension runs them:
 * peek-lock, complete on success, abandon on a throw (Service Bus redelivers,
 * then dead-letters). Session-enabled queues are served by a bounded number of
 * session workers (`acceptNextSession`), one message at a time per session, in
 * order; a worker lets its session go once no message comes within the idle
 * timeout.
 */
/** host.json's Service Bus settings, and how `stop()` treats running invocations. */
export interface ServiceBusHostSettings {
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
}

export interface ServiceBusTriggersOptions {
  readonly functions: readonly FunctionRegistration[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly log: Logger;
  readonly serviceBus: ServiceBusHostSettings;
  readonly contextFor: (functionName: string, triggerMetadata?: TriggerMetadata) => InstanceType<typeof InvocationContext>;
  /** Keeps an invocation in the host's in-flight set, for `stop()`'s grace. */
  readonly track: <T>(work: Promise<T>) => Promise<T>;
  /** Aborted by `stop()`: every receive listens on it. */
  readonly stopping: AbortSignal;
}

export interface ServiceBusTriggers {
  /** Gives the messages of invocations still running back to Service Bus (after the grace), so the next host runs them; how many. */
  abandonRunning(within: (work: Promise<unknown>, ms: number) => Promise<unknown>): Promise<number>;
  /** Closes receivers, clients and session workers, each bounded by `within`. */
  close(within: (work: Promise<unknown>, ms: number) => Promise<unknown>): Promise<void>;
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

/** Starts a receiver (or session workers) per Service Bus registration; on a failure to start, closes what it opened and throws. */
export async function startServiceBusTriggers(options: ServiceBusTriggersOptions): Promise<ServiceBusTriggers> {
  const { log, contextFor, track } = options;
  const sb = options.serviceBus;
  const stopped = new Promise<undefined>((resolve) => options.stopping.addEventListener('abort', () => resolve(undefined), { once: true }));
  const clients = new Map<string, ServiceBusClient>();
  const receivers: ServiceBusReceiver[] = [];
  const workers: Promise<void>[] = [];

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
    const signal = options.stopping;
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
              if (!options.stopping.aborted) log.warn('Service Bus receiver error', { function: registration.name, error: args.error });
              return Promise.resolve();
            },
          },
          { autoCompleteMessages: false, maxConcurrentCalls: sb.maxConcurrentCalls ?? 16 },
        );
      }
    }
  } catch (error) {
    await Promise.all([...clients.values()].map((c) => c.close()));
    throw error;
  }

  return {
    async abandonRunning(within) {
      const unfinished = [...running];
      for (const entry of unfinished) entry.released = true;
      await within(Promise.allSettled(unfinished.map((e) => e.receiver.abandonMessage(e.message))), 1_000);
      return unfinished.length;
    },
    async close(within) {
      await within(Promise.allSettled(receivers.map((r) => r.close())), 1_000);
      await within(Promise.allSettled([...clients.values()].map((c) => c.close())), 1_000);
      await within(Promise.allSettled(workers), 500);
    },
  };
}
