/**
 * Two kinds of failure live here. `ServiceBusEmulatorError` is what the
 * emulator's own callers (start options, the admin object and its HTTP
 * surface) receive. `AmqpConditionError` is a broker answer that travels to
 * the Service Bus client on the wire (a link detach, a disposition, a
 * `$management` reply), so its `condition` is one the SDK translates into a
 * `ServiceBusError` code.
 */

export const emulatorErrorCodes = {
  invalidOptions: 'InvalidOptions',
  invalidQueueConfiguration: 'InvalidQueueConfiguration',
  queueNotFound: 'QueueNotFound',
  queueAlreadyExists: 'QueueAlreadyExists',
  notRunning: 'NotRunning',
} as const;
export type EmulatorErrorCode = (typeof emulatorErrorCodes)[keyof typeof emulatorErrorCodes];

export class ServiceBusEmulatorError extends Error {
  override readonly name = 'ServiceBusEmulatorError';
  readonly code: EmulatorErrorCode;
  /** The option or configuration field that is wrong, when one is. */
  readonly field: string | undefined;

  constructor(code: EmulatorErrorCode, message: string, options?: ErrorOptions & { field?: string }) {
    super(message, options);
    this.code = code;
    this.field = options?.field;
  }
}

export function isServiceBusEmulatorError(error: unknown): error is ServiceBusEmulatorError {
  return error instanceof ServiceBusEmulatorError;
}

/**
 * AMQP error conditions the broker sends, with the `ServiceBusError.code` the
 * SDK 7.9 turns each into (core-amqp `ConditionErrorNameMapper`, then
 * service-bus `wellKnownMessageCodesToServiceBusCodes`).
 */
export const amqpConditions = {
  /** → MessagingEntityNotFound (description says "could not be found"). */
  notFound: 'amqp:not-found',
  /** → GeneralError prefixed `InvalidOperationError:`; .NET's InvalidOperationException. */
  notAllowed: 'amqp:not-allowed',
  /** → MessageSizeExceeded. */
  messageSizeExceeded: 'amqp:link:message-size-exceeded',
  /** → MessageLockLost. */
  messageLockLost: 'com.microsoft:message-lock-lost',
  /** → SessionLockLost. */
  sessionLockLost: 'com.microsoft:session-lock-lost',
  /** → SessionCannotBeLocked. */
  sessionCannotBeLocked: 'com.microsoft:session-cannot-be-locked',
  /** → ServiceTimeout; also what acceptNextSession gets when no session is free. */
  timeout: 'com.microsoft:timeout',
  /** → MessageNotFound. */
  messageNotFound: 'com.microsoft:message-not-found',
  /** → GeneralError prefixed `ArgumentError:`. */
  argumentError: 'com.microsoft:argument-error',
  /** → UnauthorizedAccess. */
  unauthorized: 'amqp:unauthorized-access',
  /** → GeneralError prefixed `NotImplementedError:`. */
  notImplemented: 'amqp:not-implemented',
  /** → GeneralError prefixed `InternalServerError:` (retryable). */
  internalError: 'amqp:internal-error',
} as const;
export type AmqpCondition = (typeof amqpConditions)[keyof typeof amqpConditions];

/** HTTP-style status a `$management` reply carries for each condition. */
export const managementStatusOf: Record<AmqpCondition, number> = {
  [amqpConditions.notFound]: 404,
  [amqpConditions.notAllowed]: 400,
  [amqpConditions.messageSizeExceeded]: 403,
  [amqpConditions.messageLockLost]: 410,
  [amqpConditions.sessionLockLost]: 410,
  [amqpConditions.sessionCannotBeLocked]: 410,
  [amqpConditions.timeout]: 408,
  [amqpConditions.messageNotFound]: 404,
  [amqpConditions.argumentError]: 400,
  [amqpConditions.unauthorized]: 401,
  [amqpConditions.notImplemented]: 501,
  [amqpConditions.internalError]: 500,
};

/** A refusal the broker sends to the client as an AMQP error. */
export class AmqpConditionError extends Error {
  override readonly name = 'AmqpConditionError';
  readonly condition: AmqpCondition;

  constructor(condition: AmqpCondition, description: string) {
    super(description);
    this.condition = condition;
  }

  /** The `{ condition, description }` shape rhea puts on the wire. */
  toAmqpError(): { condition: AmqpCondition; description: string } {
    return { condition: this.condition, description: this.message };
  }
}

export function isAmqpConditionError(error: unknown): error is AmqpConditionError {
  return error instanceof AmqpConditionError;
}
