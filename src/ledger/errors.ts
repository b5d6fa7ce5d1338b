/** Why a ledger call failed. `Conflict` is a lost race (ETag or create condition), never an overwrite. */
export const LedgerErrorCode = {
  /** The record changed since it was read, or a create found it already there. */
  Conflict: 'Conflict',
  /** Storage answered 5xx, timed out or throttled. */
  Unavailable: 'Unavailable',
  /** Rotor lacks Storage Blob Data Contributor on the container. */
  Forbidden: 'Forbidden',
  /** A stored record does not parse: written by something other than Rotor, or by an incompatible version. */
  Corrupt: 'Corrupt',
  Unknown: 'Unknown',
} as const;
export type LedgerErrorCode = (typeof LedgerErrorCode)[keyof typeof LedgerErrorCode];

export class LedgerError extends Error {
  override readonly name: string = 'LedgerError';
  readonly code: LedgerErrorCode;

  constructor(code: LedgerErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** A lost ETag race: re-read and decide again. */
export class LedgerConflictError extends LedgerError {
  override readonly name = 'LedgerConflictError';

  constructor(message: string, options?: ErrorOptions) {
    super(LedgerErrorCode.Conflict, message, options);
  }
}

export function isLedgerError(error: unknown): error is LedgerError {
  return error instanceof LedgerError;
}

export function isLedgerConflictError(error: unknown): error is LedgerConflictError {
  return error instanceof LedgerError && error.code === LedgerErrorCode.Conflict;
}
