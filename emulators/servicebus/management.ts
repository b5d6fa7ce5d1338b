/**
 * `<queue>/$management` request/response operations, shaped as
 * `@azure/service-bus` 7.9's ManagementClient sends and reads them: the
 * operation in `application_properties.operation`, an AMQP map body, a reply
 * with `statusCode`/`statusDescription` (and `errorCondition` on failure)
 * correlated by the request's `message_id`.
 */
import type { Message } from 'rhea';
import { z } from 'zod';
import { annotationKeys, encodeForDelivery, newLockToken, uuidFromBytes, uuidToBytes, wireMessageStates } from './amqp-envelope.js';
import { AmqpConditionError, amqpConditions, isAmqpConditionError, managementStatusOf } from './errors.js';
import type { BrokerQueue, DeliveredMessage, LockHolder, SettleOutcome, StoredMessage, SubQueue } from './queue.js';
import { messageStates, settleOutcomes } from './queue.js';
import { amqp } from './rhea-runtime.js';

export const managementOperations = {
  scheduleMessage: 'com.microsoft:schedule-message',
  cancelScheduledMessage: 'com.microsoft:cancel-scheduled-message',
  renewLock: 'com.microsoft:renew-lock',
  peekMessage: 'com.microsoft:peek-message',
  updateDisposition: 'com.microsoft:update-disposition',
  receiveBySequenceNumber: 'com.microsoft:receive-by-sequence-number',
  getSessionState: 'com.microsoft:get-session-state',
  setSessionState: 'com.microsoft:set-session-state',
  renewSessionLock: 'com.microsoft:renew-session-lock',
  getMessageSessions: 'com.microsoft:get-message-sessions',
} as const;

export interface ManagementTarget {
  readonly queue: BrokerQueue;
  readonly sub: SubQueue;
  /** Holds locks taken by `receive-by-sequence-number` on this link. */
  readonly holder: LockHolder;
}

const { types } = amqp;
const longTypeCode = 0x81;
const timestampTypeCode = 0x83;
const stringTypeCode = 0xb1;

// ---- request bodies (zod: this is wire input) --------------------------------

/** An AMQP long arrives as a number, or as 8 bytes when it exceeds 2^53. */
const longValue = z.union([z.number().int(), z.instanceof(Buffer)]).transform((v) => (typeof v === 'number' ? v : Number(v.readBigInt64BE())));
const uuidValue = z.instanceof(Buffer).refine((b) => b.length === 16, 'must be a 16-byte uuid');
const optionalText = z.string().nullish().transform((v) => v ?? undefined);
const propertyMap = z.record(z.string(), z.unknown()).nullish().transform((v) => v ?? undefined);

const bodies = {
  [managementOperations.scheduleMessage]: z.looseObject({
    messages: z.array(z.looseObject({ message: z.instanceof(Buffer) })).min(1),
  }),
  [managementOperations.cancelScheduledMessage]: z.looseObject({ 'sequence-numbers': z.array(longValue) }),
  [managementOperations.renewLock]: z.looseObject({ 'lock-tokens': z.array(uuidValue).min(1) }),
  [managementOperations.peekMessage]: z.looseObject({
    'from-sequence-number': longValue,
    'message-count': z.number().int().min(1),
    'session-id': optionalText,
    // @azure/service-bus 7.9 sends it for `peekMessages(n, { omitMessageBody: true })`.
    'omit-message-body': z.boolean().optional(),
  }),
  [managementOperations.updateDisposition]: z.looseObject({
    'lock-tokens': z.array(uuidValue).min(1),
    'disposition-status': z.enum(['completed', 'abandoned', 'defered', 'suspended']),
    'deadletter-reason': optionalText,
    'deadletter-description': optionalText,
    'properties-to-modify': propertyMap,
  }),
  [managementOperations.receiveBySequenceNumber]: z.looseObject({
    'sequence-numbers': z.array(longValue).min(1),
    'receiver-settle-mode': z.number().int().min(0).max(1).default(1),
    'session-id': optionalText,
  }),
  [managementOperations.getSessionState]: z.looseObject({ 'session-id': z.string().min(1) }),
  [managementOperations.setSessionState]: z.looseObject({
    'session-id': z.string().min(1),
    'session-state': z.instanceof(Buffer).nullish().transform((v) => v ?? undefined),
  }),
  [managementOperations.renewSessionLock]: z.looseObject({ 'session-id': z.string().min(1) }),
  [managementOperations.getMessageSessions]: z.looseObject({
    skip: z.number().int().min(0).default(0),
    top: z.number().int().min(1).default(2 ** 31 - 1),
  }),
};

type ManagementOperation = keyof typeof bodies;
type BodyOf<Op extends ManagementOperation> = z.output<(typeof bodies)[Op]>;

function isOperation(value: unknown): value is ManagementOperation {
  return typeof value === 'string' && Object.hasOwn(bodies, value);
}

function parseBody<Op extends ManagementOperation>(operation: Op, body: unknown): BodyOf<Op> {
  const parsed = bodies[operation].safeParse(body);
  if (parsed.success) return parsed.data as BodyOf<Op>;
  const issue = parsed.error.issues[0];
  const field = issue?.path.map(String).join('.') || '(body)';
  throw new AmqpConditionError(amqpConditions.argumentError, `${operation}: ${field} ${issue?.message ?? 'is malformed'}`);
}

// ---- replies -------------------------------------------------------------------

interface Reply {
  readonly status: number;
  readonly body?: Record<string, unknown>;
}

const statusDescriptions: Record<number, string> = { 200: 'OK', 204: 'No Content' };

/** Answers one request; failures become error replies, never exceptions. */
export function answerManagementRequest(request: Message, target: ManagementTarget): Message {
  const properties = (request.application_properties ?? {}) as Record<string, unknown>;
  const base = { correlation_id: request.message_id, to: request.reply_to };
  try {
    const operation = properties.operation;
    if (!isOperation(operation)) {
      throw new AmqpConditionError(amqpConditions.notImplemented, `The operation '${String(operation)}' is not supported by the Rotor Service Bus emulator.`);
    }
    const reply = perform(operation, request.body, target);
    return {
      ...base,
      application_properties: { statusCode: reply.status, statusDescription: statusDescriptions[reply.status] ?? 'OK' },
      body: types.wrap_map(reply.body ?? {}),
    };
  } catch (error) {
    const failure = isAmqpConditionError(error)
      ? error
      : new AmqpConditionError(amqpConditions.internalError, `The emulator could not process the request: ${error instanceof Error ? error.message : String(error)}`);
    return {
      ...base,
      application_properties: {
        statusCode: managementStatusOf[failure.condition],
        statusDescription: failure.message,
        errorCondition: failure.condition,
      },
      body: types.wrap_map({}),
    };
  }
}

function perform(operation: ManagementOperation, rawBody: unknown, target: ManagementTarget): Reply {
  const { queue, sub } = target;
  switch (operation) {
    case managementOperations.scheduleMessage: {
      const body = parseBody(operation, rawBody);
      const messages = body.messages.map((entry) => amqp.decodeMessage(entry.message));
      messages.forEach((message, i) => queue.checkSendable(message, body.messages[i]!.message.length));
      const sequenceNumbers = messages.map((message, i) => queue.accept(message, body.messages[i]!.message.length).sequenceNumber);
      return { status: 200, body: { 'sequence-numbers': types.wrap_array(sequenceNumbers, longTypeCode, undefined) } };
    }
    case managementOperations.cancelScheduledMessage: {
      queue.cancelScheduled(parseBody(operation, rawBody)['sequence-numbers']);
      return { status: 200 };
    }
    case managementOperations.renewLock: {
      const tokens = parseBody(operation, rawBody)['lock-tokens'];
      const expirations = tokens.map((token) => queue.renewLock(sub, uuidFromBytes(token)));
      return { status: 200, body: { expirations: types.wrap_array(expirations, timestampTypeCode, undefined) } };
    }
    case managementOperations.peekMessage: {
      const body = parseBody(operation, rawBody);
      const found = queue.peek(sub, body['from-sequence-number'], body['message-count'], body['session-id']);
      if (found.length === 0) return { status: 204 };
      const omitBody = body['omit-message-body'] === true;
      return { status: 200, body: { messages: types.wrap_list(found.map((stored) => types.wrap_map({ message: encodePeeked(stored, omitBody) }))) } };
    }
    case managementOperations.updateDisposition: {
      const body = parseBody(operation, rawBody);
      const outcome = dispositionOutcomes[body['disposition-status']];
      for (const token of body['lock-tokens']) {
        queue.settle(
          sub,
          uuidFromBytes(token),
          outcome,
          {
            ...(body['deadletter-reason'] === undefined ? {} : { reason: body['deadletter-reason'] }),
            ...(body['deadletter-description'] === undefined ? {} : { description: body['deadletter-description'] }),
            ...(body['properties-to-modify'] === undefined ? {} : { propertiesToModify: body['properties-to-modify'] }),
          },
          {},
        );
      }
      return { status: 200 };
    }
    case managementOperations.receiveBySequenceNumber: {
      const body = parseBody(operation, rawBody);
      const peekLock = body['receiver-settle-mode'] === 1;
      const delivered = queue.receiveDeferred(sub, body['sequence-numbers'], peekLock ? target.holder : undefined, body['session-id']);
      const entries = delivered.map((d) =>
        types.wrap_map({ message: encodeDelivered(d), 'lock-token': types.wrap_uuid(uuidToBytes(d.lockToken ?? newLockToken())) }),
      );
      return { status: 200, body: { messages: types.wrap_list(entries) } };
    }
    case managementOperations.getSessionState: {
      const state = queue.getSessionState(parseBody(operation, rawBody)['session-id']);
      return { status: 200, body: { 'session-state': state ?? null } };
    }
    case managementOperations.setSessionState: {
      const body = parseBody(operation, rawBody);
      queue.setSessionState(body['session-id'], body['session-state']);
      return { status: 200 };
    }
    case managementOperations.renewSessionLock: {
      const expiration = queue.renewSessionLock(parseBody(operation, rawBody)['session-id']);
      return { status: 200, body: { expiration: new Date(expiration) } };
    }
    case managementOperations.getMessageSessions: {
      const body = parseBody(operation, rawBody);
      const ids = queue.listSessions(body.skip, body.top);
      return { status: 200, body: { skip: types.wrap_int(body.skip + ids.length), 'sessions-ids': types.wrap_array(ids, stringTypeCode, undefined) } };
    }
  }
}

const dispositionOutcomes: Record<'completed' | 'abandoned' | 'defered' | 'suspended', SettleOutcome> = {
  completed: settleOutcomes.complete,
  abandoned: settleOutcomes.abandon,
  defered: settleOutcomes.defer,
  suspended: settleOutcomes.deadLetter,
};

/** Annotations every delivered or peeked copy carries. */
export function brokerAnnotations(stored: StoredMessage, lockedUntil: number | undefined): Record<string, unknown> {
  return {
    [annotationKeys.sequenceNumber]: types.wrap_long(stored.sequenceNumber),
    [annotationKeys.enqueuedTime]: new Date(stored.enqueuedAt),
    ...(lockedUntil === undefined ? {} : { [annotationKeys.lockedUntil]: new Date(lockedUntil) }),
    ...(stored.state === messageStates.active ? {} : { [annotationKeys.messageState]: types.wrap_int(wireMessageStates[stored.state]) }),
    ...(stored.scheduledFor === undefined ? {} : { [annotationKeys.scheduledEnqueueTime]: new Date(stored.scheduledFor) }),
  };
}

export function encodeDelivered(delivered: DeliveredMessage): Buffer {
  return encodeForDelivery(delivered.stored.message, {
    deliveryCount: delivered.headerDeliveryCount,
    annotations: brokerAnnotations(delivered.stored, delivered.lockedUntil),
    ...timeToLiveOf(delivered.stored),
  });
}

function encodePeeked(stored: StoredMessage, omitBody: boolean): Buffer {
  const message = omitBody ? withoutBody(stored.message) : stored.message;
  return encodeForDelivery(message, {
    deliveryCount: stored.deliveryCount,
    annotations: brokerAnnotations(stored, stored.lock?.lockedUntil),
    ...timeToLiveOf(stored),
  });
}

/** The message with its body sections left out: what the service returns to a peek with `omit-message-body`. */
function withoutBody(message: StoredMessage['message']): StoredMessage['message'] {
  const { body: _body, ...rest } = message as unknown as Record<string, unknown>;
  return rest as unknown as StoredMessage['message'];
}

function timeToLiveOf(stored: StoredMessage): { timeToLiveMs?: number } {
  return Number.isFinite(stored.expiresAt) ? { timeToLiveMs: stored.expiresAt - stored.enqueuedAt } : {};
}
