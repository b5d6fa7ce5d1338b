import { createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { AttemptRecord, DeadLetterRecord, DuplicateRule } from './delivery.js';
import {
  EventGridEmulatorCore,
  systemTopicResourceId,
  type PublishedRecord,
  type SubscriptionInfo,
  type TopicInfo,
  type TopicOptions,
  type WaitOptions,
} from './emulator.js';
import { EventGridEmulatorError, eventGridEmulatorErrorCodes } from './errors.js';
import { createRequestHandler } from './http-routes.js';
import { defaultEndpointTimeoutMs } from './retry-policy.js';
import { problemsOf, type SubscriptionOptions } from './schemas.js';
import type { EventGridEnvelope, KeyVaultSystemEvent } from './types.js';

export type { AttemptRecord, DeadLetterRecord, DuplicateRule } from './delivery.js';
export { deadLetterReasons, deliveryRequest } from './delivery.js';
export type { PublishedRecord, SubscriptionInfo, TopicInfo, TopicOptions, WaitOptions } from './emulator.js';
export * from './errors.js';
export { eventGridOrigin, validationEventType } from './handshake.js';
export { deliveryOutcomes, retrySchedule, retryIntervalAfterSchedule, retryDelayMs } from './retry-policy.js';
export type { SubscriptionOptions, SubscriptionConfig } from './schemas.js';
export { maxPublishBytes } from './topic-publish.js';
export * from './types.js';

export interface EventGridEmulatorOptions {
  /** Loopback by default. */
  readonly host?: string;
  /**
   * Serve HTTPS with this certificate (PEM). Without it the emulator speaks
   * plain HTTP, and `EventGridPublisherClient` needs `allowInsecureConnection: true`.
   */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** 0 (default): an ephemeral port. */
  readonly port?: number;
  /** Multiplies every retry wait and each subscription's event TTL; `0.001` turns 10 s into 10 ms. Default 1. */
  readonly retryTimeScale?: number;
  /** How long a delivery waits for the endpoint's answer. Default 30 000 ms, as the service. */
  readonly endpointTimeoutMs?: number;
  /** How long a validation request waits for the endpoint. Default 30 000 ms. */
  readonly handshakeTimeoutMs?: number;
  /** How long a subscription may await a GET on its validation URL. Default 5 minutes, as the service. */
  readonly manualValidationWindowMs?: number;
  /** Send `WebHook-Request-Rate` in the CloudEvents handshake (and then require `WebHook-Allowed-Rate`). Off by default. */
  readonly cloudEventsRequestRate?: number;
  /** CA to trust for https webhooks with a self-signed certificate. */
  readonly webhookCa?: string | Buffer;
  /** The system topic fed by `publish()` / `systemTopicSink` (Key Vault's). Default name `keyvault-system-topic`. */
  readonly systemTopic?: { readonly name?: string; readonly resourceId?: string };
  /** Custom topics with a publish endpoint. Default: one `rotor-notifications` topic in CloudEvents schema. */
  readonly topics?: readonly TopicOptions[];
  /** Created, with their handshakes, before `startEventGridEmulator` resolves. */
  readonly subscriptions?: readonly SubscriptionOptions[];
  /** Records (published events, attempts, dead letters) kept per list. Default 10 000. */
  readonly maxRecords?: number;
  /** Delivery requests in flight at once; more wait their turn. Default 64. */
  readonly maxConcurrentDeliveries?: number;
}

export interface EventGridAdmin {
  createSubscription(options: SubscriptionOptions): Promise<SubscriptionInfo>;
  deleteSubscription(name: string): boolean;
  getSubscription(name: string): SubscriptionInfo | undefined;
  listSubscriptions(): SubscriptionInfo[];
  topics(): TopicInfo[];
  regenerateKey(topic: string, keyName: 'key1' | 'key2'): string;
  /** Sets a custom topic's keys to the ones ARM holds (the local stack's ARM stand-in regenerates them). */
  setKeys(topic: string, keys: { readonly key1: string; readonly key2: string }): void;
  published(filter?: { topic?: string }): PublishedRecord[];
  deadLetters(filter?: { subscription?: string }): DeadLetterRecord[];
  attempts(filter?: { subscription?: string }): AttemptRecord[];
  injectDuplicates(rule: DuplicateRule): void;
  clearDuplicateInjection(): void;
  waitFor<T>(probe: () => T | undefined, description: string, options?: WaitOptions): Promise<T>;
  waitForPublished(filter?: { topic?: string; count?: number }, options?: WaitOptions): Promise<PublishedRecord[]>;
  waitForIdle(options?: WaitOptions): Promise<void>;
}

export interface EventGridEmulator {
  /** Base URL (`http://127.0.0.1:<port>`, https with `tls`); admin routes live under `/_admin`. */
  readonly url: string;
  /** Endpoint of the first custom topic, for `EventGridPublisherClient`. */
  readonly topicEndpoint: string;
  /** key1 of that topic, for `AzureKeyCredential`. */
  readonly topicKey: string;
  readonly systemTopicName: string;
  /** Publishes complete Event Grid schema events to the system topic. */
  publish(events: readonly (EventGridEnvelope | KeyVaultSystemEvent)[]): void;
  /** One event at a time, the shape the Key Vault emulator calls. */
  readonly systemTopicSink: (event: EventGridEnvelope | KeyVaultSystemEvent) => void;
  readonly admin: EventGridAdmin;
  /** Cancels pending retries and in-flight requests, then closes the server. */
  stop(): Promise<void>;
}

const positive = z.number().positive('must be greater than 0').optional();
const wholePositive = z.number().int('must be a whole number').positive('must be greater than 0').optional();
/** The numeric options, checked before anything starts. */
const tuningSchema = z.object({
  port: z.number().int().min(0).max(65535, 'must be a TCP port (0-65535)').optional(),
  retryTimeScale: positive,
  endpointTimeoutMs: wholePositive,
  handshakeTimeoutMs: wholePositive,
  manualValidationWindowMs: wholePositive,
  cloudEventsRequestRate: wholePositive,
  maxRecords: wholePositive,
  maxConcurrentDeliveries: wholePositive,
});

/** Starts the Event Grid emulator: a system topic, custom topics and webhook delivery. */
export async function startEventGridEmulator(options: EventGridEmulatorOptions = {}): Promise<EventGridEmulator> {
  const tuning = tuningSchema.safeParse(options);
  if (!tuning.success) {
    const problems = problemsOf(tuning.error);
    throw new EventGridEmulatorError(
      eventGridEmulatorErrorCodes.InvalidRequest,
      `Invalid Event Grid emulator options: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}`,
      { problems },
    );
  }
  const retryTimeScale = options.retryTimeScale ?? 1;
  const server = options.tls === undefined ? createServer() : createTlsServer({ cert: options.tls.cert, key: options.tls.key });
  // Idle connections are kept as Azure's front ends keep them, not Node's 5 s (see the Key Vault emulator).
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 125_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${options.tls === undefined ? 'http' : 'https'}://${host}:${address.port}`;
  const systemTopicName = options.systemTopic?.name ?? 'keyvault-system-topic';

  const closeServer = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });

  let core: EventGridEmulatorCore;
  try {
    core = new EventGridEmulatorCore({
      baseUrl: url,
      retryTimeScale,
      endpointTimeoutMs: options.endpointTimeoutMs ?? defaultEndpointTimeoutMs,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? defaultEndpointTimeoutMs,
      manualValidationWindowMs: options.manualValidationWindowMs ?? 5 * 60_000,
      maxRecords: options.maxRecords ?? 10_000,
      maxConcurrentDeliveries: options.maxConcurrentDeliveries ?? 64,
      systemTopic: { name: systemTopicName, resourceId: options.systemTopic?.resourceId ?? systemTopicResourceId(systemTopicName) },
      topics: options.topics ?? [{ name: 'rotor-notifications', inputSchema: 'CloudEventSchemaV1_0' }],
      ...(options.cloudEventsRequestRate === undefined ? {} : { cloudEventsRequestRate: options.cloudEventsRequestRate }),
      ...(options.webhookCa === undefined ? {} : { webhookCa: options.webhookCa }),
    });
  } catch (error) {
    await closeServer();
    throw error;
  }
  server.on('request', createRequestHandler(core));

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      await core.stop();
      await closeServer();
    })();
    return stopping;
  };

  try {
    for (const subscription of options.subscriptions ?? []) await core.createSubscription(subscription);
  } catch (error) {
    await stop();
    throw error;
  }

  const firstCustom = core.topics().find((t) => t.kind === 'custom');
  const publish = (events: readonly (EventGridEnvelope | KeyVaultSystemEvent)[]) => core.publish(events);
  return {
    url,
    topicEndpoint: firstCustom?.endpoint ?? '',
    topicKey: firstCustom?.key1 ?? '',
    systemTopicName,
    publish,
    systemTopicSink: (event) => publish([event]),
    admin: {
      createSubscription: (o) => core.createSubscription(o),
      deleteSubscription: (n) => core.deleteSubscription(n),
      getSubscription: (n) => core.getSubscription(n),
      listSubscriptions: () => core.listSubscriptions(),
      topics: () => core.topics(),
      regenerateKey: (t, k) => core.regenerateKey(t, k),
      setKeys: (t, k) => core.setKeys(t, k),
      published: (f) => core.published(f),
      deadLetters: (f) => core.deadLetters(f),
      attempts: (f) => core.attempts(f),
      injectDuplicates: (r) => core.injectDuplicates(r),
      clearDuplicateInjection: () => core.clearDuplicateInjection(),
      waitFor: (p, d, o) => core.waitFor(p, d, o),
      waitForPublished: (f, o) => core.waitForPublished(f, o),
      waitForIdle: (o) => core.waitForIdle(o),
    },
    stop,
  };
}
