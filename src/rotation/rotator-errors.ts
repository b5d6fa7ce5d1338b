import { RotationError, RotationErrorCode } from './errors.js';

/**
 * Closed set of reasons a rotator fails: the provider's share of the engine's
 * codes, passed through to the machine unchanged. Whether a retry may mend one
 * is the engine's table (`isTransientCode`), read through `transient`.
 */
export const RotatorErrorCode = {
  ProviderUnavailable: RotationErrorCode.ProviderUnavailable,
  ProviderThrottled: RotationErrorCode.ProviderThrottled,
  ProviderRejected: RotationErrorCode.ProviderRejected,
  PermissionDenied: RotationErrorCode.PermissionDenied,
  TargetNotFound: RotationErrorCode.TargetNotFound,
  InvalidConfiguration: RotationErrorCode.InvalidConfiguration,
  CredentialRejected: RotationErrorCode.CredentialRejected,
} as const;
export type RotatorErrorCode = (typeof RotatorErrorCode)[keyof typeof RotatorErrorCode];

/** A rotator could not do its part. The message never contains a credential. */
export class RotatorError extends RotationError<RotatorErrorCode> {
  override readonly name: string = 'RotatorError';
}

export function isRotatorError(error: unknown): error is RotatorError {
  return error instanceof RotatorError;
}
