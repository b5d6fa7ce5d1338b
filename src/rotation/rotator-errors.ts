/** Closed set of reasons a rotator fails; retry decisions read `transient`, not the text. */
export const RotatorErrorCode = {
  ProviderUnavailable: 'ProviderUnavailable',
  ProviderThrottled: 'ProviderThrottled',
  ProviderRejected: 'ProviderRejected',
  PermissionDenied: 'PermissionDenied',
  TargetNotFound: 'TargetNotFound',
  InvalidConfiguration: 'InvalidConfiguration',
  CredentialRejected: 'CredentialRejected',
} as const;
export type RotatorErrorCode = (typeof RotatorErrorCode)[keyof typeof RotatorErrorCode];

const transientCodes: ReadonlySet<RotatorErrorCode> = new Set([
  RotatorErrorCode.ProviderUnavailable,
  RotatorErrorCode.ProviderThrottled,
]);

/** A rotator could not do its part. The message never contains a credential. */
export class RotatorError extends Error {
  override readonly name = 'RotatorError';
  readonly code: RotatorErrorCode;
  readonly transient: boolean;
  /** When the provider said when to come back (429 Retry-After); the engine schedules the retry no earlier. */
  readonly retryAfterMs?: number;

  constructor(code: RotatorErrorCode, message: string, options?: ErrorOptions & { readonly retryAfterMs?: number }) {
    super(message, options);
    this.code = code;
    this.transient = transientCodes.has(code);
    if (options?.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}

export function isRotatorError(error: unknown): error is RotatorError {
  return error instanceof RotatorError;
}
