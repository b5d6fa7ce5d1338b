import { createHash } from 'node:crypto';
import type { ServiceBusMessage, ServiceBusSender } from '@azure/service-bus';
import { z } from 'zod';
import { formatSecretRef, secretRefSchema, type SecretRef } from '../keyvault/secret-ref.js';
import { decodeMessageBody, stepSessionId } from '../queue/step-message.js';
import { redeliveryProperty } from '../queue/step-redelivery.js';

/**
 * An event admitted by the intake, waiting for its rotation to be started
 * (enqueue first: the intake answers Event Grid after one send; the vault
 * read and every per-event check run when this message is handled). It
 * travels on the step queue, in the secret's session, so it runs in order with
 * that secret's steps. References only (I5): secret, version, event id and type.
 */
export interface EventStart {
  readonly secret: SecretRef;
  readonly version: string;
  readonly eventType: string;
  readonly eventId: string;
}

const eventStartSchema = z.strictObject({
  secret: secretRefSchema,
  version: z.string().regex(/^[0-9A-Za-z-]{1,64}$/, 'must be a Key Vault version id'),
  eventType: z.string().min(1).max(200),
  eventId: z.string().min(1).max(200),
});

/** The body on the wire: `{"start": {...}}`, which no step message can be (those are strict objects with a rotationId). */
const startMessageSchema = z.strictObject({ start: eventStartSchema });

export type StartMessageParse = { readonly ok: true; readonly start: EventStart } | { readonly ok: false };

/** A received body (object, JSON string or JSON bytes) read as a start message; `ok: false` for anything else (a step message, garbage). */
export function parseStartMessage(body: unknown): StartMessageParse {
  const decoded = decodeMessageBody(body);
  if (decoded === undefined) return { ok: false };
  const parsed = startMessageSchema.safeParse(decoded.value);
  return parsed.success ? { ok: true, start: parsed.data.start } : { ok: false };
}

/**
 * One id per (secret, version): the step queue's duplicate detection (a day)
 * drops the same event enqueued again by any instance, whatever its schema or
 * event id. A redelivery copy (infrastructure backoff) adds its number.
 */
export function startMessageId(start: Pick<EventStart, 'secret' | 'version'>, redelivery = 0): string {
  const key = createHash('sha256').update(`${formatSecretRef(start.secret).toLowerCase()}@${start.version}`).digest('hex').slice(0, 40);
  return redelivery === 0 ? `start:${key}` : `start:${key}:redelivery:${redelivery}`;
}

export interface StartQueue {
  /** Sends the start now (or as redelivery copy `redelivery`, scheduled for `notBefore`). */
  enqueue(start: EventStart, options?: { readonly redelivery?: number; readonly notBefore?: Date }): Promise<void>;
}

/** Start messages sent in one batch at most (about 400 bytes each: far under a batch's 256 KB). */
const MAX_PER_SEND = 100;

/**
 * `StartQueue` over the step queue's sender. The runtime invokes the intake
 * once per event of a delivery, all at once: starts enqueued in the same turn
 * of the event loop go out together, up to `MAX_PER_SEND` per batch send (one
 * round trip instead of one per event; a 5,000-event delivery is 50 sends).
 * Each `enqueue` settles with its batch. The queue is not partitioned, so one
 * batch may carry many sessions. A scheduled copy (redelivery) is sent alone.
 */
export function createServiceBusStartQueue(sender: ServiceBusSender): StartQueue {
  const waiting: { readonly message: ServiceBusMessage; readonly resolve: () => void; readonly reject: (error: unknown) => void }[] = [];
  let flushing = false;
  const flush = async (): Promise<void> => {
    flushing = false;
    while (waiting.length > 0) {
      const batch = waiting.splice(0, MAX_PER_SEND);
      try {
        await sender.sendMessages(batch.map((w) => w.message));
        for (const w of batch) w.resolve();
      } catch (error) {
        for (const w of batch) w.reject(error);
      }
    }
  };
  return {
    async enqueue(start, options) {
      const redelivery = options?.redelivery ?? 0;
      const message: ServiceBusMessage = {
        body: { start: { secret: start.secret, version: start.version, eventType: start.eventType, eventId: start.eventId } },
        contentType: 'application/json',
        messageId: startMessageId(start, redelivery),
        sessionId: stepSessionId(start.secret),
        subject: 'start',
        applicationProperties: { kind: 'start', version: start.version, ...(redelivery === 0 ? {} : { [redeliveryProperty]: redelivery }) },
      };
      if (options?.notBefore !== undefined) {
        await sender.scheduleMessages(message, options.notBefore);
        return;
      }
      await new Promise<void>((resolve, reject) => {
        waiting.push({ message, resolve, reject });
        if (!flushing) {
          flushing = true;
          setImmediate(() => void flush());
        }
      });
    },
  };
}
