import { isSecretStoreError, SecretStoreErrorCode } from '../keyvault/errors.js';

/**
 * Why a step failed, as the engine decides on it. Transient codes retry the
 * same step with backoff (a scheduled message); permanent ones end the
 * rotation: rollback when it has changed the world, Failed otherwise.
 */
export const RotationErrorCode = {
  // transient
  VaultThrottled: 'VaultThrottled',
  VaultUnavailable: 'VaultUnavailable',
  ProviderThrottled: 'ProviderThrottled',
  ProviderUnavailable: 'ProviderUnavailable',
  /** A declared consumer (or ARM in front of it) did not answer, or throttled: nudge again later. */
  ConsumerUnavailable: 'ConsumerUnavailable',
  /** An error no layer translated (a bug, a runtime fault): retried, bounded by the attempts. */
  Unexpected: 'Unexpected',
  // permanent
  InvalidPolicy: 'InvalidPolicy',
  RotatorNotFound: 'RotatorNotFound',
  SecretNotFound: 'SecretNotFound',
  SecretDisabled: 'SecretDisabled',
  VaultForbidden: 'VaultForbidden',
  VaultRejected: 'VaultRejected',
  TagLimitExceeded: 'TagLimitExceeded',
  PendingNameCollision: 'PendingNameCollision',
  /** Someone else wrote a new version of the secret while the rotation ran. */
  ConcurrentWrite: 'ConcurrentWrite',
  ProviderRejected: 'ProviderRejected',
  PermissionDenied: 'PermissionDenied',
  TargetNotFound: 'TargetNotFound',
  InvalidConfiguration: 'InvalidConfiguration',
  CredentialRejected: 'CredentialRejected',
  /** A declared consumer refused the nudge, or Rotor may not nudge it (role, signing key, no such app). */
  ConsumerRejected: 'ConsumerRejected',
  /** A declared consumer did not report the promoted version within the adoption timeout (I8). */
  ConsumerNotAdopted: 'ConsumerNotAdopted',
  /** Health probes or the rotator's self-test kept failing after the change. */
  Unhealthy: 'Unhealthy',
  RetriesExhausted: 'RetriesExhausted',
  DeadlineExceeded: 'DeadlineExceeded',
  /** Service Bus gave up delivering the step's message (the handler kept throwing, or the body was unreadable). */
  DeadLettered: 'DeadLettered',
} as const;
export type RotationErrorCode = (typeof RotationErrorCode)[keyof typeof RotationErrorCode];

const transientCodes: ReadonlySet<RotationErrorCode> = new Set([
  RotationErrorCode.VaultThrottled,
  RotationErrorCode.VaultUnavailable,
  RotationErrorCode.ProviderThrottled,
  RotationErrorCode.ProviderUnavailable,
  RotationErrorCode.ConsumerUnavailable,
  RotationErrorCode.Unexpected,
]);

export function isTransientCode(code: RotationErrorCode): boolean {
  return transientCodes.has(code);
}

/**
 * A step could not complete: a code from the closed set above, whether a retry
 * may mend it (decided by the code, never by the text: the one table above),
 * and the Retry-After the other side gave. The message is value-free: it goes
 * to the ledger and notifications. A rotator's `RotatorError` is this error
 * with a narrower code (./rotator-errors.ts).
 */
export class RotationError<Code extends RotationErrorCode = RotationErrorCode> extends Error {
  override readonly name: string = 'RotationError';
  readonly code: Code;
  readonly transient: boolean;
  /** When the other side said when to come back (429 Retry-After): the retry is scheduled no earlier. */
  readonly retryAfterMs?: number;

  constructor(code: Code, message: string, options?: ErrorOptions & { readonly retryAfterMs?: number }) {
    super(message, options);
    this.code = code;
    this.transient = transientCodes.has(code);
    if (options?.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}

/** True for the engine's errors and a rotator's alike. */
export function isRotationError(error: unknown): error is RotationError {
  return error instanceof RotationError;
}

/** Errors a step may end with: translated at a boundary, value-free, with a code the machine decides on. */
export function isStepError(error: unknown): boolean {
  return isRotationError(error) || isSecretStoreError(error);
}

const fromStore: Record<SecretStoreErrorCode, RotationErrorCode> = {
  [SecretStoreErrorCode.Throttled]: RotationErrorCode.VaultThrottled,
  [SecretStoreErrorCode.Unavailable]: RotationErrorCode.VaultUnavailable,
  [SecretStoreErrorCode.NotFound]: RotationErrorCode.SecretNotFound,
  [SecretStoreErrorCode.SecretDisabled]: RotationErrorCode.SecretDisabled,
  [SecretStoreErrorCode.Forbidden]: RotationErrorCode.VaultForbidden,
  [SecretStoreErrorCode.Conflict]: RotationErrorCode.VaultRejected,
  [SecretStoreErrorCode.BadRequest]: RotationErrorCode.VaultRejected,
  [SecretStoreErrorCode.Unknown]: RotationErrorCode.VaultUnavailable,
};

/**
 * Translates whatever a step threw into a `RotationError` (a rotator's error
 * already is one). Typed errors keep their (value-free) message; an untyped error keeps only its name, because
 * its text was written by code that never promised to keep values out.
 */
export function toRotationError(error: unknown): RotationError {
  if (isRotationError(error)) return error;
  if (isSecretStoreError(error)) return new RotationError(fromStore[error.code], error.message, { cause: error });
  const name = error instanceof Error ? error.name : typeof error;
  return new RotationError(RotationErrorCode.Unexpected, `unexpected ${name} (text withheld: it may contain values)`, { cause: error });
}
