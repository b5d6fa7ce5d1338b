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

  constructor(code: RotatorErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.transient = transientCodes.has(code);
  }
}

export function isRotatorError(error: unknown): error is RotatorError {
  return error instanceof RotatorError;
}
