import { CodedError } from './coded-error.js';

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
export class RotatorError extends CodedError<RotatorErrorCode> {
  override readonly name = 'RotatorError';

  constructor(code: RotatorErrorCode, message: string, options?: ErrorOptions & { readonly retryAfterMs?: number }) {
    super(code, transientCodes, message, options);
  }
}

export function isRotatorError(error: unknown): error is RotatorError {
  return error instanceof RotatorError;
}
