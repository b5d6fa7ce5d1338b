import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { eventGridOrigin } from './handshake.js';
import { isOutboundError, outboundFailures, sendOutbound, type OutboundFailure } from './outbound.js';
import {
  deliveryOutcomes,
  isRetriableStatus,
  isSuccessStatus,
  outcomeOfStatus,
  retryDelayMs,
  type DeliveryOutcome,
} from './retry-policy.js';
import type { SubscriptionConfig } from './schemas.js';
import type { DeliveredEvent } from './types.js';

/** Why an event left the retry loop undelivered. */
export const deadLetterReasons = {
  MaxDeliveryAttemptsExceeded: 'MaxDeliveryAttemptsExceeded',
  TimeToLiveExceeded: 'TimeToLiveExceeded',
  /** 400, 401, 403 or 413: the service dead-letters these at once (the label is the emulator's). */
  NonRetriableError: 'NonRetriableError',
} as const;
export type DeadLetterReason = (typeof deadLetterReasons)[keyof typeof deadLetterReasons];

export interface SubscriptionCounters {
  /** Events matched by the filter and queued for delivery. */
  matched: number;
  /** Events acknowledged with 200-204 (injected duplicates included). */
  delivered: number;
  /** Delivery requests that did not end in 200-204. */
  failedAttempts: number;
  deadLettered: number;
  duplicatesInjected: number;
}

/** What the engine needs to know about a subscription. */
export interface DeliveryTarget {
  readonly config: SubscriptionConfig;
  readonly counters: SubscriptionCounters;
}

export interface DeadLetterRecord {
  readonly subscription: string;
  readonly topic: string;
  readonly event: DeliveredEvent['event'];
  readonly eventId: string;
  readonly deadLetterReason: DeadLetterReason;
  readonly deliveryAttempts: number;
  readonly lastDeliveryOutcome: DeliveryOutcome;
  readonly lastHttpStatus: number | null;
  readonly publishTime: string;
  readonly lastDeliveryAttemptTime: string | null;
  readonly deadLetteredAt: string;
}

export interface AttemptRecord {
  readonly subscription: string;
  readonly deliveryId: string;
  readonly eventIds: readonly string[];
  /** 1 for the first request of a delivery. */
  readonly attempt: number;
  /** The `aeg-delivery-count` header sent. */
  readonly deliveryCount: number;
  readonly status: number | null;
  readonly outcome: DeliveryOutcome;
  readonly duplicate: boolean;
  readonly at: string;
}

export interface DuplicateRule {
  /** Only this subscription; all when absent. */
  readonly subscription?: string;
  /** Duplicate the next N successful deliveries. */
  remaining?: number;
  /** Duplicate this fraction (0..1) of successful deliveries, at random. */
  readonly fraction?: number;
}

export interface DeliveryEngineOptions {
  readonly retryTimeScale: number;
  readonly endpointTimeoutMs: number;
  readonly ca?: string | Buffer;
  readonly maxRecords: number;
  /** Requests in flight at once across all subscriptions; the rest queue (a laptop is not a datacenter). */
  readonly maxConcurrentRequests: number;
  readonly onChange: () => void;
}

interface Delivery {
  readonly id: string;
  readonly target: DeliveryTarget;
  readonly topic: string;
  readonly events: readonly DeliveredEvent[];
  readonly publishedAt: number;
  readonly duplicate: boolean;
  /** Requests made so far (the next `aeg-delivery-count`). */
  attempts: number;
  lastStatus: number | null;
  lastOutcome: DeliveryOutcome;
  lastAttemptAt: number | null;
  timer: NodeJS.Timeout | undefined;
  cancelled: boolean;
}

function pushBounded<T>(list: T[], item: T, max: number): void {
  list.push(item);
  if (list.length > max) list.splice(0, list.length - max);
}

function outcomeOfFailure(failure: OutboundFailure): DeliveryOutcome {
  switch (failure) {
    case outboundFailures.TimedOut:
      return deliveryOutcomes.TimedOut;
    case outboundFailures.SocketError:
      return deliveryOutcomes.SocketError;
    case outboundFailures.Aborted:
      return deliveryOutcomes.Aborted;
  }
}

/** Headers and body of one delivery request, as the service sends them to a webhook. */
export function deliveryRequest(
  subscription: SubscriptionConfig,
  events: readonly DeliveredEvent[],
  deliveryCount: number,
): { headers: Record<string, string>; body: string } {
  const headers: Record<string, string> = {
    'aeg-event-type': 'Notification',
    'aeg-subscription-name': subscription.name.toUpperCase(),
    'aeg-delivery-count': String(deliveryCount),
  };
  const first = events[0];
  if (first?.schema === 'EventGridSchema') {
    headers['content-type'] = 'application/json; charset=utf-8';
    headers['aeg-data-version'] = first.event.dataVersion;
    headers['aeg-metadata-version'] = first.event.metadataVersion;
    return { headers, body: JSON.stringify(events.map((e) => e.event)) };
  }
  // CloudEvents: metadata version is the spec version; the sender repeats its handshake origin.
  headers['aeg-metadata-version'] = '1.0';
  headers['webhook-request-origin'] = eventGridOrigin;
  const batched = subscription.maxEventsPerBatch !== undefined;
  headers['content-type'] = batched ? 'application/cloudevents-batch+json; charset=utf-8' : 'application/cloudevents+json; charset=utf-8';
  return { headers, body: JSON.stringify(batched ? events.map((e) => e.event) : first?.event) };
}

/**
 * At-least-once delivery with the service's retry schedule, its
 * non-retriable statuses, event TTL and max attempts. Times are the
 * service's, multiplied by `retryTimeScale`.
 */
export class DeliveryEngine {
  readonly deadLetters: DeadLetterRecord[] = [];
  readonly attempts: AttemptRecord[] = [];
  readonly duplicateRules: DuplicateRule[] = [];
  readonly #options: DeliveryEngineOptions;
  readonly #pending = new Set<Delivery>();
  readonly #inFlight = new Set<Promise<void>>();
  readonly #waiting: Delivery[] = [];
  readonly #abort = new AbortController();

  constructor(options: DeliveryEngineOptions) {
    this.#options = options;
    // Every in-flight request listens for stop(); each removes its listener when done.
    setMaxListeners(0, this.#abort.signal);
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  pendingCountFor(subscription: string): number {
    let count = 0;
    for (const delivery of this.#pending) if (delivery.target.config.name === subscription) count += 1;
    return count;
  }

  /** Starts delivering `events` (one request) to `target` now. */
  enqueue(target: DeliveryTarget, topic: string, events: readonly DeliveredEvent[], duplicateOf?: { attempts: number }): void {
    if (this.#abort.signal.aborted || events.length === 0) return;
    const delivery: Delivery = {
      id: randomUUID(),
      target,
      topic,
      events,
      publishedAt: Date.now(),
      duplicate: duplicateOf !== undefined,
      attempts: duplicateOf?.attempts ?? 0,
      lastStatus: null,
      lastOutcome: deliveryOutcomes.Delivered,
      lastAttemptAt: null,
      timer: undefined,
      cancelled: false,
    };
    this.#pending.add(delivery);
    this.#run(delivery);
  }

  /** Drops every pending delivery of a deleted subscription. */
  cancelSubscription(name: string): void {
    for (const delivery of this.#pending) {
      if (delivery.target.config.name !== name) continue;
      delivery.cancelled = true;
      clearTimeout(delivery.timer);
      this.#pending.delete(delivery);
    }
    this.#options.onChange();
  }

  /** Cancels retries and in-flight requests; resolves when no request is left running. */
  async stop(): Promise<void> {
    this.#abort.abort();
    for (const delivery of this.#pending) {
      delivery.cancelled = true;
      clearTimeout(delivery.timer);
    }
    this.#pending.clear();
    this.#waiting.length = 0;
    await Promise.allSettled([...this.#inFlight]);
  }

  #run(delivery: Delivery): void {
    if (this.#inFlight.size >= this.#options.maxConcurrentRequests) {
      this.#waiting.push(delivery);
      return;
    }
    const running = this.#attempt(delivery).finally(() => {
      this.#inFlight.delete(running);
      const next = this.#waiting.shift();
      if (next !== undefined && !this.#abort.signal.aborted) this.#run(next);
    });
    this.#inFlight.add(running);
  }

  async #attempt(delivery: Delivery): Promise<void> {
    if (delivery.cancelled) return;
    const { config, counters } = delivery.target;
    const scale = this.#options.retryTimeScale;
    const ttlMs = config.retryPolicy.eventTimeToLiveInMinutes * 60_000 * scale;
    // The service checks the TTL only when a retry comes due.
    if (delivery.lastAttemptAt !== null && Date.now() - delivery.publishedAt > ttlMs) {
      this.#deadLetter(delivery, deadLetterReasons.TimeToLiveExceeded);
      return;
    }
    const deliveryCount = delivery.attempts;
    const { headers, body } = deliveryRequest(config, delivery.events, deliveryCount);
    let status: number | null = null;
    let outcome: DeliveryOutcome;
    try {
      const response = await sendOutbound({
        url: config.endpointUrl,
        method: 'POST',
        headers,
        body,
        timeoutMs: this.#options.endpointTimeoutMs,
        signal: this.#abort.signal,
        ...(this.#options.ca === undefined ? {} : { ca: this.#options.ca }),
      });
      status = response.status;
      outcome = outcomeOfStatus(status);
    } catch (error) {
      outcome = isOutboundError(error) ? outcomeOfFailure(error.failure) : deliveryOutcomes.GenericError;
    }
    if (delivery.cancelled || outcome === deliveryOutcomes.Aborted) return;

    delivery.attempts += 1;
    delivery.lastStatus = status;
    delivery.lastOutcome = outcome;
    delivery.lastAttemptAt = Date.now();
    pushBounded(
      this.attempts,
      {
        subscription: config.name,
        deliveryId: delivery.id,
        eventIds: delivery.events.map((e) => e.event.id),
        attempt: delivery.attempts,
        deliveryCount,
        status,
        outcome,
        duplicate: delivery.duplicate,
        at: new Date(delivery.lastAttemptAt).toISOString(),
      },
      this.#options.maxRecords,
    );

    if (status !== null && isSuccessStatus(status)) {
      counters.delivered += delivery.events.length;
      this.#pending.delete(delivery);
      if (!delivery.duplicate && this.#shouldDuplicate(config.name)) {
        counters.duplicatesInjected += delivery.events.length;
        this.enqueue(delivery.target, delivery.topic, delivery.events, { attempts: delivery.attempts });
      }
      this.#options.onChange();
      return;
    }
    counters.failedAttempts += 1;
    if (status !== null && !isRetriableStatus(status)) {
      this.#deadLetter(delivery, deadLetterReasons.NonRetriableError);
      return;
    }
    if (delivery.attempts >= config.retryPolicy.maxDeliveryAttempts) {
      this.#deadLetter(delivery, deadLetterReasons.MaxDeliveryAttemptsExceeded);
      return;
    }
    const wait = retryDelayMs(delivery.attempts, status ?? undefined) * scale;
    delivery.timer = setTimeout(() => this.#run(delivery), wait);
    this.#options.onChange();
  }

  #shouldDuplicate(subscription: string): boolean {
    for (const rule of this.duplicateRules) {
      if (rule.subscription !== undefined && rule.subscription !== subscription) continue;
      if (rule.remaining !== undefined && rule.remaining > 0) {
        rule.remaining -= 1;
        return true;
      }
      if (rule.fraction !== undefined && Math.random() < rule.fraction) return true;
    }
    return false;
  }

  #deadLetter(delivery: Delivery, reason: DeadLetterReason): void {
    this.#pending.delete(delivery);
    const now = new Date().toISOString();
    for (const { event } of delivery.events) {
      pushBounded(
        this.deadLetters,
        {
          subscription: delivery.target.config.name,
          topic: delivery.topic,
          event,
          eventId: event.id,
          deadLetterReason: reason,
          deliveryAttempts: delivery.attempts,
          lastDeliveryOutcome: delivery.lastOutcome,
          lastHttpStatus: delivery.lastStatus,
          publishTime: new Date(delivery.publishedAt).toISOString(),
          lastDeliveryAttemptTime: delivery.lastAttemptAt === null ? null : new Date(delivery.lastAttemptAt).toISOString(),
          deadLetteredAt: now,
        },
        this.#options.maxRecords,
      );
      delivery.target.counters.deadLettered += 1;
    }
    this.#options.onChange();
  }
}
