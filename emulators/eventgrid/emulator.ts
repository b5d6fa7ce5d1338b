import { randomBytes, randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { DeliveryEngine, type AttemptRecord, type DeadLetterRecord, type DeliveryTarget, type DuplicateRule, type SubscriptionCounters } from './delivery.js';
import { eventForSchema, matchesFilter, type StoredEvent } from './envelopes.js';
import {
  EventGridEmulatorError,
  SubscriptionValidationError,
  eventGridEmulatorErrorCodes as codes,
  type FieldProblem,
} from './errors.js';
import { performCloudEventsHandshake, performEventGridHandshake, type HandshakeResult } from './handshake.js';
import { eventGridEventInputSchema, problemsOf, subscriptionOptionsSchema, type SubscriptionConfig, type SubscriptionOptions } from './schemas.js';
import { generateTopicKey } from './topic-auth.js';
import type { TopicIdentity } from './topic-publish.js';
import type { DeliveredEvent, EventGridEnvelope, EventSchema, KeyVaultSystemEvent } from './types.js';

export const topicKinds = { System: 'system', Custom: 'custom' } as const;
export type TopicKind = (typeof topicKinds)[keyof typeof topicKinds];

export interface TopicInfo {
  readonly name: string;
  readonly kind: TopicKind;
  readonly inputSchema: EventSchema;
  readonly resourceId: string;
  /** Custom topics only: where `EventGridPublisherClient` sends. */
  readonly endpoint?: string;
  readonly key1?: string;
  readonly key2?: string;
}

export interface TopicOptions {
  readonly name: string;
  /** Default `CloudEventSchemaV1_0`, the schema Rotor's notifications use. */
  readonly inputSchema?: EventSchema;
  readonly key1?: string;
  readonly key2?: string;
}

export interface SubscriptionInfo extends SubscriptionConfig {
  readonly topic: string;
  readonly provisioningState: 'Succeeded';
  /** CloudEvents handshake: the `WebHook-Allowed-Rate` the endpoint granted, if any. */
  readonly allowedRate?: string;
  /** How consent was given: synchronous answer, or a GET/POST on the validation URL. */
  readonly validatedBy: 'handshake' | 'validationUrl';
  readonly counters: Readonly<SubscriptionCounters>;
  readonly pendingDeliveries: number;
}

export interface PublishedRecord {
  readonly topic: string;
  readonly schema: EventSchema;
  readonly event: DeliveredEvent['event'];
  readonly receivedAt: string;
}

export interface WaitOptions {
  /** Default 10 000 ms. */
  readonly timeoutMs?: number;
}

export interface CoreOptions {
  readonly baseUrl: string;
  readonly retryTimeScale: number;
  readonly endpointTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  readonly manualValidationWindowMs: number;
  readonly cloudEventsRequestRate?: number;
  readonly webhookCa?: string | Buffer;
  readonly maxRecords: number;
  readonly maxConcurrentDeliveries: number;
  readonly systemTopic: { readonly name: string; readonly resourceId: string };
  readonly topics: readonly TopicOptions[];
}

interface TopicState {
  readonly name: string;
  readonly kind: TopicKind;
  readonly inputSchema: EventSchema;
  readonly resourceId: string;
  readonly endpoint?: string;
  keys: { key1: string; key2: string } | undefined;
}

interface SubscriptionState extends DeliveryTarget {
  readonly topic: TopicState;
  readonly allowedRate?: string;
  readonly validatedBy: SubscriptionInfo['validatedBy'];
}

/** A subscription awaiting a GET/POST on its validation URL, keyed by the URL's secret token. */
interface ManualValidation {
  readonly subscription: string;
  readonly settle: (granted: boolean) => void;
}

const resourceGroup = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rotor-local/providers';

export function customTopicResourceId(name: string): string {
  return `${resourceGroup}/Microsoft.EventGrid/topics/${name}`;
}

export function systemTopicResourceId(name: string): string {
  return `${resourceGroup}/Microsoft.EventGrid/systemTopics/${name}`;
}

const defaultWaitMs = 10_000;

/**
 * Topics, subscriptions, records and the delivery engine, without the HTTP
 * server (which `startEventGridEmulator` puts in front).
 */
export class EventGridEmulatorCore {
  readonly #options: CoreOptions;
  readonly #topics = new Map<string, TopicState>();
  readonly #subscriptions = new Map<string, SubscriptionState>();
  /** Names being validated, so two creations cannot race to the same name. */
  readonly #reserved = new Set<string>();
  readonly #manual = new Map<string, ManualValidation>();
  readonly #published: PublishedRecord[] = [];
  readonly #listeners = new Set<() => void>();
  readonly #onStop = new Set<() => void>();
  readonly #abort = new AbortController();
  readonly #engine: DeliveryEngine;

  constructor(options: CoreOptions) {
    this.#options = options;
    setMaxListeners(0, this.#abort.signal); // one listener per handshake in flight, removed when it ends
    this.#engine = new DeliveryEngine({
      retryTimeScale: options.retryTimeScale,
      endpointTimeoutMs: options.endpointTimeoutMs,
      maxRecords: options.maxRecords,
      maxConcurrentRequests: options.maxConcurrentDeliveries,
      onChange: () => this.#notify(),
      ...(options.webhookCa === undefined ? {} : { ca: options.webhookCa }),
    });
    this.#topics.set(options.systemTopic.name.toLowerCase(), {
      name: options.systemTopic.name,
      kind: topicKinds.System,
      inputSchema: 'EventGridSchema',
      resourceId: options.systemTopic.resourceId,
      keys: undefined,
    });
    for (const topic of options.topics) {
      if (this.#topics.has(topic.name.toLowerCase())) {
        throw new EventGridEmulatorError(codes.InvalidRequest, `Topic name '${topic.name}' is used twice.`);
      }
      this.#topics.set(topic.name.toLowerCase(), {
        name: topic.name,
        kind: topicKinds.Custom,
        inputSchema: topic.inputSchema ?? 'CloudEventSchemaV1_0',
        resourceId: customTopicResourceId(topic.name),
        endpoint: `${options.baseUrl}/topics/${encodeURIComponent(topic.name)}/api/events`,
        keys: { key1: topic.key1 ?? generateTopicKey(), key2: topic.key2 ?? generateTopicKey() },
      });
    }
  }

  get systemTopicName(): string {
    return this.#options.systemTopic.name;
  }

  // ---- topics ---------------------------------------------------------------

  topics(): TopicInfo[] {
    return [...this.#topics.values()].map((t) => ({
      name: t.name,
      kind: t.kind,
      inputSchema: t.inputSchema,
      resourceId: t.resourceId,
      ...(t.endpoint === undefined ? {} : { endpoint: t.endpoint }),
      ...(t.keys === undefined ? {} : { key1: t.keys.key1, key2: t.keys.key2 }),
    }));
  }

  /** A custom topic that accepts HTTP publishing, or undefined. */
  customTopic(name: string): (TopicIdentity & { endpoint: string; keys: readonly string[] }) | undefined {
    const topic = this.#topics.get(name.toLowerCase());
    if (topic?.kind !== topicKinds.Custom || topic.endpoint === undefined || topic.keys === undefined) return undefined;
    return { name: topic.name, resourceId: topic.resourceId, inputSchema: topic.inputSchema, endpoint: topic.endpoint, keys: [topic.keys.key1, topic.keys.key2] };
  }

  /** Sets a custom topic's keys to those ARM holds (the local stack's ARM stand-in regenerates them). */
  setKeys(topicName: string, keys: { readonly key1: string; readonly key2: string }): void {
    const topic = this.#topics.get(topicName.toLowerCase());
    if (topic?.keys === undefined) throw new EventGridEmulatorError(codes.TopicNotFound, `No custom topic named '${topicName}'.`);
    topic.keys = { key1: keys.key1, key2: keys.key2 };
  }

  /** Replaces key1 or key2 of a custom topic, as ARM `regenerateKey` does; the old key stops working at once. */
  regenerateKey(topicName: string, keyName: 'key1' | 'key2'): string {
    const topic = this.#topics.get(topicName.toLowerCase());
    if (topic?.keys === undefined) throw new EventGridEmulatorError(codes.TopicNotFound, `No custom topic named '${topicName}'.`);
    const key = generateTopicKey();
    topic.keys = { ...topic.keys, [keyName]: key };
    return key;
  }

  // ---- publishing -----------------------------------------------------------

  /**
   * Publishes complete Event Grid schema events (a system topic's, such as
   * Key Vault's) and fans them out. Throws `InvalidEvent` naming the field.
   */
  publish(events: readonly (EventGridEnvelope | KeyVaultSystemEvent)[]): void {
    if (this.#abort.signal.aborted) throw new EventGridEmulatorError(codes.Stopped, 'The Event Grid emulator is stopped.');
    const problems: FieldProblem[] = [];
    const stored: StoredEvent[] = [];
    events.forEach((candidate, index) => {
      const parsed = eventGridEventInputSchema.safeParse(candidate);
      if (!parsed.success) {
        problems.push(...problemsOf(parsed.error, `[${index}]`));
        return;
      }
      const e = parsed.data;
      if (e.topic === undefined || e.topic === '') {
        problems.push({ field: `[${index}].topic`, message: 'is required for a system event (the source resource id)' });
        return;
      }
      stored.push({
        schema: 'EventGridSchema',
        event: { id: e.id, topic: e.topic, subject: e.subject, eventType: e.eventType, eventTime: e.eventTime, data: e.data, dataVersion: e.dataVersion ?? '', metadataVersion: '1' },
      });
    });
    if (problems.length > 0) {
      throw new EventGridEmulatorError(codes.InvalidEvent, `Invalid system event: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}`, { problems });
    }
    this.acceptPublished(this.#options.systemTopic.name, stored);
  }

  /** Records events a topic accepted and starts delivering them to its subscriptions. */
  acceptPublished(topicName: string, events: readonly StoredEvent[]): void {
    const topic = this.#topics.get(topicName.toLowerCase());
    if (topic === undefined) throw new EventGridEmulatorError(codes.TopicNotFound, `No topic named '${topicName}'.`);
    const receivedAt = new Date().toISOString();
    for (const stored of events) {
      this.#pushRecord(this.#published, { topic: topic.name, schema: stored.schema, event: stored.event, receivedAt });
    }
    for (const subscription of this.#subscriptions.values()) {
      if (subscription.topic !== topic) continue;
      const { config } = subscription;
      const matched = events
        .filter((e) => matchesFilter(e, config.filter))
        .map((e) => eventForSchema(e, config.eventDeliverySchema))
        .filter((e): e is DeliveredEvent => e !== undefined);
      subscription.counters.matched += matched.length;
      const batchSize = config.maxEventsPerBatch ?? 1;
      for (let i = 0; i < matched.length; i += batchSize) {
        this.#engine.enqueue(subscription, topic.name, matched.slice(i, i + batchSize));
      }
    }
    this.#notify();
  }

  published(filter: { topic?: string } = {}): PublishedRecord[] {
    const topic = filter.topic?.toLowerCase();
    return this.#published.filter((r) => topic === undefined || r.topic.toLowerCase() === topic);
  }

  // ---- subscriptions --------------------------------------------------------

  /**
   * Creates a subscription after the endpoint passes the validation
   * handshake of its delivery schema; a failed handshake creates nothing and
   * throws `SubscriptionValidationError` with the reason.
   */
  async createSubscription(options: SubscriptionOptions): Promise<SubscriptionInfo> {
    const parsed = subscriptionOptionsSchema.safeParse(options);
    if (!parsed.success) {
      const problems = problemsOf(parsed.error);
      throw new EventGridEmulatorError(codes.InvalidSubscription, `Invalid subscription: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}`, { problems });
    }
    const config = parsed.data;
    const topicName = config.topic ?? this.#options.systemTopic.name;
    const topic = this.#topics.get(topicName.toLowerCase());
    if (topic === undefined) {
      throw new EventGridEmulatorError(codes.TopicNotFound, `No topic named '${topicName}'.`, { problems: [{ field: 'topic', message: 'names no topic' }] });
    }
    if (topic.inputSchema === 'CloudEventSchemaV1_0' && config.eventDeliverySchema === 'EventGridSchema') {
      throw new EventGridEmulatorError(codes.InvalidSubscription, `Topic '${topic.name}' takes CloudEvents input, which cannot be delivered in the Event Grid schema.`, {
        problems: [{ field: 'eventDeliverySchema', message: 'must be CloudEventSchemaV1_0 for a CloudEvents topic' }],
      });
    }
    const key = config.name.toLowerCase();
    if (this.#subscriptions.has(key) || this.#reserved.has(key)) {
      throw new EventGridEmulatorError(codes.SubscriptionExists, `A subscription named '${config.name}' already exists.`, { problems: [{ field: 'name', message: 'is taken' }] });
    }
    this.#reserved.add(key);
    try {
      const validated = await this.#validateEndpoint(config, topic);
      if (this.#abort.signal.aborted) throw new EventGridEmulatorError(codes.Stopped, 'The Event Grid emulator stopped during validation.');
      const state: SubscriptionState = {
        config,
        topic,
        validatedBy: validated.by,
        counters: { matched: 0, delivered: 0, failedAttempts: 0, deadLettered: 0, duplicatesInjected: 0 },
        ...(validated.allowedRate === undefined ? {} : { allowedRate: validated.allowedRate }),
      };
      this.#subscriptions.set(key, state);
      this.#notify();
      return this.#info(state);
    } finally {
      this.#reserved.delete(key);
    }
  }

  deleteSubscription(name: string): boolean {
    const key = name.toLowerCase();
    const existed = this.#subscriptions.delete(key);
    if (existed) this.#engine.cancelSubscription(name);
    return existed;
  }

  getSubscription(name: string): SubscriptionInfo | undefined {
    const state = this.#subscriptions.get(name.toLowerCase());
    return state === undefined ? undefined : this.#info(state);
  }

  listSubscriptions(): SubscriptionInfo[] {
    return [...this.#subscriptions.values()].map((s) => this.#info(s));
  }

  /** A GET (or POST) on a validation URL: grants consent if it names a pending validation. */
  completeManualValidation(subscription: string, token: string): boolean {
    const pending = this.#manual.get(token);
    if (pending === undefined || pending.subscription.toLowerCase() !== subscription.toLowerCase()) return false;
    pending.settle(true);
    return true;
  }

  // ---- records and fault injection -----------------------------------------

  deadLetters(filter: { subscription?: string } = {}): DeadLetterRecord[] {
    const name = filter.subscription?.toLowerCase();
    return this.#engine.deadLetters.filter((r) => name === undefined || r.subscription.toLowerCase() === name);
  }

  attempts(filter: { subscription?: string } = {}): AttemptRecord[] {
    const name = filter.subscription?.toLowerCase();
    return this.#engine.attempts.filter((r) => name === undefined || r.subscription.toLowerCase() === name);
  }

  /** Deliver some events twice (at-least-once, as the service may). */
  injectDuplicates(rule: DuplicateRule): void {
    if (rule.remaining === undefined && rule.fraction === undefined) {
      throw new EventGridEmulatorError(codes.InvalidRequest, 'A duplicate rule needs `remaining` or `fraction`.');
    }
    if (rule.fraction !== undefined && !(rule.fraction >= 0 && rule.fraction <= 1)) {
      throw new EventGridEmulatorError(codes.InvalidRequest, '`fraction` must be between 0 and 1.', { problems: [{ field: 'fraction', message: 'must be between 0 and 1' }] });
    }
    this.#engine.duplicateRules.push({ ...rule });
  }

  clearDuplicateInjection(): void {
    this.#engine.duplicateRules.length = 0;
  }

  // ---- waiting --------------------------------------------------------------

  /**
   * Resolves with the first non-undefined value of `probe`, re-checked on
   * every state change (no polling); rejects with `WaitTimedOut` naming
   * `description`.
   */
  waitFor<T>(probe: () => T | undefined, description: string, options: WaitOptions = {}): Promise<T> {
    const timeoutMs = options.timeoutMs ?? defaultWaitMs;
    return new Promise<T>((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        this.#listeners.delete(check);
        this.#onStop.delete(onStop);
      };
      const check = () => {
        let value: T | undefined;
        try {
          value = probe();
        } catch (error) {
          cleanup();
          reject(error instanceof Error ? error : new Error(String(error)));
          return;
        }
        if (value !== undefined) {
          cleanup();
          resolve(value);
        }
      };
      const onStop = () => {
        cleanup();
        reject(new EventGridEmulatorError(codes.Stopped, `The Event Grid emulator stopped while waiting for ${description}.`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new EventGridEmulatorError(codes.WaitTimedOut, `Timed out after ${timeoutMs} ms waiting for ${description}.`));
      }, timeoutMs);
      this.#listeners.add(check);
      this.#onStop.add(onStop);
      check();
    });
  }

  /** Waits until a topic has received at least `count` events (default 1); resolves with them. */
  waitForPublished(filter: { topic?: string; count?: number } = {}, options: WaitOptions = {}): Promise<PublishedRecord[]> {
    const count = filter.count ?? 1;
    return this.waitFor(
      () => {
        const records = this.published(filter);
        return records.length >= count ? records : undefined;
      },
      `${count} event(s) published to ${filter.topic ?? 'any topic'}`,
      options,
    );
  }

  /** Waits until no delivery is pending (every event delivered or dead-lettered). */
  waitForIdle(options: WaitOptions = {}): Promise<void> {
    return this.waitFor(() => (this.#engine.pendingCount === 0 ? true : undefined), 'all deliveries to settle', options).then(() => undefined);
  }

  // ---- lifecycle ------------------------------------------------------------

  /** Cancels retries, handshakes, manual validations and waiters; no timer is left running. */
  async stop(): Promise<void> {
    this.#abort.abort();
    for (const pending of this.#manual.values()) pending.settle(false);
    for (const onStop of [...this.#onStop]) onStop();
    await this.#engine.stop();
  }

  // ---- internals ------------------------------------------------------------

  #notify(): void {
    for (const listener of [...this.#listeners]) listener();
  }

  #pushRecord<T>(list: T[], item: T): void {
    list.push(item);
    if (list.length > this.#options.maxRecords) list.splice(0, list.length - this.#options.maxRecords);
  }

  #info(state: SubscriptionState): SubscriptionInfo {
    return {
      ...state.config,
      topic: state.topic.name,
      provisioningState: 'Succeeded',
      validatedBy: state.validatedBy,
      counters: { ...state.counters },
      pendingDeliveries: this.#engine.pendingCountFor(state.config.name),
      ...(state.allowedRate === undefined ? {} : { allowedRate: state.allowedRate }),
    };
  }

  async #validateEndpoint(config: SubscriptionConfig, topic: TopicState): Promise<{ by: SubscriptionInfo['validatedBy']; allowedRate?: string }> {
    const code = randomUUID();
    const token = randomBytes(16).toString('hex');
    const validationUrl = `${this.#options.baseUrl}/_validation/${encodeURIComponent(config.name)}?id=${code}&t=${encodeURIComponent(new Date().toISOString())}&token=${token}`;
    const request = {
      subscriptionName: config.name,
      endpointUrl: config.endpointUrl,
      topicResourceId: topic.resourceId,
      validationCode: code,
      validationUrl,
      timeoutMs: this.#options.handshakeTimeoutMs,
      signal: this.#abort.signal,
      ...(this.#options.webhookCa === undefined ? {} : { ca: this.#options.webhookCa }),
      ...(this.#options.cloudEventsRequestRate === undefined ? {} : { requestRate: this.#options.cloudEventsRequestRate }),
    };
    const result: HandshakeResult =
      config.eventDeliverySchema === 'EventGridSchema' ? await performEventGridHandshake(request) : await performCloudEventsHandshake(request);
    switch (result.kind) {
      case 'validated':
        return result.allowedRate === undefined ? { by: 'handshake' } : { by: 'handshake', allowedRate: result.allowedRate };
      case 'failed':
        throw new SubscriptionValidationError(config.name, config.endpointUrl, result.reason);
      case 'awaitingManual':
        await this.#awaitManualValidation(config, token);
        return { by: 'validationUrl' };
    }
  }

  /** The service keeps a subscription `AwaitingManualAction` for 5 minutes, then fails it. */
  #awaitManualValidation(config: SubscriptionConfig, token: string): Promise<void> {
    const windowMs = this.#options.manualValidationWindowMs;
    return new Promise<void>((resolve, reject) => {
      const settle = (granted: boolean) => {
        clearTimeout(timer);
        this.#manual.delete(token);
        if (granted) resolve();
        else reject(new EventGridEmulatorError(codes.Stopped, `The Event Grid emulator stopped while '${config.name}' awaited manual validation.`));
      };
      const timer = setTimeout(() => {
        this.#manual.delete(token);
        reject(
          new SubscriptionValidationError(
            config.name,
            config.endpointUrl,
            `the endpoint did not consent synchronously and its validation URL was not called within ${windowMs} ms`,
          ),
        );
      }, windowMs);
      this.#manual.set(token, { subscription: config.name, settle });
      this.#notify();
    });
  }
}
