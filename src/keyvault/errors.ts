/**
 * Key Vault failures as Rotor reasons about them. The adapter translates the
 * SDK's `RestError` once into one of these codes; retry decisions read the
 * code (`transient`), never the message text.
 */
export const SecretStoreErrorCode = {
  /** 404: the secret or version does not exist. */
  NotFound: 'NotFound',
  /** 403 with inner code `SecretDisabled`: a get of a disabled version (the latest included). */
  SecretDisabled: 'SecretDisabled',
  /** 401/403 otherwise: Rotor lacks Key Vault Secrets Officer on the vault. */
  Forbidden: 'Forbidden',
  /** 429: the vault's per-10-seconds budget is spent (usually without Retry-After). */
  Throttled: 'Throttled',
  /** 5xx, timeouts, connection resets. */
  Unavailable: 'Unavailable',
  /** 409: typically a name that is soft-deleted and not yet purged. */
  Conflict: 'Conflict',
  /** 400: the request itself is wrong (too many tags, value too large, bad name). */
  BadRequest: 'BadRequest',
  Unknown: 'Unknown',
} as const;
export type SecretStoreErrorCode = (typeof SecretStoreErrorCode)[keyof typeof SecretStoreErrorCode];

const transientCodes: ReadonlySet<SecretStoreErrorCode> = new Set([SecretStoreErrorCode.Throttled, SecretStoreErrorCode.Unavailable]);

/** A Key Vault call failed. The message names the operation and the secret, never a value. */
export class SecretStoreError extends Error {
  override readonly name = 'SecretStoreError';
  readonly code: SecretStoreErrorCode;
  readonly transient: boolean;
  readonly statusCode?: number;
  /**
   * `Throttled` only: the earliest time the call may be tried again (Key Vault's
   * Retry-After, the store's backoff, or the pacing budget's next slot). A step
   * is scheduled for then instead of waiting inside its handler.
   */
  readonly notBefore?: Date;

  constructor(code: SecretStoreErrorCode, message: string, options?: ErrorOptions & { statusCode?: number; notBefore?: Date }) {
    super(message, options);
    this.code = code;
    this.transient = transientCodes.has(code);
    if (options?.statusCode !== undefined) this.statusCode = options.statusCode;
    if (options?.notBefore !== undefined) this.notBefore = options.notBefore;
  }
}

/** A call refused for the vault's budget (429, or Rotor's own pacing), with when to come back. */
export function throttledError(message: string, notBefore: Date, options?: ErrorOptions & { statusCode?: number }): SecretStoreError {
  return new SecretStoreError(SecretStoreErrorCode.Throttled, message, { ...options, notBefore });
}

export function isSecretStoreError(error: unknown, code?: SecretStoreErrorCode): error is SecretStoreError {
  return error instanceof SecretStoreError && (code === undefined || error.code === code);
}
