/**
 * Why nudging a consumer, or reading its adoption, failed. Translated once at
 * the adapter; the step decides on `code` (transient ones are retried with
 * backoff), never on message text. Messages name the consumer as
 * `displayConsumer` shows it and never quote a body the consumer sent.
 */
export const ConsumerErrorCode = {
  /** No answer, a reset, a timeout or a 5xx: try again later. */
  Unavailable: 'Unavailable',
  /** 429: try again later, after `retryAfterMs` when given. */
  Throttled: 'Throttled',
  /** 401/403: Rotor lacks the role on the app, or the consumer refused the signature. */
  Forbidden: 'Forbidden',
  /** 404: the app, slot or endpoint does not exist. */
  NotFound: 'NotFound',
  /** Another 4xx, a redirect, or an answer Rotor cannot read. */
  Rejected: 'Rejected',
  /** Rotor is missing something it needs (a setting, a trusted certificate). */
  NotConfigured: 'NotConfigured',
} as const;
export type ConsumerErrorCode = (typeof ConsumerErrorCode)[keyof typeof ConsumerErrorCode];

export class ConsumerError extends Error {
  override readonly name = 'ConsumerError';
  readonly code: ConsumerErrorCode;
  readonly retryAfterMs?: number;

  constructor(code: ConsumerErrorCode, message: string, options?: ErrorOptions & { readonly retryAfterMs?: number }) {
    super(message, options);
    this.code = code;
    if (options?.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }

  /** Worth trying again: the consumer or the service in front of it may answer later. */
  get transient(): boolean {
    return this.code === ConsumerErrorCode.Unavailable || this.code === ConsumerErrorCode.Throttled;
  }
}

export function isConsumerError(error: unknown): error is ConsumerError {
  return error instanceof ConsumerError;
}

export function consumerCodeForStatus(status: number): ConsumerErrorCode {
  if (status === 429) return ConsumerErrorCode.Throttled;
  if (status === 408 || status >= 500) return ConsumerErrorCode.Unavailable;
  if (status === 401 || status === 403) return ConsumerErrorCode.Forbidden;
  if (status === 404 || status === 410) return ConsumerErrorCode.NotFound;
  return ConsumerErrorCode.Rejected;
}
