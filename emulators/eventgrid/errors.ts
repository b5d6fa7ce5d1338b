/** Why an emulator call was refused; callers branch on `code`, never on message text. */
export const eventGridEmulatorErrorCodes = {
  InvalidSubscription: 'InvalidSubscription',
  SubscriptionExists: 'SubscriptionExists',
  SubscriptionNotFound: 'SubscriptionNotFound',
  SubscriptionValidationFailed: 'SubscriptionValidationFailed',
  TopicNotFound: 'TopicNotFound',
  InvalidEvent: 'InvalidEvent',
  InvalidRequest: 'InvalidRequest',
  WaitTimedOut: 'WaitTimedOut',
  Stopped: 'Stopped',
} as const;
export type EventGridEmulatorErrorCode = (typeof eventGridEmulatorErrorCodes)[keyof typeof eventGridEmulatorErrorCodes];

/** One wrong input, named by its path (`filter.includedEventTypes.0`). */
export interface FieldProblem {
  readonly field: string;
  readonly message: string;
}

export class EventGridEmulatorError extends Error {
  override readonly name: string = 'EventGridEmulatorError';
  readonly code: EventGridEmulatorErrorCode;
  readonly problems: readonly FieldProblem[];

  constructor(code: EventGridEmulatorErrorCode, message: string, options?: ErrorOptions & { problems?: readonly FieldProblem[] }) {
    super(message, options);
    this.code = code;
    this.problems = options?.problems ?? [];
  }
}

/** The validation handshake with the endpoint did not prove consent; the subscription was not created. */
export class SubscriptionValidationError extends EventGridEmulatorError {
  override readonly name = 'SubscriptionValidationError';
  readonly endpointUrl: string;

  constructor(subscription: string, endpointUrl: string, reason: string, options?: ErrorOptions) {
    super(
      eventGridEmulatorErrorCodes.SubscriptionValidationFailed,
      `Webhook validation handshake failed for subscription '${subscription}' at ${endpointUrl}: ${reason}`,
      options,
    );
    this.endpointUrl = endpointUrl;
  }
}

export function isEventGridEmulatorError(error: unknown): error is EventGridEmulatorError {
  return error instanceof EventGridEmulatorError;
}

export function isSubscriptionValidationError(error: unknown): error is SubscriptionValidationError {
  return error instanceof SubscriptionValidationError;
}
