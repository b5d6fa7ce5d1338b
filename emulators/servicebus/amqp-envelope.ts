/**
 * Wire shapes of Service Bus messages: the batch format, the annotations the
 * broker stamps on a delivery, lock tokens and .NET ticks. Messages are kept
 * as rhea decodes them and encoded again for each delivery, so a delivery's
 * header and annotations can change (delivery count, lock expiry) while its
 * properties and body stay as sent.
 */
import { randomUUID } from 'node:crypto';
import type { Message } from 'rhea';
import { amqp } from './rhea-runtime.js';

/** Message format of a batched send: one message whose data sections are encoded messages. */
export const batchMessageFormat = 0x80013700;

export const annotationKeys = {
  sequenceNumber: 'x-opt-sequence-number',
  enqueuedTime: 'x-opt-enqueued-time',
  lockedUntil: 'x-opt-locked-until',
  scheduledEnqueueTime: 'x-opt-scheduled-enqueue-time',
  messageState: 'x-opt-message-state',
  deadLetterSource: 'x-opt-deadletter-source',
} as const;

/** `x-opt-message-state` values the SDK reads as `state` on received messages. */
export const wireMessageStates = { active: 0, deferred: 1, scheduled: 2 } as const;

const dataSectionCode = 0x75;
/** The header's `ttl` is an AMQP uint. */
const maxUint32 = 0xffff_ffff;

interface BodySection {
  typecode: number;
  content: unknown;
  multiple?: boolean;
}

function isBodySection(value: unknown): value is BodySection {
  return typeof value === 'object' && value !== null && 'typecode' in value && 'content' in value;
}

/** The messages inside a batched transfer, in order. */
export function unpackBatch(payload: Buffer): Message[] {
  const envelope = amqp.decodeMessage(payload);
  const body: unknown = envelope.body;
  if (!isBodySection(body) || body.typecode !== dataSectionCode) {
    throw new TypeError('a batch must carry its messages as data sections');
  }
  const parts = body.multiple === true && Array.isArray(body.content) ? (body.content as unknown[]) : [body.content];
  return parts.map((part) => {
    if (!Buffer.isBuffer(part)) throw new TypeError('a batch data section must hold an encoded message');
    return amqp.decodeMessage(part);
  });
}

export interface DeliveryStamp {
  readonly deliveryCount: number;
  /** The time to live in force (the message's own or the queue default); the SDK derives `expiresAtUtc` from it. */
  readonly timeToLiveMs?: number;
  readonly annotations: Readonly<Record<string, unknown>>;
  readonly applicationProperties?: Readonly<Record<string, unknown>>;
}

/** Encodes a stored message with the header and annotations of one delivery. */
export function encodeForDelivery(message: Message, stamp: DeliveryStamp): Buffer {
  const original = message as unknown as Record<string, unknown>;
  const annotations = (original.message_annotations ?? {}) as Record<string, unknown>;
  const applicationProperties = (original.application_properties ?? undefined) as Record<string, unknown> | undefined;
  const out: Record<string, unknown> = {
    ...original,
    delivery_count: stamp.deliveryCount,
    message_annotations: { ...annotations, ...stamp.annotations },
  };
  if (stamp.timeToLiveMs !== undefined) out.ttl = Math.min(stamp.timeToLiveMs, maxUint32);
  if (stamp.applicationProperties !== undefined) {
    out.application_properties = { ...(applicationProperties ?? {}), ...stamp.applicationProperties };
  }
  return amqp.encodeMessage(out);
}

export function encodedSize(message: Message): number {
  return amqp.encodeMessage(message).length;
}

/** A stable text key for a message id, whatever AMQP type it was sent as. */
export function messageIdKey(messageId: unknown): string | undefined {
  if (messageId === undefined || messageId === null) return undefined;
  if (typeof messageId === 'string') return `s:${messageId}`;
  if (typeof messageId === 'number') return `n:${messageId}`;
  if (Buffer.isBuffer(messageId)) return `b:${messageId.toString('hex')}`;
  // Other AMQP id types (described values) compare by their encoded form.
  return `j:${JSON.stringify(messageId)}`;
}

export function newLockToken(): string {
  return randomUUID();
}

/** RFC 4122 byte order, as the SDK sends lock tokens in `$management` requests. */
export function uuidToBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

export function uuidFromBytes(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * .NET `Guid.ToByteArray()` order: the first three groups little-endian. The
 * delivery tag of a peek-locked message carries the lock token this way and
 * the SDK swaps it back before printing it.
 */
export function uuidToDotNetBytes(uuid: string): Buffer {
  const b = uuidToBytes(uuid);
  return Buffer.from([b[3]!, b[2]!, b[1]!, b[0]!, b[5]!, b[4]!, b[7]!, b[6]!, ...b.subarray(8)]);
}

const ticksAtUnixEpoch = 621_355_968_000_000_000n;

/** .NET ticks (100 ns since 0001-01-01) as the 8 big-endian bytes of an AMQP long. */
export function toDotNetTicks(epochMs: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigInt64BE(BigInt(Math.trunc(epochMs)) * 10_000n + ticksAtUnixEpoch);
  return out;
}
